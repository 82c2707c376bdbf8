/**
 * The shape of a Tether client as the React layer sees it. The WASM `TetherClient` of the
 * `tether-sync` package implements it; the hooks only depend on this structural type, so they
 * never import the engine at runtime and a test can hand them any object of this shape.
 */

/** A JSON value as documents, payloads and presence states carry it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A document body: always a JSON object. */
export type DocBody = { [key: string]: Json };

/** A filter over top-level document fields (PROTOCOL.md §6). */
export type Filter =
  | { field: string; op: "eq" | "ne" | "lt" | "lte" | "gt" | "gte"; value: Json }
  | { field: string; op: "in"; value: Json[] }
  | { and: Filter[] }
  | { or: Filter[] }
  | { not: Filter };

/** Which documents of a channel a view holds: those matching `filter` (all, without one) and,
 * with `ids`, only those ids (a by-id view: 1 to 256 distinct document ids, PROTOCOL.md §3). */
export interface ViewOptions {
  /** Only documents matching this filter. */
  filter?: Filter;
  /** Only these documents (a by-id view). */
  ids?: readonly string[];
}

/** How a view's contents relate to the server: from the local cache, resumed, or replaced. */
export type Continuity = "cached" | "recovered" | "reset";

/** Connection state of the client. */
export type ConnectionState =
  | "idle"
  | "connecting"
  | "handshaking"
  | "ready"
  | "backoff"
  | "offline"
  | "awaiting-token"
  | "closed";

/** Where the client keeps its outbox and cache. */
export type StorageKind = "indexeddb" | "memory";

/** The error codes a client reports (errors thrown or rejected carry one as `code`). */
export type ErrorCode =
  | "CONFLICT"
  | "REJECTED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "INVALID"
  | "STORAGE"
  | "TIMEOUT"
  | "QUEUE_FULL"
  | "CLOSED"
  | "AUTH_REQUIRED"
  | "AUTH_INVALID"
  | "INVALID_FILTER"
  | "INVALID_IDS"
  | "RATE_LIMITED"
  | "TOO_LARGE"
  | "BAD_MESSAGE"
  | "UNSUPPORTED_VERSION"
  | "NOT_SUBSCRIBED"
  | "TOO_MANY_SUBSCRIPTIONS"
  | "INTERNAL"
  | "INVALID_ARGUMENT"
  | "CONNECTION_LOST"
  | "CONNECTION_CLOSED"
  | "HANDSHAKE_TIMEOUT"
  | "DEAD_LINK"
  | "GAVE_UP"
  | "TOKEN_UNAVAILABLE"
  | "HANDSHAKE_REQUIRED"
  | "SERVER"
  | "REQUEST_FAILED"
  | "UNKNOWN"
  | "CLIENT_ID_TAKEN"
  | "SUBSCRIBE_TIMEOUT"
  | "ACK_TIMEOUT"
  | "START_FAILED"
  | (string & {});

/** The last error the client met. */
export interface ClientError {
  /** Stable code. */
  code: ErrorCode;
  /** Human-readable explanation. */
  message: string;
}

/** Everything the client reports about its connection and outbox. */
export interface Status {
  /** Connection state. */
  state: ConnectionState;
  /** Reconnect attempts since the link was last up (0 when connected). */
  attempt: number;
  /** When the next reconnect happens (ms since the epoch), or null. */
  nextRetryAt: number | null;
  /** Last measured round trip in milliseconds, or null before the first pong. */
  latencyMs: number | null;
  /** The URL (one of `url`) the client is connected to, connecting to, or tries next; null
   * before the client exists (and, with a `url` function, before its first answer). */
  endpoint: string | null;
  /** Mutations queued and not yet acknowledged or rejected. */
  pendingCount: number;
  /** Where the outbox lives. */
  storage: StorageKind;
  /** True when queued writes would not survive a reload (memory storage or a failed write). */
  writesAtRisk: boolean;
  /** Whether the browser agreed to keep this origin's storage under storage pressure
   * (`navigator.storage.persist()`, asked once at start); null until it answers or where it is
   * not supported. Without it the browser may evict IndexedDB, queued writes included. */
  persisted: boolean | null;
  /** When the outbox was last empty while connected (ms since the epoch), or null. */
  lastSyncedAt: number | null;
  /** Last error, or null. */
  lastError: ClientError | null;
  /** The devtools' fault switches that are on in this page (`tether-sync/devtools`), by name:
   * `offline`, `latency`, `drop`, `duplicate`, `reorder`, `failWrite`; absent when none is. */
  faults?: string[];
  /** Pipeline counters since the client started (for devtools and benchmarks; a change of
   * counters alone does not publish a status). Absent before the client exists. */
  counters?: StatusCounters;
}

