/** `<ConflictResolver>`: lists a view's conflicts with "keep mine", "take theirs" and merge. */
import { useState, type ReactNode } from "react";

import type { Merge, Resolution } from "../useRealtimeUpdates.js";
import type { Conflict, DocBody, MutationResult } from "../types.js";

/** Props of {@link ConflictResolver}. */
export interface ConflictResolverProps<T extends DocBody> {
  /** The conflicts to list: `useRealtimeUpdates(…).conflicts`. */
  conflicts: readonly Conflict[];
  /** Settles one: `useRealtimeUpdates(…).resolveConflict`. */
  resolve: (conflict: Conflict, resolution: Resolution<T>) => Promise<MutationResult | null>;
  /** A three-way merge (base, local, server); when given, a "Merge" button offers it. */
  merge?: Merge<T>;
  /** How a document is named in the list (default: its `title` or `name` field, else its id). */
  describe?: (doc: T | null, conflict: Conflict) => ReactNode;
  /** Class of the outer element (default `tether-conflicts`). */
  className?: string;
  /** Button texts. */
  text?: { mine?: ReactNode; theirs?: ReactNode; merge?: ReactNode; heading?: ReactNode };
}

function defaultDescribe(doc: DocBody | null, conflict: Conflict): ReactNode {
  if (doc === null) return "(deleted)";
  const name = doc.title ?? doc.name;
  return typeof name === "string" ? name : conflict.id;
}

/**
 * A list of conflicts (nothing when there are none), each with what this client wanted and what
 * the server has, and buttons to keep mine, take theirs or merge. An alert region, so a screen
 * reader announces a new conflict. A conflict disappears once its resolution is written; while
 * that write is in flight its buttons are disabled.
 */
export function ConflictResolver<T extends DocBody>({
  conflicts,
  resolve,
  merge,
  describe = defaultDescribe as (doc: T | null, conflict: Conflict) => ReactNode,
  className = "tether-conflicts",
  text = {},
}: ConflictResolverProps<T>): ReactNode {
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());
  if (conflicts.length === 0) return null;
  const settle = (conflict: Conflict, resolution: Resolution<T>) => {
    setBusy((b) => new Set(b).add(conflict.key));
    void resolve(conflict, resolution)
      .catch(() => undefined)
      .finally(() =>
        setBusy((b) => {
          const next = new Set(b);
          next.delete(conflict.key);
          return next;
        }),
      );
  };
  return (
    <div className={className} role="alert" data-testid="conflicts">
      <p className="tether-conflicts-heading">
        {text.heading ?? "Someone else changed what you edited. Choose what to keep:"}
      </p>
      <ul>
        {conflicts.map((c) => {
          const disabled = busy.has(c.key);
          const what =
            c.op === "delete" ? "You deleted it" : c.op === "create" ? "You created it" : "You edited it";
          return (
            <li key={c.key} className="tether-conflict" data-op={c.op} data-testid="conflict">
              <span className="tether-conflict-local">
                {what}: <b>{describe(c.local as T | null, c)}</b>
              </span>{" "}
              <span className="tether-conflict-server">
                Theirs: <b>{describe((c.server?.doc ?? null) as T | null, c)}</b>
              </span>{" "}
              <button type="button" data-testid="keep-mine" disabled={disabled} onClick={() => settle(c, "mine")}>
                {text.mine ?? "Keep mine"}
              </button>
              <button type="button" data-testid="take-theirs" disabled={disabled} onClick={() => settle(c, "theirs")}>
                {text.theirs ?? "Take theirs"}
              </button>
              {merge ? (
                <button type="button" data-testid="merge" disabled={disabled} onClick={() => settle(c, merge)}>
                  {text.merge ?? "Merge"}
                </button>
              ) : null}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
