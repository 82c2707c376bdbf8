/** A recording client for unit tests of the hooks (the real client is tested in the browser). */
import type {
  ChangeBatch,
  Filter,
  Json,
  Mutation,
  MutationResult,
  Status,
  SubscriptionHandle,
  TetherClientLike,
  ViewOptions,
} from "../src/types.js";
import { DISCONNECTED_STATUS } from "../src/store.js";

export class FakeClient implements TetherClientLike {
  connects = 0;
  closes = 0;
  reconnects = 0;
  nextSub = 1;
  readonly subscriptions = new Map<
    number,
    { channel: string; filter?: Filter; ids?: readonly string[] }
  >();
  readonly unsubscribed: number[] = [];
  readonly mutations: { channel: string; mutation: Mutation }[] = [];
  readonly presence: { channel: string; state: Json | null }[] = [];
  readonly changeListeners = new Set<(batch: ChangeBatch) => void>();
  readonly statusListeners = new Set<(status: Status) => void>();
  current: Status = { ...DISCONNECTED_STATUS, state: "connecting", storage: "indexeddb" };

  connect(): void {
    this.connects += 1;
  }
  close(): void {
    this.closes += 1;
  }
  reconnect(): void {
    this.reconnects += 1;
  }
  subscribe(channel: string, options?: ViewOptions): SubscriptionHandle {
    const id = this.nextSub++;
    this.subscriptions.set(id, {
      channel,
      filter: options?.filter,
      ...(options?.ids ? { ids: options.ids } : {}),
    });
    return {
      id,
      unsubscribe: () => {
        if (this.subscriptions.delete(id)) this.unsubscribed.push(id);
      },
    };
  }
  mutate(channel: string, mutation: Mutation): Promise<MutationResult> {
    this.mutations.push({ channel, mutation });
    return Promise.resolve({ mutationId: this.mutations.length, version: 1 });
  }
  broadcast(): void {}
  request(method: string, body?: Json): Promise<Json> {
    return Promise.resolve({ method, body: body ?? null });
  }
  setPresence(channel: string, state: Json | null): void {
    this.presence.push({ channel, state });
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
    return this.current;
  }

  /** Delivers a batch as the engine would. */
  emit(batch: Partial<ChangeBatch>): void {
    const full: ChangeBatch = { views: [], conflicts: [], rejections: [], presence: [], ...batch };
    for (const listener of this.changeListeners) listener(full);
  }
  setStatus(patch: Partial<Status>): void {
    this.current = { ...this.current, ...patch };
    for (const listener of this.statusListeners) listener(this.current);
  }
  /** The subscription id of a channel (the only or latest one). */
  subOf(channel: string): number {
    const ids = [...this.subscriptions].filter(([, s]) => s.channel === channel).map(([id]) => id);
    const id = ids.at(-1);
    if (id === undefined) throw new Error(`no subscription to ${channel}`);
    return id;
  }
}

/** A scheduler the test flushes by hand: one call = one animation frame. */
export function manualScheduler(): { schedule: (cb: () => void) => void; frame: () => number } {
  let queue: (() => void)[] = [];
  return {
    schedule: (cb) => {
      queue.push(cb);
    },
    frame: () => {
      const run = queue;
      queue = [];
      for (const cb of run) cb();
      return run.length;
    },
  };
}
