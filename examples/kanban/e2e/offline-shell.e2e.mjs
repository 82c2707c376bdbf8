// The offline app shell (tether-sync/offline): after one online load, a reload with no network
// at all (browser offline and the server stopped) still shows the board, served by the service
// worker, with its cached tasks and the write made offline still pending; back online, that
// write reaches the server exactly once.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { freePort, launch, Server } from "./harness.mjs";

const TIMEOUT = 10_000;
let server;
let browser;

before(async () => {
  server = new Server(await freePort());
  await server.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const card = (page, title) => page.locator(`[data-title="${title}"]`);
const pending = (page, text) => page.getByTestId("pending").filter({ hasText: text }).waitFor({ timeout: TIMEOUT });

async function open(context, user) {
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`[${user}] page error:`, error.message));
  await page.goto(`${server.url}?user=${user}`);
  await connected(page);
  return page;
}

async function connected(page, timeout = TIMEOUT) {
  await page.getByTestId("connection").filter({ hasText: "Connected" }).waitFor({ timeout });
}

async function addTask(page, title) {
  await page.getByTestId("new-task").fill(title);
  await page.getByTestId("new-task").press("Enter");
  await card(page, title).waitFor({ timeout: TIMEOUT });
}

test("offline reload: the worker serves the board, its cached tasks and the pending write", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  // wasm-bindgen warns when streaming instantiation fails on a wrong MIME type.
  const wasmWarnings = [];
  page.on("console", (m) => {
    if (/application\/wasm|instantiateStreaming/i.test(m.text())) wasmWarnings.push(m.text());
  });
  page.on("pageerror", (error) => console.error("[Noor] page error:", error.message));
  await page.goto(`${server.url}?user=Noor`);
  await connected(page);

  // The first online load is enough: the worker precaches the whole build (the assets this page
  // fetched before the worker existed included) before it reports ready.
  const shell = await page.evaluate(async () => {
    const s = await window.__offlineShell;
    return { status: s.status, ready: s.status === "registered" ? await s.ready : false };
  });
  assert.deepEqual(shell, { status: "registered", ready: true });

  await addTask(page, "Cached online");
  await pending(page, "0 pending");

  // No network: the browser is offline and the server is down.
  await context.setOffline(true);
  await server.stop();
  await page.getByTestId("connection").filter({ hasNotText: "Connected" }).waitFor({ timeout: TIMEOUT });
  await addTask(page, "Written offline");
  await pending(page, "1 pending");

  await page.reload();
  await card(page, "Cached online").waitFor({ timeout: TIMEOUT });
  await card(page, "Written offline").waitFor({ timeout: TIMEOUT });
  await pending(page, "1 pending");
  const served = await page.evaluate(async () => {
    const wasm = performance.getEntriesByType("resource").find((e) => e.name.endsWith(".wasm"));
    const again = wasm ? await fetch(wasm.name) : null;
    return {
      controlled: navigator.serviceWorker.controller !== null,
      wasm: again ? again.headers.get("content-type") : "no .wasm loaded",
    };
  });
  assert.deepEqual(served, { controlled: true, wasm: "application/wasm" });
  assert.deepEqual(wasmWarnings, []);

  // Back online: the offline write reaches the server once.
  await server.start();
  await context.setOffline(false);
  await connected(page, TIMEOUT * 2);
  await pending(page, "0 pending");
  const other = await browser.newContext();
  const witness = await open(other, "Ines");
  await card(witness, "Written offline").waitFor({ timeout: TIMEOUT });
  assert.equal(await card(witness, "Written offline").count(), 1);
  assert.equal(await card(witness, "Written offline").getAttribute("data-version"), "1");
  assert.equal(await card(page, "Written offline").count(), 1);
  assert.equal(await card(witness, "Cached online").count(), 1);

  await other.close();
  await context.close();
});
