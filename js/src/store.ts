/**
 * The framework-agnostic half of the React layer: it keeps what the client reported (views,
 * status, conflicts, presence) as immutable snapshots that `useSyncExternalStore` can read, and
 * notifies React once per client flush (see `scheduler.ts`).
 */
import { microtaskScheduler, type Scheduler } from "./scheduler.js";
import type {
  BroadcastMessage,
  ChangeBatch,
  ClientError,
  Conflict,
  Continuity,
  DocBody,
  EventKind,
  Filter,
  Json,
  Mutation,
  MutationResult,
  Notification,
  Rejection,
  Status,
  SubscriptionHandle,
  TetherClientLike,
  ViewChange,
} from "./types.js";

/** A document as a hook returns it: its body plus its `id`. */
export type Row<T extends DocBody = DocBody> = T & { readonly id: string };

/** An immutable snapshot of one view. Unchanged documents keep their object identity. */
export interface ViewSnapshot<T extends DocBody = DocBody> {
  /** Documents in the view, in the order the client first reported them. */
  readonly rows: readonly Row<T>[];
  /** Ids of documents with writes not yet acknowledged. */
  readonly pending: ReadonlySet<string>;
  /** How the view was last (re)loaded; null while nothing has arrived yet. */
  readonly continuity: Continuity | null;
  /** Server version of each document (0 for one not confirmed yet). */
  readonly versions: ReadonlyMap<string, number>;
}

/** A confirmed server event of a view, as `useChannelEvents` and `onEvent` report it. */
export interface ChannelEvent<T extends DocBody = DocBody> {
  /** What happened, as the view's filter sees it. */
  readonly kind: EventKind;
  /** Channel. */
  readonly channel: string;
  /** Document id. */
  readonly id: string;
  /** The document's version after the change. */
  readonly version: number;
  /** The change's offset in its channel. */
  readonly offset: number;
  /** The server's confirmation of this client's own write. */
  readonly own: boolean;
  /** The document as the view shows it after the batch the event came in; null for `deleted`
   * and `left`, or when it is no longer in the view. */
  readonly doc: Row<T> | null;
}

/** Everyone else present on a channel. */
export type PresenceSnapshot = readonly { clientId: string; state: Json }[];

/** The status a store reports before it has a client (and during server rendering). */
export const DISCONNECTED_STATUS: Status = Object.freeze({
  state: "idle",
  attempt: 0,
  nextRetryAt: null,
  latencyMs: null,
  endpoint: null,
  pendingCount: 0,
  storage: "memory",
  writesAtRisk: false,
  persisted: null,
  lastSyncedAt: null,
  lastError: null,
}) as Status;

const EMPTY_VIEW: ViewSnapshot = Object.freeze({
  rows: Object.freeze([]) as readonly Row[],
  pending: new Set<string>(),
  continuity: null,
  versions: new Map<string, number>(),
});
const EMPTY_CONFLICTS: readonly Conflict[] = Object.freeze([]);
const EMPTY_REJECTIONS: readonly Rejection[] = Object.freeze([]);
const EMPTY_PRESENCE: PresenceSnapshot = Object.freeze([]);

/** A filter that matches nothing: a subscription that only carries presence. */
export const PRESENCE_ONLY: Filter = { or: [] };

interface View {
  channel: string;
  filter: Filter | undefined;
  ids: readonly string[] | undefined;
  refs: number;
  handle: SubscriptionHandle | null;
  snapshot: ViewSnapshot;
  rowsById: Map<string, Row>;
}

/** Identifies a view: its channel, its filter and (a by-id view) its ids, in any order. */
export function viewKey(channel: string, filter?: Filter, ids?: readonly string[]): string {
  const base = filter === undefined ? channel : `${channel}\u0000${JSON.stringify(filter)}`;
  return ids === undefined ? base : `${base}\u0001${JSON.stringify([...ids].sort())}`;
}

