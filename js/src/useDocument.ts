/** `useDocument(channel, id)`: a live, optimistic view of one document (a by-id view). */
import { useCallback, useMemo } from "react";

import { useTetherStore } from "./provider.js";
import type { ChannelEvent, Row } from "./store.js";
import type { Conflict, Continuity, DocBody, MutationResult, Rejection } from "./types.js";
import { useRealtimeUpdates, type Resolution, type WriteOptions } from "./useRealtimeUpdates.js";

/** Options of {@link useDocument}. */
export interface DocumentOptions<T extends DocBody> {
  /** Called once for every confirmed server event of the document (`created`, `updated`,
   * `deleted`); the latest function is called. */
  onEvent?: (event: ChannelEvent<T>) => void;
}

/** What {@link useDocument} returns. */
export interface DocumentResult<T extends DocBody> {
  /** The document (body plus `id`), or `undefined` while it does not exist (never created,
   * deleted) or nothing has arrived yet (`isLoading`). */
  data: Row<T> | undefined;
  /** True until the view has data (from the local cache or the server). */
  isLoading: boolean;
  /** How the view was last loaded: `cached`, `recovered` or `reset`. */
  continuity: Continuity | null;
  /** The document has writes the server has not acknowledged yet. */
  pending: boolean;
  /** The server version its confirmed state is at (0: not confirmed yet; undefined: absent). */
  version: number | undefined;
  /** Writes of this document the server rejected because someone else changed it first. */
  conflicts: readonly Conflict[];
  /** Writes of this document the server refused for another reason (already rolled back). */
  rejections: readonly Rejection[];
  /** Removes a rejection from `rejections`. */
  dismissRejection(rejection: Rejection): void;
  /** Writes the whole document (creates it when absent); checked against the shown version
   * unless `{ lastWriterWins: true }`. */
  put(doc: T, options?: WriteOptions): Promise<MutationResult>;
  /** Changes top-level fields (`null` removes a field), as `useRealtimeUpdates().update`. */
  update(patch: Partial<T>, options?: WriteOptions): Promise<MutationResult>;
  /** Deletes the document, as `useRealtimeUpdates().remove`. */
  remove(options?: WriteOptions): Promise<MutationResult>;
  /** Settles a conflict, as `useRealtimeUpdates().resolveConflict`. */
  resolveConflict(conflict: Conflict, resolution: Resolution<T>): Promise<MutationResult | null>;
}

/**
 * One document of `channel`, live and optimistic: a by-id view (`ids: [id]`), so the client
 * receives that document's changes only, with the same continuity as any view (resumed with
 * `recovered` after a short disconnect, replaced on `reset`).
 *
 * ```tsx
 * const { data: task, update } = useDocument<Task>("tasks", taskId);
 * ```
 */
export function useDocument<T extends DocBody = DocBody>(
  channel: string,
  id: string,
  options: DocumentOptions<T> = {},
): DocumentResult<T> {
  const view = useRealtimeUpdates<T>(channel, { ids: [id], onEvent: options.onEvent });
  const data = view.data.find((row) => row.id === id);
  const { conflicts: allConflicts, rejections: allRejections } = view;
  const conflicts = useMemo(() => allConflicts.filter((c) => c.id === id), [allConflicts, id]);
  const rejections = useMemo(() => allRejections.filter((r) => r.id === id), [allRejections, id]);
  const { update: updateAny, remove: removeAny } = view;
  const store = useTetherStore();
  const put = useCallback(
    (doc: T, options?: WriteOptions) => {
      const { id: _ignored, ...body } = doc as T & { id?: unknown };
      const promise = store.mutate(channel, {
        op: "put",
        id,
        doc: body as DocBody,
        ...(options?.lastWriterWins ? { baseVersion: null } : {}),
      });
      promise.catch(() => undefined);
      return promise;
    },
    [store, channel, id],
  );
  const update = useCallback(
    (patch: Partial<T>, options?: WriteOptions) => updateAny(id, patch, options),
    [updateAny, id],
  );
  const remove = useCallback((options?: WriteOptions) => removeAny(id, options), [removeAny, id]);
  return {
    data,
    isLoading: view.isLoading,
    continuity: view.continuity,
    pending: view.pending.has(id),
    version: data === undefined ? undefined : view.versions.get(id),
    conflicts,
    rejections,
    dismissRejection: view.dismissRejection,
    put,
    update,
    remove,
    resolveConflict: view.resolveConflict,
  };
}
