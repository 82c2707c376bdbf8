// Shared pieces of the end-to-end tests: the reference server (serving the built demo from
// dist/, on a free loopback port, restartable on the same SQLite file) and headless Chromium.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const here = fileURLToPath(new URL(".", import.meta.url));

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** The reference server, restartable on the same database file. */
export class Server {
  constructor(port) {
    this.bin = process.env.TETHER_SERVER_BIN;
    if (!this.bin) throw new Error("TETHER_SERVER_BIN must name the tether-server binary");
    this.port = port;
    this.db = join(mkdtempSync(join(tmpdir(), "kanban-e2e-")), "demo.sqlite3");
    this.url = `http://127.0.0.1:${port}/`;
    this.child = null;
  }

  async start() {
    this.child = spawn(
      this.bin,
      ["--bind", `127.0.0.1:${this.port}`, "--db", this.db, "--dev", "--static", join(here, "..", "dist")],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${this.url}healthz`)).ok) return;
      } catch {}
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("tether-server did not start");
  }

  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
    this.child = null;
  }
}

/** Headless Debian Chromium. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.TETHER_CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}
