/** `useRealtimeUpdates(channel)`: a live, optimistic view of a channel. */
import { useCallback, useEffect, useMemo, useSyncExternalStore } from "react";

import { useTetherStore } from "./provider.js";
import { useEventHandler, useStableIds } from "./useChannelEvents.js";
import type { ChannelEvent, Row, ViewSnapshot } from "./store.js";
import type { Conflict, Continuity, DocBody, Filter, MutationResult, Rejection } from "./types.js";

/** Options of {@link useRealtimeUpdates}. */
export interface RealtimeOptions<T extends DocBody> {
  /** Only documents matching this filter (evaluated by the engine and the server alike). */
  filter?: Filter;
  /** Only these documents (a by-id view: 1 to 256 distinct ids; with `filter`, those of them
   * that match it). Keyed by value, in any order. */
  ids?: readonly string[];
  /** Order of `data`; keep the function stable (define it outside the component). */
  sort?: (a: Row<T>, b: Row<T>) => number;
  /** Called once for every confirmed server event of this view (`created`, `updated`,
   * `deleted`, `entered`, `left`), as {@link useChannelEvents} does; the latest function is
   * called, so an inline one is fine. */
  onEvent?: (event: ChannelEvent<T>) => void;
}

/** Options of a single write. */
export interface WriteOptions {
  /** Skip the conflict check: the write applies whatever the server holds now (last writer
   * wins). By default a write is checked against the version this client shows, and a document
   * changed by someone else in the meantime is reported as a conflict instead. */
  lastWriterWins?: boolean;
}

/** A merge of a conflict: gets the document the edit was made against (`base`), this client's
 * intended document (`local`) and the server's (`server`; each null when absent or deleted),
 * and returns the document to keep, or null to delete it. */
export type Merge<T extends DocBody> = (sides: {
  base: T | null;
  local: T | null;
  server: T | null;
}) => T | null;

/** How to settle a conflict: keep this client's intent (an edit of a document deleted
 * meanwhile re-creates it with the edited body; a delete deletes), take the server's, write a
 * merged document, or merge with a function. */
export type Resolution<T extends DocBody> = "mine" | "theirs" | T | Merge<T>;

/** What {@link useRealtimeUpdates} returns. */
export interface RealtimeResult<T extends DocBody> {
  /** The documents; an unchanged document keeps its object identity between renders. */
  data: readonly Row<T>[];
  /** True until the view has data (from the local cache or the server). */
  isLoading: boolean;
  /** How the view was last loaded: `cached`, `recovered` or `reset`. */
  continuity: Continuity | null;
  /** Ids of documents with writes the server has not acknowledged yet. */
  pending: ReadonlySet<string>;
  /** The server version each document's confirmed state is at (0: not confirmed yet). */
  versions: ReadonlyMap<string, number>;
  /** Writes the server rejected because someone else changed the document first. */
  conflicts: readonly Conflict[];
  /** Writes the server refused for another reason (`FORBIDDEN`, `INVALID`, `NOT_FOUND`, …),
   * already rolled back; they stay listed until dismissed. */
  rejections: readonly Rejection[];
  /** Removes a rejection from `rejections` (after the app showed it). */
  dismissRejection(rejection: Rejection): void;
  /** Creates a document (an id is generated when `doc.id` is absent). It only creates: if a
   * document with that id exists already, the write is a conflict. */
  insert(doc: T & { id?: string }): Promise<MutationResult>;
  /** Changes top-level fields of a document (`null` removes a field); checked against the
   * shown version unless `{ lastWriterWins: true }`. */
  update(id: string, patch: Partial<T>, options?: WriteOptions): Promise<MutationResult>;
  /** Deletes a document; checked against the shown version unless `{ lastWriterWins: true }`. */
  remove(id: string, options?: WriteOptions): Promise<MutationResult>;
  /** Settles a conflict. */
  resolveConflict(conflict: Conflict, resolution: Resolution<T>): Promise<MutationResult | null>;
}