/** Holds every snapshot the hooks read, for one client. */
export class TetherStore {
  private client: TetherClientLike | null = null;
  private readonly waiting: ((client: TetherClientLike) => void)[] = [];
  private readonly views = new Map<string, View>();
  private readonly viewsBySub = new Map<number, View>();
  private readonly listeners = new Set<() => void>();
  private readonly conflictsByChannel = new Map<string, readonly Conflict[]>();
  private readonly rejectionsByChannel = new Map<string, readonly Rejection[]>();
  private readonly broadcastHandlers = new Map<string, Set<(message: BroadcastMessage) => void>>();
  private readonly presenceByChannel = new Map<string, PresenceSnapshot>();
  private readonly notificationHandlers = new Set<(notification: Notification) => void>();
  private readonly eventHandlers = new Map<string, Set<(event: ChannelEvent) => void>>();
  private statusSnapshot: Status = DISCONNECTED_STATUS;
  private notifyScheduled = false;
  private detachClient: (() => void) | null = null;

  /** Creates a store; `schedule` decides when React hears of changes (default: at the end of
   * the current task). */
  constructor(private readonly schedule: Scheduler = microtaskScheduler) {}

  /** Connects the store to a client: subscribes every view hooks asked for so far. */
  attach(client: TetherClientLike): void {
    this.detach();
    this.client = client;
    const stopChange = client.onChange((batch) => this.apply(batch));
    const stopStatus = client.onStatus((status) => {
      this.statusSnapshot = status;
      this.scheduleNotify();
    });
    this.detachClient = () => {
      stopChange();
      stopStatus();
    };
    this.statusSnapshot = client.status();
    for (const view of this.views.values()) this.open(view);
    for (const resolve of this.waiting.splice(0)) resolve(client);
    this.scheduleNotify();
  }

  /** The client could not be created: status reports it (`state: "closed"`, `lastError` with
   * the error's `code`, or `START_FAILED` when it has none) instead of staying `idle`. */
  reportStartFailure(error: unknown): void {
    const code =
      typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string"
        ? (error as { code: string }).code
        : "START_FAILED";
    const message = error instanceof Error ? error.message : String(error);
    const lastError: ClientError = { code, message: `the client could not start: ${message}` };
    this.statusSnapshot = Object.freeze({ ...DISCONNECTED_STATUS, state: "closed", lastError });
    this.scheduleNotify();
  }

  /** Disconnects the store from its client (subscriptions end; snapshots stay). */
  detach(): void {
    this.detachClient?.();
    this.detachClient = null;
    for (const view of this.views.values()) {
      view.handle?.unsubscribe();
      view.handle = null;
    }
    this.viewsBySub.clear();
    this.client = null;
    this.statusSnapshot = DISCONNECTED_STATUS;
  }

  /** The client, once attached. */
  whenClient(): Promise<TetherClientLike> {
    if (this.client) return Promise.resolve(this.client);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** For `useSyncExternalStore`: registers a listener, returns its removal. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  /** Current status snapshot. */
  getStatus = (): Status => this.statusSnapshot;

  /** Starts (or shares) a view (`ids`: a by-id view); returns the function that releases it. */
  acquireView(channel: string, filter?: Filter, ids?: readonly string[]): () => void {
    const key = viewKey(channel, filter, ids);
    let view = this.views.get(key);
    if (!view) {
      view = { channel, filter, ids, refs: 0, handle: null, snapshot: EMPTY_VIEW, rowsById: new Map() };
      this.views.set(key, view);
      this.open(view);
    }
    view.refs += 1;
    let released = false;
    const held = view;
    return () => {
      if (released) return;
      released = true;
      held.refs -= 1;
      if (held.refs === 0) {
        held.handle?.unsubscribe();
        if (held.handle) this.viewsBySub.delete(held.handle.id);
        this.views.delete(key);
      }
    };
  }

  /** Snapshot of a view (an empty one when nothing is known). */
  getView(channel: string, filter?: Filter, ids?: readonly string[]): ViewSnapshot {
    return this.views.get(viewKey(channel, filter, ids))?.snapshot ?? EMPTY_VIEW;
  }

  /** Unresolved conflicts on a channel. */
  getConflicts(channel: string): readonly Conflict[] {
    return this.conflictsByChannel.get(channel) ?? EMPTY_CONFLICTS;
  }

  /** Writes on a channel the server refused for another reason than a conflict (already rolled
   * back), until dismissed. */
  getRejections(channel: string): readonly Rejection[] {
    return this.rejectionsByChannel.get(channel) ?? EMPTY_REJECTIONS;
  }

  /** Forgets a rejection (after the app showed it). */
  dismissRejection(rejection: Rejection): void {
    const list = this.rejectionsByChannel.get(rejection.channel);
    if (!list) return;
    const next = list.filter((r) => r !== rejection);
    if (next.length === list.length) return;
    this.rejectionsByChannel.set(rejection.channel, next);
    this.scheduleNotify();
  }

  /** Calls `handler` for every broadcast received on `channel` (synchronously, as the client
   * flushes, outside React rendering); returns the function that stops it. */
  onBroadcast(channel: string, handler: (message: BroadcastMessage) => void): () => void {
    let handlers = this.broadcastHandlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.broadcastHandlers.set(channel, handlers);
    }
    handlers.add(handler);
    return () => {
      const set = this.broadcastHandlers.get(channel);
      if (!set) return;
      set.delete(handler);
      if (set.size === 0) this.broadcastHandlers.delete(channel);
    };
  }

