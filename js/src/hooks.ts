/**
 * The React layer of Tether, without the WASM client: the provider, the hooks and their types.
 * The package entry (`index.ts`) adds the WASM client's factory.
 */
export { TetherProvider, useTetherStore } from "./provider.js";
export type { ClientOptions, TetherProviderProps } from "./provider.js";
export { useRealtimeUpdates } from "./useRealtimeUpdates.js";
export type { Merge, RealtimeOptions, RealtimeResult, Resolution, WriteOptions } from "./useRealtimeUpdates.js";
export { useDocument } from "./useDocument.js";
export type { DocumentOptions, DocumentResult } from "./useDocument.js";
export { useBroadcast } from "./useBroadcast.js";
export { useChannelEvents } from "./useChannelEvents.js";
export { useNotifications } from "./useNotifications.js";
export type { ChannelEventsOptions } from "./useChannelEvents.js";
export { useWebSocket, useBackgroundSync } from "./useWebSocket.js";
export type { WebSocketResult, BackgroundSyncResult } from "./useWebSocket.js";
export { usePresence } from "./usePresence.js";
export type { PresenceResult } from "./usePresence.js";
export { TetherStore, DISCONNECTED_STATUS } from "./store.js";
export type { ChannelEvent, Row, ViewSnapshot, PresenceSnapshot } from "./store.js";
export { frameScheduler, microtaskScheduler } from "./scheduler.js";
export type { Scheduler } from "./scheduler.js";
export type * from "./types.js";
