import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { TetherProvider } from "tether-sync";
import { registerOfflineShell } from "tether-sync/offline";

import { App } from "./App";
import "tether-sync/ui.css";
import "./styles.css";

// Cache the built app so the board also opens offline: the worker that tetherOfflineShell()
// (vite.config.ts) emits. The board's data and pending writes are the client's IndexedDB.
// The e2e tests read the outcome from `window.__offlineShell`.
const offlineShell = registerOfflineShell({
  url: `${import.meta.env.BASE_URL}tether-sw.js`,
  enabled: import.meta.env.PROD,
});
(window as { __offlineShell?: typeof offlineShell }).__offlineShell = offlineShell;

// `?devtools` in the address: the devtools' fault switches, for trying the board on a bad
// network (`window.__tetherDevtools.setFaults({ drop: 0.2 })`; the e2e tests use them). A
// dynamic import: the board without it never loads them.
if (new URLSearchParams(location.search).has("devtools")) {
  void import("tether-sync/devtools").then((devtools) => {
    (window as { __tetherDevtools?: typeof devtools }).__tetherDevtools = devtools;
  });
}

const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <TetherProvider url={wsUrl}>
      <App />
    </TetherProvider>
  </StrictMode>,
);
