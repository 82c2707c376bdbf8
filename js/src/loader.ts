/**
 * Loads the WASM engine (once per page) and adapts its `TetherClient` class to the structural
 * client type the hooks use. The module is imported dynamically, so server rendering and the
 * first paint never load it.
 */
import type {
  ChangeBatch,
  ClientOptions,
  Filter,
  Json,
  Mutation,
  MutationResult,
  Status,
  SubscriptionHandle,
  TetherClientLike,
} from "./types.js";
import { withoutUndefined } from "./options.js";
import type { TetherClient as WasmClient } from "./wasm/tether.js";

type WasmModule = typeof import("./wasm/tether.js");

let ready: Promise<WasmModule> | null = null;

function load(): Promise<WasmModule> {
  ready ??= import("./wasm/tether.js").then(async (wasm) => {
    await wasm.default();
    return wasm;
  });
  return ready;
}

class Client implements TetherClientLike {
  private readonly changeListeners = new Set<(batch: ChangeBatch) => void>();
  private readonly statusListeners = new Set<(status: Status) => void>();
  private closed = false;

  constructor(private readonly raw: WasmClient) {
    raw.setListeners(
      (batch) => {
        for (const listener of [...this.changeListeners]) listener(batch);
      },
      (status) => {
        for (const listener of [...this.statusListeners]) listener(status);
      },
    );
  }

  /** This client's id (its outbox partition). */
  get clientId(): string {
    return this.raw.clientId;
  }
  connect(): void {
    this.raw.connect();
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.raw.close();
    this.changeListeners.clear();
    this.statusListeners.clear();
  }
  reconnect(): void {
    this.raw.reconnect();
  }
  setToken(token: string): void {
    this.raw.setToken(token);
  }
  subscribe(channel: string, options?: { filter?: Filter }): SubscriptionHandle {
    const id = this.raw.subscribe(channel, options?.filter);
    let active = true;
    return {
      id,
      unsubscribe: () => {
        if (!active) return;
        active = false;
        this.raw.unsubscribe(id);
      },
    };
  }
  mutate(channel: string, mutation: Mutation): Promise<MutationResult> {
    return this.raw.mutate(channel, mutation);
  }
  broadcast(channel: string, payload: Json): void {
    this.raw.broadcast(channel, payload);
  }
  request(method: string, body?: Json): Promise<Json> {
    return this.raw.request(method, body ?? null);
  }
  setPresence(channel: string, state: Json | null): void {
    this.raw.setPresence(channel, state);
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
    return this.raw.status();
  }
}

/** Creates a client backed by the WASM engine (call `connect()` to go online). */
export async function createClient(options: ClientOptions): Promise<TetherClientLike> {
  const wasm = await load();
  return new Client(await wasm.TetherClient.create(withoutUndefined(options) as ClientOptions));
}
