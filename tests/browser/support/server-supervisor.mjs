// Runs the reference server for the browser tests and lets them stop and start it.
//
//   node tests/browser/support/server-supervisor.mjs <tether-server binary> <db file> <server port> <control port>
//
// Control API (loopback only, CORS open for the test page): POST /stop, POST /start,
// POST /start-slow (started with a per-connection rate of 10/s, burst 2), POST /restart (the
// usual server), POST /wipe (stop, delete the database file: a new epoch, start),
// GET /status. Prints "ready" once the server answers /healthz. Exits on SIGTERM / SIGINT, or
// by itself after 30 minutes, stopping the server(s) first. Every wait is bounded.
//
// A second server, with auth, on demand: POST /auth/start starts it once (HS256 secret, no
// leeway, `--token-refresh-secs 3`, a database of its own, any Origin) on a free loopback port
// and answers {"url": "ws://..."}; POST /auth/token?ttl=SECS answers a token for it (subject
// `browser`, every channel), minted with `tether-server token`.
//
// Two cluster nodes on demand (CLUSTER.md), when the environment names a PostgreSQL server and
// a Redis (TETHER_TEST_POSTGRES_URL, TETHER_TEST_REDIS_URL: `scripts/test.sh browser` starts
// both and builds the binary with the feature `cluster`): POST /cluster/start stops the nodes of
// an earlier call, creates a fresh database (with `psql`), starts two nodes on it (dev mode,
// free loopback ports, the one Redis) and waits until both say `ok` on /healthz; it answers
// {"urls": ["ws://...", "ws://..."]}. POST /cluster/kill?node=N SIGKILLs node N (0 or 1).
// GET /cluster/events?node=N&channel=C answers node N's change feed of channel C from its
// beginning (GET /api/v1/channels/C/events?since=0&limit=1000, API.md §5).
import { execFile, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createTcpServer } from "node:net";

const [bin, db, serverPort, controlPort] = process.argv.slice(2);
if (!bin || !db || !serverPort || !controlPort) {
  console.error("usage: server-supervisor.mjs <binary> <db> <server port> <control port>");
  process.exit(2);
}
let child = null;

