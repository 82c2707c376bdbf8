// Two real browsers on the Kanban demo, against the real server: live updates, offline edits
// that survive a reload and apply exactly once, a conflict resolved by the user, and a server
// restart that both browsers ride through.
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
const inColumn = (page, column, title) =>
  page.locator(`[data-testid="column-${column}"] [data-title="${title}"]`);

async function open(context, user) {
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`[${user}] page error:`, error.message));
  await page.goto(`${server.url}?user=${user}`);
  await connected(page);
  return page;
}

async function connected(page) {
  await page.getByTestId("connection").filter({ hasText: "Connected" }).waitFor({ timeout: TIMEOUT });
}

async function addTask(page, title) {
  await page.getByTestId("new-task").fill(title);
  await page.getByTestId("new-task").press("Enter");
  await card(page, title).waitFor({ timeout: TIMEOUT });
}

async function rename(page, from, to) {
  await card(page, from).locator("h3").click();
  const input = page.getByTestId("edit-title");
  await input.fill(to);
  await input.press("Enter");
  await card(page, to).waitFor({ timeout: TIMEOUT });
}

async function moveRight(page, title) {
  await card(page, title).getByRole("button", { name: "Move right" }).click();
}

async function pendingCount(page) {
  return Number((await page.getByTestId("pending").textContent()).split(" ")[0]);
}

async function version(page, title) {
  return Number(await card(page, title).getAttribute("data-version"));
}

test("two browsers: live, offline across a reload, conflict, server restart", async () => {
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  const a = await open(contextA, "Sarah");
  const b = await open(contextB, "Amir");

  // The app shell must be cached before A can reload offline: let the service worker take
  // control, then load once through it.
  await a.evaluate(() => navigator.serviceWorker.ready);
  await a.reload();
  await connected(a);

  // 1. Live: a move in A appears in B.
  for (const title of ["Fix login", "Write docs", "Ship it"]) await addTask(a, title);
  await card(b, "Ship it").waitFor({ timeout: TIMEOUT });
  await moveRight(a, "Fix login");
  await inColumn(b, "doing", "Fix login").waitFor({ timeout: TIMEOUT });

  // 2. A goes offline, edits two tasks, reloads while offline: data and pending edits remain.
  await contextA.setOffline(true);
  await a.getByTestId("connection").filter({ hasNotText: "Connected" }).waitFor({ timeout: TIMEOUT });
  await rename(a, "Write docs", "Write the docs");
  await moveRight(a, "Ship it");
  await inColumn(a, "doing", "Ship it").waitFor({ timeout: TIMEOUT });
  assert.equal(await pendingCount(a), 2);

  await a.reload();
  await card(a, "Write the docs").waitFor({ timeout: TIMEOUT });
  await inColumn(a, "doing", "Ship it").waitFor({ timeout: TIMEOUT });
  await a.getByTestId("pending").filter({ hasText: "2 pending" }).waitFor({ timeout: TIMEOUT });
  assert.equal(await card(b, "Write docs").count(), 1, "B has not seen the offline edits yet");
  // The client's start, begun while the module loaded, was taken by the client: the page
  // holds one client id's lock, not two.
  const held = await a.evaluate(async () =>
    (await navigator.locks.query()).held.map((l) => l.name).filter((n) => n.startsWith("tether:")),
  );
  assert.equal(held.length, 1, `one client id locked: ${held}`);

  // Back online: B sees both edits, each applied exactly once (version 1 -> 2).
  await contextA.setOffline(false);
  await card(b, "Write the docs").waitFor({ timeout: TIMEOUT });
  await inColumn(b, "doing", "Ship it").waitFor({ timeout: TIMEOUT });
  await a.getByTestId("pending").filter({ hasText: "0 pending" }).waitFor({ timeout: TIMEOUT });
  assert.equal(await version(b, "Write the docs"), 2);
  assert.equal(await version(b, "Ship it"), 2);
  assert.equal(await version(a, "Write the docs"), 2);

  // 3. A and B edit the same task while A is offline: A is asked, keeps its version, both converge.
  await contextA.setOffline(true);
  await a.getByTestId("connection").filter({ hasNotText: "Connected" }).waitFor({ timeout: TIMEOUT });
  await rename(a, "Fix login", "Fix login (Sarah)");
  await rename(b, "Fix login", "Fix login (Amir)");
  await contextA.setOffline(false);
  await a.getByTestId("conflicts").waitFor({ timeout: TIMEOUT });
  await card(a, "Fix login (Amir)").waitFor({ timeout: TIMEOUT }); // rolled back to the server's
  await a.getByTestId("keep-mine").click();
  await card(b, "Fix login (Sarah)").waitFor({ timeout: TIMEOUT });
  await card(a, "Fix login (Sarah)").waitFor({ timeout: TIMEOUT });
  await a.getByTestId("conflicts").waitFor({ state: "detached", timeout: TIMEOUT });
  assert.equal(await version(a, "Fix login (Sarah)"), await version(b, "Fix login (Sarah)"));

  // 4. The server restarts mid-session: both reconnect by themselves and miss nothing,
  //    including a write B made while the server was down.
  await server.stop();
  await b.getByTestId("connection").filter({ hasNotText: "Connected" }).waitFor({ timeout: TIMEOUT });
  await addTask(b, "Queued while down");
  await server.start();
  await connected(a);
  await connected(b);
  await card(a, "Queued while down").waitFor({ timeout: TIMEOUT * 2 });
  await addTask(a, "After restart");
  await card(b, "After restart").waitFor({ timeout: TIMEOUT });
  assert.equal(await pendingCount(b), 0);

  // Final state is the same in both browsers.
  const titles = (page) =>
    page.locator("article[data-title]").evaluateAll((els) => els.map((e) => e.dataset.title).sort());
  assert.deepEqual(await titles(a), await titles(b));

  await contextA.close();
  await contextB.close();
});
