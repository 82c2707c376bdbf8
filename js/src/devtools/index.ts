/**
 * `tether-sync/devtools`: switches that make the network and the browser's storage misbehave,
 * so an app's developers see what their users will see. They act on the real code paths of
 * every client of the page (between the browser's WebSocket and IndexedDB and the engine); all
 * are off until switched on, and `status.faults` names the ones that are on. Loaded only when
 * an app imports this module.
 *
 * ```ts
 * import { setFaults, killSockets, clearFaults } from "tether-sync/devtools";
 * setFaults({ latencyMs: 300, drop: 0.1 }); // slow and lossy
 * killSockets(); // as if the connection was lost
 * clearFaults(); // back to normal
 * ```
 */
export {
  activeFaults,
  clearFaults,
  faults,
  killSockets,
  setFaults,
  type FaultSwitches,
} from "./faults.js";
