import type { Conflict } from "tether-sync";

type Props = {
  conflicts: readonly Conflict[];
  resolve: (conflict: Conflict, resolution: "mine" | "theirs") => Promise<unknown>;
};

const titleOf = (doc: { [key: string]: unknown } | null | undefined) =>
  typeof doc?.title === "string" ? doc.title : "(deleted)";

export function ConflictPrompt({ conflicts, resolve }: Props) {
  if (conflicts.length === 0) return null;
  return (
    <div className="conflicts" role="alert" data-testid="conflicts">
      {conflicts.map((c) => (
        <div className="conflict" key={c.key}>
          <p>
            Someone else changed this task while you were editing. Yours: <b>{titleOf(c.local)}</b> ·
            theirs: <b>{titleOf(c.server?.doc)}</b>
          </p>
          <button data-testid="keep-mine" onClick={() => void resolve(c, "mine")}>
            Keep mine
          </button>
          <button data-testid="take-theirs" onClick={() => void resolve(c, "theirs")}>
            Take theirs
          </button>
        </div>
      ))}
    </div>
  );
}
