// The devtools' fault switches (tether-sync/devtools, loaded by `?devtools`) on a real board in
// a real browser against the real server: with each switch on, both boards keep writing; once
// it is off (and one more write shows the boards any gap left at the end), each board shows
// every task once, the server holds each write once (every new task at version 1, the moved
// task at one version per move) and nothing stays pending.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { freePort, launch, Server } from "./harness.mjs";

const TIMEOUT = 15_000;
// A write whose answer was dropped is sent again after the client's ack timeout (10 s without
// any answer) and a reconnect (backoff up to a few seconds): wait for that beyond TIMEOUT.
const RECOVERY = 30_000;
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

async function open(user, query = "") {
  const page = await (await browser.newContext()).newPage();
  page.on("pageerror", (error) => console.error(`[${user}] page error:`, error.message));
  await page.goto(`${server.url}?user=${user}${query}`);
  await page.getByTestId("connection").filter({ hasText: "Connected" }).waitFor({ timeout: TIMEOUT });
  return page;
}

async function addTask(page, title) {
  await page.getByTestId("new-task").fill(title);
  await page.getByTestId("new-task").press("Enter");
  // Optimistic: on the board at once, whatever the network does.
  await card(page, title).waitFor({ timeout: TIMEOUT });
}

async function pendingCount(page) {
  return Number((await page.getByTestId("pending").textContent()).split(" ")[0]);
}

async function until(what, check, within = TIMEOUT) {
  const deadline = Date.now() + within;
  for (;;) {
    const last = await check();
    if (last === true) return;
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The server's tasks by title (HTTP API). */
async function stored() {
  const res = await fetch(`${server.url}api/v1/channels/tasks/documents?limit=1000`);
  const { documents } = await res.json();
  const byTitle = new Map();
  for (const d of documents) byTitle.set(d.doc.title, [...(byTitle.get(d.doc.title) ?? []), d]);
  return byTitle;
}

const devtools = (page, call) => page.evaluate(call);

const SWITCHES = [
  ["offline", "offline", () => window.__tetherDevtools.setFaults({ offline: true })],
  ["latency", "latency", () => window.__tetherDevtools.setFaults({ latencyMs: 400 })],
  ["drop", "drop", () => window.__tetherDevtools.setFaults({ drop: 0.3 })],
  ["duplicate", "duplicate", () => window.__tetherDevtools.setFaults({ duplicate: 0.5 })],
  ["reorder", "reorder", () => window.__tetherDevtools.setFaults({ reorder: 0.5 })],
  ["failWrite", "failWrite", () => window.__tetherDevtools.setFaults({ failWrites: 1 })],
  ["kill", null, () => window.__tetherDevtools.killSockets()],
];

test("each fault switch: the boards recover with every write applied once", async () => {
  const a = await open("Sarah", "&devtools");
  const b = await open("Amir");
  await a.waitForFunction(() => window.__tetherDevtools !== undefined, null, { timeout: TIMEOUT });
  await addTask(b, "Moved by Amir");
  let moves = 0;
  const titles = ["Moved by Amir"];
  const refused = [];

  for (const [name, shown, turnOn] of SWITCHES) {
    await devtools(a, turnOn);
    if (shown !== null) {
      // Visible in the status while on.
      await a.getByTestId("faults").filter({ hasText: shown }).waitFor({ timeout: TIMEOUT });
    }
    let first = 1;
    if (name === "failWrite") {
      // The write whose IndexedDB transaction fails is refused, not queued: it rolls back
      // (its promise rejects with STORAGE) and never reaches the server.
      await a.getByTestId("new-task").fill("failWrite refused");
      await a.getByTestId("new-task").press("Enter");
      await until("the refused write rolls back", async () => (await card(a, "failWrite refused").count()) === 0);
      await a.getByTestId("faults").waitFor({ state: "detached", timeout: TIMEOUT });
      refused.push("failWrite refused");
      first = 2;
    }
    for (let i = first; i <= 3; i++) {
      await addTask(a, `${name} by Sarah ${i}`);
      titles.push(`${name} by Sarah ${i}`);
    }
    await addTask(b, `${name} by Amir`);
    titles.push(`${name} by Amir`);
    // Frames for A while the switch is on: B moves a task back and forth.
    const direction = moves % 2 === 0 ? "Move right" : "Move left";
    await card(b, "Moved by Amir").getByRole("button", { name: direction }).click();
    moves += 1;
    await new Promise((r) => setTimeout(r, 300));
    await devtools(a, () => window.__tetherDevtools.clearFaults());
    await a.getByTestId("faults").waitFor({ state: "detached", timeout: TIMEOUT });
    assert.deepEqual(await devtools(a, () => window.__tetherDevtools.activeFaults()), []);
    // A write after the switch is off: its event shows A any gap that a dropped or held
    // frame left at the end (the client notices gaps at the next event of the channel).
    await addTask(b, `after ${name}`);
    titles.push(`after ${name}`);

    await until(`${name}: both boards show every task once`, async () => {
      for (const page of [a, b]) {
        for (const title of titles) {
          const n = await card(page, title).count();
          if (n !== 1) return { page: page === a ? "Sarah" : "Amir", title, n };
        }
      }
      return true;
    }, RECOVERY);
    await until(`${name}: nothing pending`, async () => {
      const pending = [await pendingCount(a), await pendingCount(b)];
      return pending[0] === 0 && pending[1] === 0 ? true : pending;
    }, RECOVERY);
    const byTitle = await stored();
    for (const title of refused) {
      assert.equal(byTitle.get(title), undefined, `${name}: ${title} never reached the server`);
      assert.equal(await card(b, title).count(), 0, `${name}: ${title} not on the other board`);
    }
    for (const title of titles) {
      const docs = byTitle.get(title) ?? [];
      assert.equal(docs.length, 1, `${name}: ${title} stored once`);
      if (title === "Moved by Amir") {
        assert.equal(docs[0].version, 1 + moves, `${name}: one version per move`);
      } else {
        assert.equal(docs[0].version, 1, `${name}: ${title} applied once`);
      }
    }
  }
});