  /** Calls `handler` for every confirmed server event of the view `(channel, filter, ids)`
   * (synchronously, as the client flushes, after the view's snapshot is updated); returns the
   * function that stops it. The view must be held (`acquireView`) for events to arrive. */
  onEvent(
    channel: string,
    filter: Filter | undefined,
    handler: (event: ChannelEvent) => void,
    ids?: readonly string[],
  ): () => void {
    const key = viewKey(channel, filter, ids);
    let handlers = this.eventHandlers.get(key);
    if (!handlers) {
      handlers = new Set();
      this.eventHandlers.set(key, handlers);
    }
    handlers.add(handler);
    return () => {
      const set = this.eventHandlers.get(key);
      if (!set) return;
      set.delete(handler);
      if (set.size === 0) this.eventHandlers.delete(key);
    };
  }

  /** Calls `handler` for every notification to this user (synchronously, as the client
   * flushes); returns the function that stops it. */
  onNotification(handler: (notification: Notification) => void): () => void {
    this.notificationHandlers.add(handler);
    return () => {
      this.notificationHandlers.delete(handler);
    };
  }

  /** Everyone else present on a channel. */
  getPresence(channel: string): PresenceSnapshot {
    return this.presenceByChannel.get(channel) ?? EMPTY_PRESENCE;
  }

  /** Writes through the client (waiting for it if it is still starting). */
  async mutate(channel: string, mutation: Mutation): Promise<MutationResult> {
    const client = await this.whenClient();
    return client.mutate(channel, mutation);
  }

  /** Forgets a conflict (after the app resolved it). */
  dismissConflict(conflict: Conflict): void {
    const list = this.conflictsByChannel.get(conflict.channel);
    if (!list) return;
    const next = list.filter((c) => c.key !== conflict.key);
    if (next.length === list.length) return;
    this.conflictsByChannel.set(conflict.channel, next);
    this.scheduleNotify();
  }

  private open(view: View): void {
    if (!this.client || view.handle) return;
    const options =
      view.ids !== undefined
        ? { filter: view.filter, ids: view.ids }
        : view.filter === undefined
          ? undefined
          : { filter: view.filter };
    view.handle = this.client.subscribe(view.channel, options);
    this.viewsBySub.set(view.handle.id, view);
  }

