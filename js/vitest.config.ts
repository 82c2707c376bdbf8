import { defineConfig } from "vitest/config";

export default defineConfig({
  // test/rustDrift.test.ts reads the Rust sources beside js/ (`?raw`).
  server: { fs: { allow: [".."] } },
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.{ts,tsx}"],
    restoreMocks: true,
    setupFiles: ["test/setup.ts"],
  },
});
