/**
 * `<TetherProvider>`: owns one client for its subtree. Safe under StrictMode's double mount
 * (the client is ref-counted, so one socket, not two) and under server rendering (no client is
 * created outside effects, so nothing touches `window`, `indexedDB` or `WebSocket`).
 */
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from "react";

import type { Scheduler } from "./scheduler.js";
import { withoutUndefined } from "./options.js";
import { TetherStore } from "./store.js";
import type { ClientOptions, TetherClientLike } from "./types.js";

export type { ClientOptions };

/** Props of {@link TetherProvider}. */
export interface TetherProviderProps extends ClientOptions {
  /** The app. */
  children?: ReactNode;
  /** Creates the client; the package's entry passes the WASM client's factory. */
  createClient?: (options: ClientOptions) => Promise<TetherClientLike>;
  /** Use this client instead of creating one (the provider connects it but never closes it). */
  client?: TetherClientLike;
  /** When hooks hear of changes (default: at the end of the current task, `microtaskScheduler`). */
  scheduler?: Scheduler;
}

const TetherContext = createContext<TetherStore | null>(null);

/** The store of the nearest provider. */
export function useTetherStore(): TetherStore {
  const store = useContext(TetherContext);
  if (!store) {
    throw new Error("Tether hooks must be used inside <TetherProvider>");
  }
  return store;
}

/** Keeps one client alive while at least one mounted provider instance retains it. */
class ClientHolder {
  readonly store: TetherStore;
  private refs = 0;
  private client: TetherClientLike | null = null;
  private owned = false;
  private starting = false;
  private closeTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(scheduler?: Scheduler) {
    this.store = new TetherStore(scheduler);
  }

  retain(props: TetherProviderProps): () => void {
    this.refs += 1;
    if (this.closeTimer !== null) {
      clearTimeout(this.closeTimer);
      this.closeTimer = null;
    }
    if (!this.client && !this.starting) this.start(props);
    return () => this.release();
  }

  private start(props: TetherProviderProps): void {
    if (props.client) {
      this.use(props.client, false);
      return;
    }
    if (!props.createClient) {
      throw new Error("TetherProvider needs `createClient` or `client`");
    }
    this.starting = true;
    const { children: _children, createClient, client: _client, scheduler: _scheduler, ...options } =
      props;
    Promise.resolve()
      .then(() => createClient(withoutUndefined(options) as ClientOptions))
      .then((client) => {
        this.starting = false;
        if (this.refs === 0) {
          client.close();
          return;
        }
        this.use(client, true);
      })
      .catch((error: unknown) => {
        this.starting = false;
        console.error("tether: could not start the client", error);
        this.store.reportStartFailure(error);
      });
  }

  private use(client: TetherClientLike, owned: boolean): void {
    this.client = client;
    this.owned = owned;
    this.store.attach(client);
    client.connect();
  }

  private release(): void {
    this.refs -= 1;
    if (this.refs > 0) return;
    // StrictMode unmounts and remounts at once: wait a tick before closing for real.
    this.closeTimer = setTimeout(() => {
      this.closeTimer = null;
      if (this.refs > 0) return;
      this.store.detach();
      if (this.client && this.owned) this.client.close();
      this.client = null;
    }, 0);
  }
}

/** Provides a Tether client to the hooks below it. */
export function TetherProvider(props: TetherProviderProps): ReactNode {
  const [holder] = useState(() => new ClientHolder(props.scheduler));
  const latest = useRef(props);
  latest.current = props;
  useEffect(() => holder.retain(latest.current), [holder]);
  return <TetherContext.Provider value={holder.store}>{props.children}</TetherContext.Provider>;
}