/** Counters of the client's incoming pipeline. */
export interface StatusCounters {
  /** WebSocket messages received. */
  framesReceived: number;
  /** Events received. */
  eventsReceived: number;
  /** Events dropped as duplicates (offset already applied). */
  eventsDeduped: number;
  /** Events folded into a later one before a flush. */
  coalesced: number;
  /** Change batches delivered. */
  flushes: number;
  /** Gaps detected (each followed by a resubscribe). */
  gaps: number;
}

/** A document in a view. */
export interface DocRow {
  /** Document id. */
  id: string;
  /** Server version the row is based on (0 for a document not yet confirmed). */
  version: number;
  /** Visible body: confirmed state with this client's pending writes applied. */
  doc: DocBody;
  /** Whether this client has unacknowledged writes on the document. */
  pending: boolean;
}

/** What happened to a document, as a view sees it (PROTOCOL.md §4 `event`, field `kind`):
 * `entered` / `left` when a change moved an existing document into or out of a filtered view. */
export type EventKind = "created" | "updated" | "deleted" | "entered" | "left";

/** One confirmed server event of a view, as `ViewChange.events` lists it. */
export interface ViewEventRow {
  /** What happened. */
  kind: EventKind;
  /** Document id. */
  id: string;
  /** The document's version after the change. */
  version: number;
  /** The change's offset in its channel. */
  offset: number;
  /** The change was this client's own write (the server's confirmation of it). */
  own: boolean;
}

/** What changed in one view since the last batch. */
export interface ViewChange {
  /** The subscription the view belongs to. */
  sub: number;
  /** Channel name. */
  channel: string;
  /** The view's whole content follows: documents not in `upserts` left it. */
  replace?: boolean;
  /** Documents that entered or changed, with their whole visible body. */
  upserts: DocRow[];
  /** Ids of documents that left the view. */
  removes: string[];
  /** Set when the view was (re)loaded: from cache, resumed by replay, or reset by snapshot. */
  continuity?: Continuity;
  /** The server events of the view since the last batch, in offset order (absent: none). */
  events?: ViewEventRow[];
}

/** A mutation the server rejected because the document changed underneath it. */
export interface Conflict {
  /** Unique id of the conflict (`clientId:mutationId`). */
  key: string;
  /** Channel of the document. */
  channel: string;
  /** Document id. */
  id: string;
  /** The rejected mutation's id. */
  mutationId: number;
  /** What this client did: edited the document, created it, or deleted it. */
  op: "edit" | "create" | "delete";
  /** What this client wanted the document to be (null: it deleted it). An edit of a document
   * someone else deleted meanwhile is the whole edited body, so keeping it re-creates it. */
  local: DocBody | null;
  /** The document as this client showed it when it made the write (null: absent), for a
   * three-way merge with `local` and `server`. */
  base: DocBody | null;
  /** The server's current document (null: it no longer exists). */
  server: { version: number; doc: DocBody } | null;
}

/** A mutation the server refused for another reason than a conflict. */
export interface Rejection {
  /** Channel of the document. */
  channel: string;
  /** Document id. */
  id: string;
  /** The rejected mutation's id. */
  mutationId: number;
  /** Why. */
  code: ErrorCode;
  /** Human-readable explanation. */
  message: string;
}

/** The members present on a channel (other than this client). */
export interface PresenceChange {
  /** Channel name. */
  channel: string;
  /** Everyone else present, with their states. */
  members: { clientId: string; state: Json }[];
}

/** An ephemeral message from another subscriber. */
export interface BroadcastMessage {
  /** Channel. */
  channel: string;
  /** Sender's client id. */
  from: string;
  /** Payload as sent. */
  payload: Json;
}

/** A notification the app's backend sent to this user (every connection of the token's `sub`;
 * API.md §6). */
export interface Notification {
  /** Sender: `api:<key name>`. */
  from: string;
  /** Payload as sent. */
  payload: Json;
}

/** One flush of the client: everything that changed since the previous one. */
export interface ChangeBatch {
  /** Per-view changes. */
  views: ViewChange[];
  /** New conflicts (rolled back already). */
  conflicts: Conflict[];
  /** New rejections (rolled back already). */
  rejections: Rejection[];
  /** Channels whose presence changed. */
  presence: PresenceChange[];
  /** Ephemeral messages received. */
  broadcasts?: BroadcastMessage[];
  /** Notifications to this user received. */
  notifications?: Notification[];
}

