/**
 * Loads the WASM engine (once per page) and adapts its `TetherClient` class to the structural
 * client type the hooks use. The module is imported dynamically, so server rendering and the
 * first paint never load it.
 */
import type {
  ChangeBatch,
  ClientOptions,
  Json,
  Mutation,
  MutationResult,
  Status,
  SubscriptionHandle,
  TetherClientLike,
  ViewOptions,
} from "./types.js";
import { withoutUndefined } from "./options.js";
import type { TetherClient as WasmClient } from "./wasm/tether.js";

type WasmModule = typeof import("./wasm/tether.js");
type FaultsModule = typeof import("./wasm/faults.js");

let ready: Promise<[WasmModule, FaultsModule]> | null = null;

function load(): Promise<[WasmModule, FaultsModule]> {
  ready ??= Promise.all([
    import("./wasm/tether.js").then(async (wasm) => {
      await wasm.default();
      return wasm;
    }),
    // The page's fault switches (all off unless the devtools turn one on), for the status.
    import("./wasm/faults.js"),
  ]);
  return ready;
}

/** The methods of the WASM client, by number (its one `call` export; src/shell/client.rs). */
const CONNECT = 0;
const CLOSE = 1;
const SET_TOKEN = 2;
const RECONNECT = 3;
const SUBSCRIBE = 4;
const UNSUBSCRIBE = 5;
const MUTATE = 6;
const BROADCAST = 7;
const REQUEST = 8;
const SET_PRESENCE = 9;
const SET_LISTENERS = 10;
const STATUS = 11;

class Client implements TetherClientLike {
  private readonly changeListeners = new Set<(batch: ChangeBatch) => void>();
  private readonly statusListeners = new Set<(status: Status) => void>();
  private closed = false;
  private last: Status | null = null;
  private readonly unwatch: () => void;

  constructor(
    private readonly raw: WasmClient,
    private readonly faults: FaultsModule,
  ) {
    raw.call(
      SET_LISTENERS,
      (batch: ChangeBatch) => {
        for (const listener of [...this.changeListeners]) listener(batch);
      },
      (status: Status) => this.publish(status),
    );
    // A fault switched on or off shows in the status at once.
    this.unwatch = faults.watchFaults(() => {
      if (this.last !== null && !this.closed) this.publish(this.last);
    });
  }

  private publish(status: Status): void {
    this.last = status;
    const shown = this.withFaults(status);
    for (const listener of [...this.statusListeners]) listener(shown);
  }

  private withFaults(status: Status): Status {
    const on = this.faults.activeFaults();
    return on.length === 0 ? status : { ...status, faults: on };
  }

  /** This client's id (its outbox partition). */
  get clientId(): string {
    return this.raw.clientId;
  }
  connect(): void {
    this.raw.call(CONNECT, undefined, undefined);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch();
    this.raw.call(CLOSE, undefined, undefined);
    this.changeListeners.clear();
    this.statusListeners.clear();
  }
  reconnect(): void {
    this.raw.call(RECONNECT, undefined, undefined);
  }
  setToken(token: string): void {
    this.raw.call(SET_TOKEN, token, undefined);
  }
  subscribe(channel: string, options?: ViewOptions): SubscriptionHandle {
    // A by-id view goes as `{ids, filter}` (no filter has an `ids` key), any other as its filter.
    const view = options?.ids ? { ids: options.ids, filter: options.filter } : options?.filter;
    const id = this.raw.call(SUBSCRIBE, channel, view) as number;
    let active = true;
    return {
      id,
      unsubscribe: () => {
        if (!active) return;
        active = false;
        this.raw.call(UNSUBSCRIBE, id, undefined);
      },
    };
  }
  mutate(channel: string, mutation: Mutation): Promise<MutationResult> {
    return this.raw.call(MUTATE, channel, mutation) as Promise<MutationResult>;
  }
  broadcast(channel: string, payload: Json): void {
    this.raw.call(BROADCAST, channel, payload);
  }
  request(method: string, body?: Json): Promise<Json> {
    return this.raw.call(REQUEST, method, body ?? null) as Promise<Json>;
  }
  setPresence(channel: string, state: Json | null): void {
    this.raw.call(SET_PRESENCE, channel, state);
  }
  onChange(listener: (batch: ChangeBatch) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }
  onStatus(listener: (status: Status) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }
  status(): Status {
    return this.withFaults(this.raw.call(STATUS, undefined, undefined) as Status);
  }
}

/** Creates a client backed by the WASM engine (call `connect()` to go online). */
export async function createClient(options: ClientOptions): Promise<TetherClientLike> {
  // The client's start (open IndexedDB, claim the tab's id, read what is cached) runs while
  // the module loads: the engine's start then finds it under way (src/shell/db/start.js).
  const name = options.dbName === undefined ? "tether" : options.dbName;
  const wantDb = options.storage !== "memory";
  const early =
    typeof name === "string"
      ? import("./wasm/boot.js").then((boot) => {
          boot.bootEarly(name, wantDb);
          return boot;
        }, () => null)
      : null;
  const [[wasm, faults], boot] = await Promise.all([load(), early]);
  try {
    return new Client(
      await wasm.TetherClient.create(withoutUndefined(options) as ClientOptions),
      faults,
    );
  } catch (error) {
    await boot?.bootCancel(name as string, wantDb);
    throw error;
  }
}
