import { useMemo, useState } from "react";
import { useRealtimeUpdates, usePresence } from "tether-sync";
import { ConflictResolver, OfflineBanner } from "tether-sync/ui";

import { Column } from "./Column";
import { byOrder, COLUMNS, type Presence, type Task } from "./model";
import { Notifications } from "./Notifications";
import { StatusBar } from "./StatusBar";
import { currentUser } from "./user";

export function App() {
  const [user] = useState(currentUser);
  const board = useRealtimeUpdates<Task>("tasks", { sort: byOrder });
  const { others, setPresence } = usePresence("tasks");
  const [title, setTitle] = useState("");

  const editors = useMemo(() => {
    const map = new Map<string, string[]>();
    for (const member of others) {
      const state = member.state as Presence | null;
      if (state?.editing) map.set(state.editing, [...(map.get(state.editing) ?? []), state.user]);
    }
    return map;
  }, [others]);

  const editing = (taskId: string | null) => setPresence({ user, editing: taskId });

  const add = (event: React.FormEvent) => {
    event.preventDefault();
    const text = title.trim();
    if (!text) return;
    const last = board.data.filter((t) => t.status === "todo").at(-1);
    void board.insert({ title: text, status: "todo", order: (last?.order ?? 0) + 1 });
    setTitle("");
  };

  return (
    <main>
      <header>
        <h1>Tether Kanban</h1>
        <StatusBar user={user} others={others.map((m) => (m.state as Presence | null)?.user ?? "?")} />
      </header>
      <OfflineBanner />
      <Notifications />
      <ConflictResolver conflicts={board.conflicts} resolve={board.resolveConflict} />
      <form className="add" onSubmit={add}>
        <input
          data-testid="new-task"
          placeholder="New task"
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          onFocus={() => editing(null)}
        />
        <button type="submit">Add</button>
      </form>
      {board.isLoading ? <p className="loading">Loading…</p> : null}
      <section className="board">
        {COLUMNS.map((column) => (
          <Column
            key={column.status}
            column={column}
            tasks={board.data.filter((t) => t.status === column.status)}
            pending={board.pending}
            versions={board.versions}
            editors={editors}
            onEdit={editing}
            update={board.update}
            remove={board.remove}
          />
        ))}
      </section>
    </main>
  );
}
