// Runs the reference server for the browser tests and lets them stop and start it.
//
//   node tests/browser/support/server-supervisor.mjs <tether-server binary> <db file> <server port> <control port>
//
// Control API (loopback only, CORS open for the test page): POST /stop, POST /start,
// POST /restart, POST /wipe (stop, delete the database file: a new epoch, start),
// GET /status. Prints "ready" once the server answers /healthz. Exits on SIGTERM / SIGINT, or
// by itself after 30 minutes, stopping the server first. Every wait is bounded.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer } from "node:http";

const [bin, db, serverPort, controlPort] = process.argv.slice(2);
if (!bin || !db || !serverPort || !controlPort) {
  console.error("usage: server-supervisor.mjs <binary> <db> <server port> <control port>");
  process.exit(2);
}
let child = null;

async function healthy(timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${serverPort}/healthz`);
      if (res.ok) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function start() {
  if (child) return;
  child = spawn(bin, ["--bind", `127.0.0.1:${serverPort}`, "--db", db, "--dev"], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  const proc = child;
  proc.on("exit", () => {
    if (child === proc) child = null;
  });
  if (!(await healthy(15000))) throw new Error("server did not become healthy");
}

async function stop() {
  const proc = child;
  if (!proc) return;
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
  child = null;
}

const actions = {
  "/stop": stop,
  "/start": start,
  "/restart": async () => {
    await stop();
    await start();
  },
  "/wipe": async () => {
    await stop();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(db + suffix, { force: true });
    await start();
  },
};

const control = createServer(async (req, res) => {
  res.setHeader("access-control-allow-origin", "*");
  res.setHeader("access-control-allow-methods", "GET, POST");
  if (req.method === "OPTIONS") return res.end();
  try {
    if (req.method === "POST" && actions[req.url]) {
      await actions[req.url]();
      res.end(JSON.stringify({ ok: true, running: child !== null }));
    } else if (req.url === "/status") {
      res.end(JSON.stringify({ running: child !== null }));
    } else {
      res.statusCode = 404;
      res.end("not found");
    }
  } catch (error) {
    res.statusCode = 500;
    res.end(String(error));
  }
});

async function shutdown() {
  await stop();
  control.close();
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
setTimeout(shutdown, 30 * 60 * 1000).unref();

await start();
control.listen(Number(controlPort), "127.0.0.1", () => console.log("ready"));
