// The offline reload of the fresh Vite app built by fresh-app-check.sh: the reference server
// serves its dist/ on a free loopback port; headless Chromium loads it online, adds a row, goes
// offline (browser offline and server stopped), adds a second row, reloads: the page comes from
// the service worker with both rows and "1 pending"; back online, the second row reaches the
// server exactly once (a second browser context sees it once). Then a new deployment: the app
// is rebuilt with another heading; the next online load shows it, the new worker replaces the
// old version's cache, and an offline reload shows the new version.
//   node fresh-app-offline.mjs SERVER_BIN DIST_DIR PLAYWRIGHT_CORE_INDEX_MJS
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const [bin, dist, playwright] = process.argv.slice(2);
if (!bin || !dist || !playwright) {
  console.error("usage: node fresh-app-offline.mjs SERVER_BIN DIST_DIR PLAYWRIGHT_CORE_INDEX_MJS");
  process.exit(2);
}
const { chromium } = await import(pathToFileURL(playwright).href);
const TIMEOUT = 20_000;

const port = await new Promise((resolve, reject) => {
  const srv = createServer();
  srv.on("error", reject);
  srv.listen(0, "127.0.0.1", () => {
    const { port } = srv.address();
    srv.close(() => resolve(port));
  });
});
const url = `http://127.0.0.1:${port}/`;
const db = join(mkdtempSync(join(tmpdir(), "fresh-app-offline-")), "app.sqlite3");
let child = null;

async function startServer() {
  child = spawn(bin, ["--bind", `127.0.0.1:${port}`, "--db", db, "--dev", "--static", dist], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}healthz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("tether-server did not start");
}

async function stopServer() {
  const c = child;
  child = null;
  if (!c || c.exitCode !== null) return;
  const exited = new Promise((r) => c.once("exit", r));
  c.kill("SIGTERM");
  await exited;
}

const text = (page, selector, value) =>
  page.locator(selector).filter({ hasText: value }).first().waitFor({ timeout: TIMEOUT });

const browser = await chromium.launch({
  executablePath: process.env.TETHER_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
});
try {
  await startServer();
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("fresh app page error:", e.message));
  await page.goto(url);
  await text(page, "#status", "ready");
  const ready = await page.evaluate(async () => {
    const shell = await window.offlineShell;
    return shell.status === "registered" ? await shell.ready : shell.status;
  });
  assert.equal(ready, true, "the offline shell is registered and active after the first load");

  await page.getByRole("button", { name: "add" }).click();
  await text(page, "li", "task 1");
  await text(page, "#pending", "0 pending");

  await context.setOffline(true);
  await stopServer();
  await page.locator("#status").filter({ hasNotText: "ready" }).waitFor({ timeout: TIMEOUT });
  await page.getByRole("button", { name: "add" }).click();
  await text(page, "li", "task 2");
  await text(page, "#pending", "1 pending");

  await page.reload();
  await text(page, "li", "task 1");
  await text(page, "li", "task 2");
  await text(page, "#pending", "1 pending");
  assert.equal(await page.evaluate(() => navigator.serviceWorker.controller !== null), true);

  await startServer();
  await context.setOffline(false);
  await text(page, "#status", "ready");
  await text(page, "#pending", "0 pending");
  const witness = await (await browser.newContext()).newPage();
  await witness.goto(url);
  await text(witness, "li", "task 2");
  assert.deepEqual((await witness.locator("li").allTextContents()).sort(), ["task 1", "task 2"]);
  console.log("fresh app: offline reload served by the worker with its rows and pending write");

  // A new deployment: same app, another heading, rebuilt into the directory the server serves.
  const shellCaches = () =>
    page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith("tether-shell:")));
  const before = await shellCaches();
  assert.equal(before.length, 1, `one cached version before the deployment: ${before}`);
  const app = dirname(dist);
  const main = join(app, "main.jsx");
  writeFileSync(main, readFileSync(main, "utf8").replace("build v1", "build v2"));
  const build = spawnSync("npx", ["vite", "build"], { cwd: app, stdio: ["ignore", "ignore", "inherit"] });
  assert.equal(build.status, 0, "the second vite build");
  await page.reload();
  await text(page, "h1", "build v2"); // navigations go to the network first: never a stale shell
  // Wait for the new version's worker (the page's own registerOfflineShell() asked for the
  // update check too; this waits until it is done).
  await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.getRegistration();
    await reg.update();
    // The new worker may be installing, waiting or already activating (skipWaiting).
    const worker = reg.installing ?? reg.waiting ?? reg.active;
    await new Promise((resolve) => {
      const settled = () => ["activated", "redundant"].includes(worker.state) && resolve();
      worker.addEventListener("statechange", settled);
      settled();
    });
  });
  const after = await shellCaches();
  assert.equal(after.length, 1, `one cached version after the deployment: ${after}`);
  assert.notEqual(after[0], before[0], "the new version has its own cache, the old one is deleted");
  await context.setOffline(true);
  await stopServer();
  await page.reload();
  await text(page, "h1", "build v2");
  await text(page, "li", "task 2");
  console.log("fresh app: a new deployment replaced the cached version, and loads offline");
} finally {
  await browser.close();
  await stopServer();
}
