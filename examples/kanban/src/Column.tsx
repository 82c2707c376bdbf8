import type { Row } from "tether-sync";

import { COLUMNS, type Status, type Task } from "./model";
import { TaskCard } from "./TaskCard";

type Props = {
  column: { status: Status; title: string };
  tasks: Row<Task>[];
  pending: ReadonlySet<string>;
  versions: ReadonlyMap<string, number>;
  editors: Map<string, string[]>;
  onEdit: (taskId: string | null) => void;
  update: (id: string, patch: Partial<Task>) => Promise<unknown>;
  remove: (id: string) => Promise<unknown>;
};

export function Column({ column, tasks, pending, versions, editors, onEdit, update, remove }: Props) {
  const index = COLUMNS.findIndex((c) => c.status === column.status);
  const move = (task: Row<Task>, step: number) => {
    const target = COLUMNS[index + step];
    if (target) void update(task.id, { status: target.status });
  };
  return (
    <div className="column" data-testid={`column-${column.status}`}>
      <h2>
        {column.title} <span className="count">{tasks.length}</span>
      </h2>
      {tasks.map((task) => (
        <TaskCard
          key={task.id}
          task={task}
          version={versions.get(task.id) ?? 0}
          pending={pending.has(task.id)}
          editors={editors.get(task.id)}
          canLeft={index > 0}
          canRight={index < COLUMNS.length - 1}
          onMove={move}
          onEdit={onEdit}
          update={update}
          remove={remove}
        />
      ))}
    </div>
  );
}