  private apply(batch: ChangeBatch): void {
    const events: [Set<(event: ChannelEvent) => void>, ChannelEvent][] = [];
    for (const change of batch.views) {
      const view = this.viewsBySub.get(change.sub);
      if (!view) continue;
      view.snapshot = nextSnapshot(view, change);
      const handlers = change.events?.length
        ? this.eventHandlers.get(viewKey(view.channel, view.filter, view.ids))
        : undefined;
      if (!handlers) continue;
      for (const e of change.events ?? []) {
        const gone = e.kind === "deleted" || e.kind === "left";
        const doc = gone ? null : (view.rowsById.get(e.id) ?? null);
        events.push([handlers, Object.freeze({ ...e, channel: view.channel, doc })]);
      }
    }
    for (const conflict of batch.conflicts) {
      const list = this.conflictsByChannel.get(conflict.channel) ?? EMPTY_CONFLICTS;
      this.conflictsByChannel.set(conflict.channel, [...list, conflict]);
    }
    for (const rejection of batch.rejections) {
      const list = this.rejectionsByChannel.get(rejection.channel) ?? EMPTY_REJECTIONS;
      this.rejectionsByChannel.set(rejection.channel, Object.freeze([...list, rejection]));
    }
    for (const presence of batch.presence) {
      this.presenceByChannel.set(presence.channel, Object.freeze([...presence.members]));
    }
    this.scheduleNotify();
    for (const message of batch.broadcasts ?? []) {
      deliver(this.broadcastHandlers.get(message.channel), message, "broadcast");
    }
    for (const notification of batch.notifications ?? []) {
      deliver(this.notificationHandlers, notification, "notification");
    }
    for (const [handlers, event] of events) deliver(handlers, event, "event");
  }

  private scheduleNotify(): void {
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    this.schedule(() => {
      this.notifyScheduled = false;
      for (const listener of [...this.listeners]) listener();
    });
  }
}

/** Calls every handler with `value`; one that throws does not stop the others or the flush. */
function deliver<T>(handlers: Iterable<(value: T) => void> | undefined, value: T, what: string): void {
  for (const handler of [...(handlers ?? [])]) {
    try {
      handler(value);
    } catch (error) {
      console.error(`tether: a ${what} handler threw`, error);
    }
  }
}

function nextSnapshot(view: View, change: ViewChange): ViewSnapshot {
  if (
    change.upserts.length === 0 &&
    change.removes.length === 0 &&
    !change.continuity &&
    !change.replace
  ) {
    return view.snapshot;
  }
  const pending = new Set(view.snapshot.pending);
  const versions = new Map(view.snapshot.versions);
  if (change.replace) {
    const kept = new Set(change.upserts.map((row) => row.id));
    for (const id of [...view.rowsById.keys()]) {
      if (!kept.has(id)) {
        view.rowsById.delete(id);
        pending.delete(id);
        versions.delete(id);
      }
    }
  }
  for (const id of change.removes) {
    view.rowsById.delete(id);
    pending.delete(id);
    versions.delete(id);
  }
  for (const row of change.upserts) {
    const previous = view.rowsById.get(row.id);
    if (!previous || !sameBody(previous, row.doc)) {
      view.rowsById.set(row.id, Object.freeze({ ...row.doc, id: row.id }) as Row);
    }
    versions.set(row.id, row.version);
    if (row.pending) pending.add(row.id);
    else pending.delete(row.id);
  }
  return Object.freeze({
    rows: Object.freeze([...view.rowsById.values()]),
    pending,
    continuity: change.continuity ?? view.snapshot.continuity,
    versions,
  });
}

/** Whether a row (body plus `id`) holds exactly `doc`, so its object can be kept. */
function sameBody(row: Row, doc: DocBody): boolean {
  const keys = Object.keys(doc);
  // A row has every key of its body plus `id` (unless the body itself has an `id` field).
  const expected = Object.hasOwn(doc, "id") ? keys.length : keys.length + 1;
  if (Object.keys(row).length !== expected) return false;
  return keys.every((key) => key !== "id" && sameJson(row[key] as Json, doc[key] as Json));
}

function sameJson(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => sameJson(item, b[i] as Json));
  }
  const ao = a as { [key: string]: Json };
  const bo = b as { [key: string]: Json };
  const keys = Object.keys(ao);
  return (
    keys.length === Object.keys(bo).length &&
    keys.every((key) => Object.hasOwn(bo, key) && sameJson(ao[key] as Json, bo[key] as Json))
  );
}