async function healthy(timeoutMs, port = serverPort) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Starts the server (when stopped); `extra`: more flags (`/start-slow`). */
async function start(extra = []) {
  if (child) return;
  child = spawn(bin, ["--bind", `127.0.0.1:${serverPort}`, "--db", db, "--dev", ...extra], {
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

// The auth server (see the header).
const AUTH_SECRET = "browser-test-secret";
let authChild = null;
let authPort = null;

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createTcpServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function startAuth() {
  if (!authChild) {
    authPort = await freePort();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${db}-auth${suffix}`, { force: true });
    authChild = spawn(
      bin,
      [
        "--bind", `127.0.0.1:${authPort}`, "--db", `${db}-auth`, "--auth-secret", AUTH_SECRET,
        "--token-leeway-secs", "0", "--token-refresh-secs", "3", "--allowed-origin", "*",
      ],
      { stdio: ["ignore", "inherit", "inherit"] },
    );
    const proc = authChild;
    proc.on("exit", () => {
      if (authChild === proc) authChild = null;
    });
    if (!(await healthy(15000, authPort))) throw new Error("auth server did not become healthy");
  }
  return { url: `ws://127.0.0.1:${authPort}/ws` };
}

function mintToken(ttl) {
  if (!/^[0-9]{1,6}$/.test(ttl)) throw new Error("ttl must be whole seconds");
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      ["token", "--sub", "browser", "--channels", "*", "--ttl", ttl],
      { env: { ...process.env, TETHER_AUTH_SECRET: AUTH_SECRET }, timeout: 10000 },
      (error, stdout) => (error ? reject(error) : resolve(stdout.trim())),
    );
  });
}

function stopAuth() {
  const proc = authChild;
  authChild = null;
  if (proc) proc.kill("SIGTERM");
}

// The cluster nodes (see the header).
const cluster = { nodes: [], db: 0 };

function psql(url, sql) {
  return new Promise((resolve, reject) => {
    execFile("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql], { timeout: 15000 },
      (error, _stdout, stderr) => (error ? reject(new Error(`psql: ${stderr || error}`)) : resolve()));
  });
}

async function healthOk(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok && (await res.text()).startsWith("ok")) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function killCluster() {
  for (const node of cluster.nodes) if (node.child) node.child.kill("SIGKILL");
  cluster.nodes = [];
}

async function startCluster() {
  const admin = process.env.TETHER_TEST_POSTGRES_URL;
  const redis = process.env.TETHER_TEST_REDIS_URL;
  if (!admin || !redis) {
    throw new Error("cluster nodes need TETHER_TEST_POSTGRES_URL and TETHER_TEST_REDIS_URL " +
      "(scripts/test.sh browser starts PostgreSQL and Redis)");
  }
  killCluster();
  const name = `tether_browser_${process.pid}_${cluster.db++}`;
  await psql(admin, `CREATE DATABASE ${name}`);
  const database = `${admin.slice(0, admin.lastIndexOf("/"))}/${name}`;
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const node = { port, child: null };
    node.child = spawn(
      bin,
      [
        "--bind", `127.0.0.1:${port}`, "--dev", "--log", "warn", "--rate-per-sec", "0",
        "--database-url", database, "--redis-url", redis,
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    node.child.on("exit", () => {
      node.child = null;
    });
    cluster.nodes.push(node);
  }
  for (const node of cluster.nodes) {
    if (!(await healthOk(node.port, 20000))) throw new Error("a cluster node did not become healthy");
  }
  return { urls: cluster.nodes.map((n) => `ws://127.0.0.1:${n.port}/ws`) };
}

function clusterNode(url) {
  const node = cluster.nodes[Number(url.searchParams.get("node"))];
  if (!node) throw new Error("no such cluster node");
  return node;
}

async function killNode(url) {
  const node = clusterNode(url);
  const proc = node.child;
  if (!proc) return { killed: false };
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill("SIGKILL");
  await exited;
  return { killed: true };
}

async function clusterEvents(url) {
  const node = clusterNode(url);
  const channel = encodeURIComponent(url.searchParams.get("channel") ?? "");
  const res = await fetch(
    `http://127.0.0.1:${node.port}/api/v1/channels/${channel}/events?since=0&limit=1000`,
  );
  if (!res.ok) throw new Error(`change feed: ${res.status} ${await res.text()}`);
  return res.text();
}

const actions = {
  "/stop": stop,
  "/start": () => start(),
  // Mutations over 10/s per connection (burst 2) are delayed: a drain's acknowledgements
  // arrive over seconds, one or two at a time. `/restart` starts the usual server again.
  "/start-slow": () => start(["--rate-per-sec", "10", "--rate-burst", "2"]),
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
    const url = new URL(req.url, "http://127.0.0.1");
    if (req.method === "POST" && url.pathname === "/auth/start") {
      res.end(JSON.stringify(await startAuth()));
    } else if (req.method === "POST" && url.pathname === "/auth/token") {
      res.end(await mintToken(url.searchParams.get("ttl") ?? "3600"));
    } else if (req.method === "POST" && url.pathname === "/cluster/start") {
      res.end(JSON.stringify(await startCluster()));
    } else if (req.method === "POST" && url.pathname === "/cluster/kill") {
      res.end(JSON.stringify(await killNode(url)));
    } else if (req.method === "GET" && url.pathname === "/cluster/events") {
      res.end(await clusterEvents(url));
    } else if (req.method === "POST" && actions[req.url]) {
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
  stopAuth();
  killCluster();
  await stop();
  control.close();
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
setTimeout(shutdown, 30 * 60 * 1000).unref();

await start();
control.listen(Number(controlPort), "127.0.0.1", () => console.log("ready"));
