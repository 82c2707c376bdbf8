/**
 * `tether-sync`: realtime + offline sync for React. Wrap the app in `<TetherProvider url=…>`
 * and call `useRealtimeUpdates("tasks")`. The WASM engine loads itself on first use.
 */
import { createElement, type ReactNode } from "react";

import { createClient } from "./loader.js";
import { TetherProvider as BaseProvider, type TetherProviderProps } from "./provider.js";

export * from "./hooks.js";
export { createClient };

/** Provides a Tether client (the WASM engine, started on mount) to the hooks below it. */
export function TetherProvider(props: TetherProviderProps): ReactNode {
  return createElement(BaseProvider, { createClient, ...props });
}
