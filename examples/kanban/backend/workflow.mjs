#!/usr/bin/env node
// The Kanban demo's backend: an app server of its own that takes part through Tether's HTTP API
// only (API.md). It follows the `tasks` channel's change feed and, when a user moves a task to
// "Done", stamps the task with `done_at` (a write every open board shows live) and broadcasts a
// notification to every board.
//
//   node workflow.mjs [STATE_FILE]
//
// Environment: TETHER_API (default http://127.0.0.1:8080/api/v1), TETHER_API_KEY (the secret of
// an --api-key; not needed against a --dev server). Node 18 or newer (global fetch).
//
// Exactly once: the feed position (epoch, offset) is saved to STATE_FILE after each page of
// changes is handled, and each stamp is written with an Idempotency-Key derived from the change
// it reacts to (`done:<id>:<version>`), so a restart after a crash re-reads at most one page and
// applies nothing twice. The notification is a broadcast (ephemeral): after such a crash it may
// be shown twice, never lost while boards are open.
import { readFileSync, renameSync, writeFileSync } from "node:fs";

const api = (process.env.TETHER_API ?? "http://127.0.0.1:8080/api/v1").replace(/\/$/, "");
const key = process.env.TETHER_API_KEY;
const stateFile = process.argv[2] ?? "workflow-state.json";
const channel = "tasks";
const log = (...args) => console.log("[workflow]", ...args);

function headers(extra = {}) {
  return { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
}

/** `{status, body}` of one API call; network failures are retried by the caller. */
async function call(method, path, { body, idempotencyKey } = {}) {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: headers(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

function loadState() {
  try {
    return JSON.parse(readFileSync(stateFile, "utf8"));
  } catch {
    return { epoch: null, next: 0 };
  }
}

function saveState(state) {
  writeFileSync(`${stateFile}.tmp`, JSON.stringify(state));
  renameSync(`${stateFile}.tmp`, stateFile);
}

/** Reacts to one committed change. */
async function handle(change) {
  if (change.op !== "upsert") return;
  if (change.doc.status !== "done" && change.doc.done_at) {
    // Moved out of Done: the stamp goes (no notification).
    await call(
      "PATCH",
      `/channels/${channel}/documents/${encodeURIComponent(change.id)}?base_version=${change.version}`,
      { body: { done_at: null }, idempotencyKey: `undone:${change.id}:${change.version}` },
    );
    return;
  }
  if (change.doc.status !== "done" || change.doc.done_at) return;
  // Stamp the version the user wrote; if they changed it again meanwhile (409), a later change
  // in the feed says what to do.
  const stamp = await call(
    "PATCH",
    `/channels/${channel}/documents/${encodeURIComponent(change.id)}?base_version=${change.version}`,
    { body: { done_at: new Date().toISOString() }, idempotencyKey: `done:${change.id}:${change.version}` },
  );
  if (stamp.status === 409) return;
  if (stamp.status !== 200) throw new Error(`stamping ${change.id}: ${stamp.status} ${JSON.stringify(stamp.body)}`);
  const text = `“${change.doc.title}” is done`;
  await call("POST", `/channels/${channel}/broadcast`, {
    body: { payload: { notification: { text, task: change.id } } },
  });
  log(text);
}

async function follow() {
  let state = loadState();
  log(`following ${api}/channels/${channel}/events from offset ${state.next}`);
  for (;;) {
    const query = new URLSearchParams({ since: String(state.next), wait: "25", limit: "100" });
    if (state.epoch && state.next > 0) query.set("epoch", state.epoch);
    let page;
    try {
      page = await call("GET", `/channels/${channel}/events?${query}`);
    } catch (error) {
      log(`server unreachable (${error.cause?.code ?? error.message}); retrying in 1 s`);
      await new Promise((r) => setTimeout(r, 1_000));
      continue;
    }
    if (page.status === 410) {
      // The database was replaced or the log pruned past our position: the documents as they
      // are now are the truth; follow from the server's head (no done task is left unstamped
      // for long: the next move of any task to Done is seen).
      const { epoch, offset } = page.body.error;
      log(`feed reset: continuing from epoch ${epoch} offset ${offset}`);
      state = { epoch, next: offset };
      saveState(state);
      continue;
    }
    if (page.status !== 200) {
      log(`feed answered ${page.status}: ${JSON.stringify(page.body)}; retrying in 1 s`);
      await new Promise((r) => setTimeout(r, 1_000));
      continue;
    }
    for (const change of page.body.events) await handle(change);
    state = { epoch: page.body.epoch, next: page.body.next };
    saveState(state);
  }
}

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
follow().catch((error) => {
  console.error("[workflow] stopped:", error);
  process.exit(1);
});
