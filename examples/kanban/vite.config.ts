import { defineConfig } from "vite";

// The reference server serves the built app from `--static dist` at `/` and the socket at `/ws`.
export default defineConfig({
  base: "./",
  build: { target: "es2022" },
  optimizeDeps: { exclude: ["tether-sync"] },
});
