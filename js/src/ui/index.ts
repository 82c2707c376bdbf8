/**
 * `tether-sync/ui`: status components that work out of the box, unstyled (classes, `data-*`
 * attributes and the `--tether-*` CSS variables of `tether-sync/ui.css`), accessible, and
 * tree-shaken: nothing here loads unless the app imports it. Each reads the hooks of the
 * nearest `<TetherProvider>`.
 */
export { ConnectionStatus, defaultConnectionLabel } from "./ConnectionStatus.js";
export type { ConnectionLabelInput, ConnectionStatusProps } from "./ConnectionStatus.js";
export { PendingBadge } from "./PendingBadge.js";
export type { PendingBadgeProps } from "./PendingBadge.js";
export { OfflineBanner, defaultOfflineText } from "./OfflineBanner.js";
export type { OfflineBannerProps } from "./OfflineBanner.js";
export { ConflictResolver } from "./ConflictResolver.js";
export type { ConflictResolverProps } from "./ConflictResolver.js";
export {
  connectionQuality,
  useRecentReconnects,
  useNow,
  GOOD_RTT_MS,
  FAIR_RTT_MS,
  RECONNECT_WINDOW_MS,
} from "./quality.js";
export type { ConnectionQuality, QualityInput } from "./quality.js";
