import { defineConfig } from "vite";
import { tetherOfflineShell } from "tether-sync/offline/vite";

// The reference server serves the built app from `--static dist` at `/` and the socket at `/ws`.
// tetherOfflineShell() emits dist/tether-sw.js, the service worker that caches the built app
// (JS, CSS, the .wasm, index.html) so the board also opens offline (src/main.tsx registers it).
export default defineConfig({
  base: "./",
  build: { target: "es2022" },
  optimizeDeps: { exclude: ["tether-sync"] },
  plugins: [tetherOfflineShell()],
});
