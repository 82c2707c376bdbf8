/** A task on the board. */
export type Task = {
  title: string;
  status: Status;
  order: number;
  /** When the task reached Done: stamped by the demo's backend (backend/workflow.mjs). */
  done_at?: string | null;
};

/** The board's columns, in order. */
export const COLUMNS = [
  { status: "todo", title: "To do" },
  { status: "doing", title: "In progress" },
  { status: "done", title: "Done" },
] as const;

/** A column. */
export type Status = (typeof COLUMNS)[number]["status"];

/** What a tab shows others on the `tasks` channel. */
export type Presence = { user: string; editing: string | null };

/** Board order: by `order`, then title. */
export function byOrder(a: Task & { id: string }, b: Task & { id: string }): number {
  return a.order - b.order || a.title.localeCompare(b.title) || a.id.localeCompare(b.id);
}