/** How a client is created. */
export interface ClientOptions {
  /** WebSocket URL of the Tether server, e.g. `wss://example.com/ws`; or a non-empty list of
   * them (several nodes of one cluster): the client stays on the one that works and moves to
   * the next, round-robin, after a failed attempt or a dropped connection (with the usual
   * backoff: every failed attempt counts). Or a function called before each connection attempt
   * with the number of failed attempts so far, returning the URL to use (an attempt whose
   * function throws or returns no string fails like a socket that could not open). Anything
   * else is an `INVALID_ARGUMENT` error. */
  url: string | readonly string[] | ((failedAttempts: number) => string);
  /** A fixed auth token. */
  token?: string;
  /** Called before every (re)connect for a fresh token, and before the open connection's
   * token expires (the fresh token is handed over without a reconnect); wins over `token`. */
  getToken?: () => Promise<string>;
  /** Where the outbox and cache live (default: IndexedDB, falling back to memory). */
  storage?: StorageKind;
  /** IndexedDB database name (default `tether`). */
  dbName?: string;
  /** When IndexedDB fails to open at start, writes wait this long for it (unsent) before they
   * go ahead from memory (default 2 000 ms); the client keeps trying to open it meanwhile. */
  storageWaitMs?: number;
  /** Reconnect backoff (full jitter): first ceiling, largest ceiling, growth, give-up count. */
  backoff?: {
    initialMs?: number;
    maxMs?: number;
    factor?: number;
    maxAttempts?: number;
    resetAfterMs?: number;
  };
  /** Heartbeat (default: ping at a third of the server's timeout; dead after two intervals). */
  heartbeat?: { pingIntervalMs?: number; deadLinkTimeoutMs?: number };
  /** Change batches are delivered at most once per this interval (default 16 ms); after a quiet interval the first one is delivered at once. */
  flush?: { intervalMs?: number; burstHoldMs?: number };
  /** Requests fail with `TIMEOUT` after this (default 10 000 ms). */
  requestTimeoutMs?: number;
  /** The socket must open and the handshake finish within this (default 10 000 ms). */
  handshakeTimeoutMs?: number;
}

/** A write. `baseVersion` defaults to the version the client currently shows (conflict check);
 * `null` makes the write unconditional. */
export type Mutation =
  | { op: "put"; id: string; doc: DocBody; baseVersion?: number | null }
  | { op: "patch"; id: string; doc: DocBody; baseVersion?: number | null }
  | { op: "delete"; id: string; baseVersion?: number | null };

/** The server's answer to a mutation. */
export interface MutationResult {
  /** The mutation's id. */
  mutationId: number;
  /** The document's version after it. */
  version: number;
}

/** A live subscription. */
export interface SubscriptionHandle {
  /** Subscription id, as `ViewChange.sub` names it. */
  readonly id: number;
  /** Ends the subscription. Idempotent. */
  unsubscribe(): void;
}

/** The client, as the hooks use it. */
export interface TetherClientLike {
  /** Opens the connection (and keeps reconnecting). */
  connect(): void;
  /** Closes the connection and releases timers and listeners. */
  close(): void;
  /** Reconnects now, skipping any backoff wait. */
  reconnect(): void;
  /** Replaces the auth token (at once when the client waits for one after the server refused
   * a fixed token: `state: "awaiting-token"`, `lastError.code` `AUTH_INVALID`; on an open
   * connection it is handed over without a reconnect). */
  setToken?(token: string): void;
  /** Subscribes to a view of a channel. Changes arrive through `onChange`. */
  subscribe(channel: string, options?: ViewOptions): SubscriptionHandle;
  /** Applies a write optimistically and queues it durably; settles on ack or reject. */
  mutate(channel: string, mutation: Mutation): Promise<MutationResult>;
  /** Sends an ephemeral message to the channel's other subscribers. */
  broadcast(channel: string, payload: Json): void;
  /** Calls a server method (fails with `TIMEOUT` after the client's `requestTimeoutMs`). */
  request(method: string, body?: Json): Promise<Json>;
  /** Sets (or with null clears) this client's presence on a channel. */
  setPresence(channel: string, state: Json | null): void;
  /** Receives every flush; returns the function that stops it. */
  onChange(listener: (batch: ChangeBatch) => void): () => void;
  /** Receives status changes; returns the function that stops it. */
  onStatus(listener: (status: Status) => void): () => void;
  /** Current status. */
  status(): Status;
}
