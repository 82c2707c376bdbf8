// The demo's backend (backend/workflow.mjs, HTTP API only) beside two real browsers: a task
// moved to Done in one board is stamped by the backend through the change feed, both boards
// show the stamp live and the backend's notification, and a restart of the backend stamps
// nothing twice.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";

import { freePort, launch, Server } from "./harness.mjs";

const TIMEOUT = 10_000;
const script = fileURLToPath(new URL("../backend/workflow.mjs", import.meta.url));
const stateFile = join(mkdtempSync(join(tmpdir(), "kanban-workflow-")), "state.json");
let server;
let browser;
let backend;

function startBackend() {
  const child = spawn(process.execPath, [script, stateFile], {
    env: { ...process.env, TETHER_API: `${server.url}api/v1` },
    stdio: ["ignore", "inherit", "inherit"],
  });
  return child;
}

async function stopBackend() {
  if (!backend || backend.exitCode !== null) return;
  const exited = new Promise((r) => backend.once("exit", r));
  backend.kill("SIGTERM");
  await exited;
}

before(async () => {
  server = new Server(await freePort());
  await server.start();
  browser = await launch();
  backend = startBackend();
});

after(async () => {
  await stopBackend();
  await browser?.close();
  await server?.stop();
});

const card = (page, title) => page.locator(`[data-title="${title}"]`);

async function open(user) {
  const page = await (await browser.newContext()).newPage();
  page.on("pageerror", (error) => console.error(`[${user}] page error:`, error.message));
  await page.goto(`${server.url}?user=${user}`);
  await page.getByTestId("connection").filter({ hasText: "Connected" }).waitFor({ timeout: TIMEOUT });
  return page;
}

async function moveRight(page, title) {
  await card(page, title).getByRole("button", { name: "Move right" }).click();
}

/** The task's document as the server holds it (HTTP API read). */
async function stored(title) {
  const res = await fetch(`${server.url}api/v1/channels/tasks/documents?limit=100`);
  const { documents } = await res.json();
  return documents.find((d) => d.doc.title === title);
}

test("the backend stamps a task moved to Done and every board shows its notification", async () => {
  const a = await open("Sarah");
  const b = await open("Amir");
  await a.getByTestId("new-task").fill("Release notes");
  await a.getByTestId("new-task").press("Enter");
  await card(b, "Release notes").waitFor({ timeout: TIMEOUT });

  await moveRight(a, "Release notes");
  await moveRight(a, "Release notes");
  await a.locator('[data-testid="column-done"] [data-title="Release notes"]').waitFor({ timeout: TIMEOUT });

  // Both boards: the stamp arrives live, and the notification.
  for (const page of [a, b]) {
    await card(page, "Release notes").getByTestId("done-at").waitFor({ timeout: TIMEOUT });
    await page
      .getByTestId("notification")
      .filter({ hasText: "“Release notes” is done" })
      .waitFor({ timeout: TIMEOUT });
  }
  const first = await stored("Release notes");
  assert.ok(first.doc.done_at, "stamped on the server");

  // A restart of the backend resumes from its saved position: nothing is stamped again.
  await stopBackend();
  backend = startBackend();
  await new Promise((r) => setTimeout(r, 1_500));
  const again = await stored("Release notes");
  assert.equal(again.version, first.version, "no second stamp after the restart");

  // Moved back out of Done: the stamp goes.
  await card(a, "Release notes").getByRole("button", { name: "Move left" }).click();
  await card(b, "Release notes").getByTestId("done-at").waitFor({ state: "detached", timeout: TIMEOUT });
});
