import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { TetherProvider } from "tether-sync";

import { App } from "./App";
import "./styles.css";

const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <TetherProvider url={wsUrl}>
      <App />
    </TetherProvider>
  </StrictMode>,
);
