import { memo, useState } from "react";
import type { Row } from "tether-sync";

import type { Task } from "./model";

type Props = {
  task: Row<Task>;
  version: number;
  pending: boolean;
  editors: string[] | undefined;
  canLeft: boolean;
  canRight: boolean;
  onMove: (task: Row<Task>, step: number) => void;
  onEdit: (taskId: string | null) => void;
  update: (id: string, patch: Partial<Task>) => Promise<unknown>;
  remove: (id: string) => Promise<unknown>;
};

function Card({ task, version, pending, editors, canLeft, canRight, onMove, onEdit, update, remove }: Props) {
  const [draft, setDraft] = useState<string | null>(null);
  const save = () => {
    if (draft !== null && draft.trim() && draft !== task.title) void update(task.id, { title: draft.trim() });
    setDraft(null);
    onEdit(null);
  };
  return (
    <article className={pending ? "card pending" : "card"} data-testid={`task-${task.id}`} data-title={task.title} data-version={version}>
      {draft === null ? (
        <h3
          title="Click to edit"
          onClick={() => {
            setDraft(task.title);
            onEdit(task.id);
          }}
        >
          {task.title}
        </h3>
      ) : (
        <input
          autoFocus
          data-testid="edit-title"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onBlur={save}
          onKeyDown={(e) => {
            if (e.key === "Enter") save();
            if (e.key === "Escape") {
              setDraft(null);
              onEdit(null);
            }
          }}
        />
      )}
      {task.done_at ? (
        <p className="done-at" data-testid="done-at" title={task.done_at}>
          done {new Date(task.done_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}
        </p>
      ) : null}
      {editors?.length ? <p className="editing">{editors.join(", ")} is editing '{task.title}'</p> : null}
      <footer>
        <button aria-label="Move left" disabled={!canLeft} onClick={() => onMove(task, -1)}>
          ←
        </button>
        <button aria-label="Move right" disabled={!canRight} onClick={() => onMove(task, 1)}>
          →
        </button>
        {pending ? <span className="badge" title="Not yet confirmed by the server">syncing</span> : null}
        <button aria-label="Delete" className="delete" onClick={() => void remove(task.id)}>
          ✕
        </button>
      </footer>
    </article>
  );
}

export const TaskCard = memo(Card);
