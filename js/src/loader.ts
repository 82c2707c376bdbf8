/**
 * Loads the WASM engine (once per page) and adapts its `TetherClient` class to the structural
 * client type the hooks use. The module is imported dynamically, so server rendering and the
 * first paint never load it.
 */
import type { ClientOptions } from "./provider.js";
import type {
  ChangeBatch,
  Filter,
  Json,
  Mutation,
  MutationResult,
  Status,
  SubscriptionHandle,
  TetherClientLike,
} from "./types.js";

/** The class the WASM module exports (see `src/` of the Rust crate). */
interface WasmClient {
  connect(): void;
  close(): void;
  reconnect(): void;
  subscribe(channel: string, filter: Filter | undefined): number;
  unsubscribe(sub: number): void;
  mutate(channel: string, mutation: Mutation): Promise<MutationResult>;
  broadcast(channel: string, payload: Json): void;
  request(method: string, body: Json, timeoutMs: number | undefined): Promise<Json>;
  setPresence(channel: string, state: Json | null): void;
  setListeners(onChange: (batch: ChangeBatch) => void, onStatus: (status: Status) => void): void;
  status(): Status;
  free(): void;
}

interface WasmModule {
  default: () => Promise<unknown>;
  TetherClient: new (options: ClientOptions) => WasmClient;
}

let ready: Promise<WasmModule> | null = null;

function load(): Promise<WasmModule> {
  ready ??= import("./wasm/tether.js").then(async (mod) => {
    const wasm = mod as unknown as WasmModule;
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
  request(method: string, body?: Json, options?: { timeoutMs?: number }): Promise<Json> {
    return this.raw.request(method, body ?? null, options?.timeoutMs);
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

/** Creates a connected-on-demand client backed by the WASM engine. */
export async function createClient(options: ClientOptions): Promise<TetherClientLike> {
  const wasm = await load();
  return new Client(new wasm.TetherClient(options));
}