function newId(): string {
  const c = globalThis.crypto as Crypto | undefined;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Keeps callers from seeing an unhandled rejection for writes they do not await. */
function quiet<P extends Promise<unknown>>(promise: P): P {
  promise.catch(() => undefined);
  return promise;
}

/** A live, optimistic view of `channel`. */
export function useRealtimeUpdates<T extends DocBody = DocBody>(
  channel: string,
  options: RealtimeOptions<T> = {},
): RealtimeResult<T> {
  const store = useTetherStore();
  const filterKey = options.filter === undefined ? "" : JSON.stringify(options.filter);
  // eslint-disable-next-line react-hooks/exhaustive-deps -- keyed by value, not identity
  const filter = useMemo(() => options.filter, [filterKey]);
  const ids = useStableIds(options.ids);
  useEffect(() => store.acquireView(channel, filter, ids), [store, channel, filter, ids]);
  useEventHandler(channel, filter, options.onEvent, ids);

  const view = useSyncExternalStore(
    store.subscribe,
    () => store.getView(channel, filter, ids),
    () => store.getView(channel, filter, ids),
  ) as ViewSnapshot<T>;
  const conflicts = useSyncExternalStore(
    store.subscribe,
    () => store.getConflicts(channel),
    () => store.getConflicts(channel),
  );
  const rejections = useSyncExternalStore(
    store.subscribe,
    () => store.getRejections(channel),
    () => store.getRejections(channel),
  );
  const dismissRejection = useCallback(
    (rejection: Rejection) => store.dismissRejection(rejection),
    [store],
  );

  const { sort } = options;
  const data = useMemo(() => (sort ? [...view.rows].sort(sort) : view.rows), [view, sort]);

  const insert = useCallback(
    (doc: T & { id?: string }) => {
      const { id = newId(), ...body } = doc;
      return quiet(store.mutate(channel, { op: "put", id, doc: body as DocBody, baseVersion: 0 }));
    },
    [store, channel],
  );
  const update = useCallback(
    (id: string, patch: Partial<T>, options?: WriteOptions) =>
      quiet(
        store.mutate(channel, {
          op: "patch",
          id,
          doc: patch as DocBody,
          ...(options?.lastWriterWins ? { baseVersion: null } : {}),
        }),
      ),
    [store, channel],
  );
  const remove = useCallback(
    (id: string, options?: WriteOptions) =>
      quiet(
        store.mutate(channel, {
          op: "delete",
          id,
          ...(options?.lastWriterWins ? { baseVersion: null } : {}),
        }),
      ),
    [store, channel],
  );
  const resolveConflict = useCallback(
    async (conflict: Conflict, resolution: Resolution<T>): Promise<MutationResult | null> => {
      store.dismissConflict(conflict);
      if (resolution === "theirs") return null;
      const body: DocBody | null =
        resolution === "mine"
          ? conflict.local
          : typeof resolution === "function"
            ? (resolution as Merge<T>)({
                base: conflict.base as T | null,
                local: conflict.local as T | null,
                server: (conflict.server?.doc ?? null) as T | null,
              })
            : (resolution as DocBody);
      const baseVersion = conflict.server?.version ?? 0;
      if (body === null) {
        if (!conflict.server) return null;
        return quiet(store.mutate(conflict.channel, { op: "delete", id: conflict.id, baseVersion }));
      }
      const { id: _ignored, ...doc } = body as DocBody & { id?: unknown };
      return quiet(store.mutate(conflict.channel, { op: "put", id: conflict.id, doc, baseVersion }));
    },
    [store],
  );

  return {
    data,
    isLoading: view.continuity === null,
    continuity: view.continuity,
    pending: view.pending,
    versions: view.versions,
    conflicts,
    rejections,
    dismissRejection,
    insert,
    update,
    remove,
    resolveConflict,
  };
}
