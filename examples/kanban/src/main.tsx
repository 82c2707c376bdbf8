import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { TetherProvider } from "tether-sync";

import { App } from "./App";
import "tether-sync/ui.css";
import "./styles.css";

// Cache the app shell so the board also opens offline (see public/sw.js).
if ("serviceWorker" in navigator && location.protocol !== "file:") {
  void navigator.serviceWorker.register("./sw.js").catch(() => undefined);
}

const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <TetherProvider url={wsUrl}>
      <App />
    </TetherProvider>
  </StrictMode>,
);
