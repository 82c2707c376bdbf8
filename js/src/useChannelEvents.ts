/** `useChannelEvents(channel, handler)`: what happened in a view, one call per server event. */
import { useEffect, useMemo, useRef } from "react";

import { useTetherStore } from "./provider.js";
import type { ChannelEvent } from "./store.js";
import type { DocBody, Filter } from "./types.js";

/** Options of {@link useChannelEvents}. */
export interface ChannelEventsOptions {
  /** The view's filter: `entered` / `left` are reported for documents moving in and out of it. */
  filter?: Filter;
  /** The view's ids (a by-id view): only these documents' events. */
  ids?: readonly string[];
}

/** `ids` kept by value (in any order), so a new array of the same ids is the same view. */
export function useStableIds(ids: readonly string[] | undefined): readonly string[] | undefined {
  const key = ids === undefined ? "" : JSON.stringify([...ids].sort());
  // eslint-disable-next-line react-hooks/exhaustive-deps -- keyed by value, not identity
  return useMemo(() => ids, [key]);
}

/** Calls the latest `handler` (none: nothing) for every server event of the view `(channel,
 * filter)` while mounted; the view itself is held by the caller. */
export function useEventHandler<T extends DocBody>(
  channel: string,
  filter: Filter | undefined,
  handler: ((event: ChannelEvent<T>) => void) | undefined,
  ids?: readonly string[],
): void {
  const store = useTetherStore();
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  const listens = handler !== undefined;
  useEffect(() => {
    if (!listens) return undefined;
    return store.onEvent(channel, filter, (event) => latest.current?.(event as ChannelEvent<T>), ids);
  }, [store, channel, filter, listens, ids]);
}

/**
 * Calls `handler` once for every confirmed server event of the view `(channel, filter, ids)`:
 * `created`, `updated`, `deleted`, and under a filter `entered` / `left` (PROTOCOL.md §4). The
 * hook holds the view while mounted (sharing it with a `useRealtimeUpdates` of the same channel
 * and filter). This client's own writes are reported once, when the server confirms them
 * (`own: true`), never for the optimistic change; a snapshot (`continuity: "reset"`) reports
 * no events, a `recovered` resume reports the missed ones. The latest `handler` is called, so
 * an inline function is fine:
 *
 * ```tsx
 * useChannelEvents("tasks", (e) => {
 *   if (e.kind === "created" && !e.own) toast(`New task: ${e.doc?.title}`);
 * });
 * ```
 */
export function useChannelEvents<T extends DocBody = DocBody>(
  channel: string,
  handler: (event: ChannelEvent<T>) => void,
  options: ChannelEventsOptions = {},
): void {
  const store = useTetherStore();
  const filterKey = options.filter === undefined ? "" : JSON.stringify(options.filter);
  // eslint-disable-next-line react-hooks/exhaustive-deps -- keyed by value, not identity
  const filter = useMemo(() => options.filter, [filterKey]);
  const ids = useStableIds(options.ids);
  useEffect(() => store.acquireView(channel, filter, ids), [store, channel, filter, ids]);
  useEventHandler(channel, filter, handler, ids);
}
