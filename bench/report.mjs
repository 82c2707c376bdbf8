// Reads the raw results of one `make bench` run (a work directory of fanout-*.json, bundle.json,
// client.json, catchup.json, cluster-*.json, twiggy.txt), prints the table (medians over repeats, Tether/peer ratios, targets
// reported, never asserted) and writes bench/results/bench-<time>.json and .txt.
//
// usage: node report.mjs WORK_DIR RESULTS_DIR [--parts fanout,client,bundle,catchup,cluster] [--smoke]
// With --smoke it exits 1 unless every requested part produced numbers (never how fast).
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

const [work, resultsDir] = process.argv.slice(2);
const smoke = process.argv.includes("--smoke");
const partsArg = process.argv.indexOf("--parts");
const parts = (partsArg > 0 ? process.argv[partsArg + 1] : "fanout,client,bundle,catchup,cluster").split(",");

const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));
const median = (xs) => {
  const v = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const ms = (us) => (us == null ? "-" : (us / 1000).toFixed(us < 10_000 ? 2 : 1));
const kb = (b) => (b == null ? "-" : (b / 1024).toFixed(1));
const ratio = (peer, tether) =>
  peer == null || tether == null || tether <= 0 ? "-" : `${(peer / tether).toFixed(1)}x`;
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

const lines = [];
const out = (s = "") => lines.push(s);
const problems = [];

// --- fan-out -------------------------------------------------------------------------------------
const fanoutRuns = readdirSync(work)
  .filter((f) => /^fanout-.*\.json$/.test(f))
  .map((f) => readJson(join(work, f)));

/** Medians over the repeats of one (peer, connections). */
function aggregate(runs) {
  const ok = runs.filter((r) => !r.error);
  const pick = (f) => median(ok.map(f));
  return {
    runs: runs.length,
    failed: runs.length - ok.length,
    errors: runs.filter((r) => r.error).map((r) => r.error),
    connected: pick((r) => r.connected),
    connections: runs[0].connections,
    deliveries: pick((r) => r.deliveries),
    expected: pick((r) => r.expected_deliveries),
    missing: pick((r) => r.missing_deliveries),
    closed: pick((r) => r.closed_during_run),
    connect_secs: pick((r) => r.connect_secs),
    p50: pick((r) => r.latency?.p50_us),
    p99: pick((r) => r.latency?.p99_us),
    p999: pick((r) => r.latency?.p999_us),
    max: pick((r) => r.latency?.max_us),
    all_p50: pick((r) => r.all_received?.p50_us),
    all_p99: pick((r) => r.all_received?.p99_us),
    ack_p50: pick((r) => r.ack?.p50_us),
    bytes_per_conn: pick((r) => r.bytes_per_connection),
    rss_before: pick((r) => r.rss_before_bytes),
    rss_idle: pick((r) => r.rss_idle_bytes),
    cpu_connect: pick((r) => r.cpu_connect_secs),
    cpu_publish: pick((r) => r.cpu_publish_secs),
    gen_cpu_publish: pick((r) => r.loadgen_cpu_publish_secs),
    load: pick((r) => (r.load_average ? Math.max(...r.load_average.filter((x) => x != null)) : null)),
    publisher_errors: ok.map((r) => r.publisher_error).filter(Boolean),
  };
}

const fanout = {};
for (const r of fanoutRuns) {
  const key = `${r.connections}`;
  fanout[key] ??= {};
  (fanout[key][r.peer] ??= []).push(r);
}
const sizes = Object.keys(fanout).map(Number).sort((a, b) => a - b);
const fanoutSummary = sizes.map((n) => ({
  connections: n,
  tether: fanout[n].tether ? aggregate(fanout[n].tether) : null,
  socketio: fanout[n].socketio ? aggregate(fanout[n].socketio) : null,
}));

const first = fanoutRuns.find((r) => !r.error);
out(`Tether benchmarks — ${new Date().toISOString()} — ${cpus().length} cores, ` +
  `${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, loopback only, ` +
  `tree ${process.env.BENCH_GIT_REV ?? "unknown"}` +
  (smoke ? " — SMOKE MODE (tiny sizes; numbers mean nothing)" : ""));
out();

if (parts.includes("fanout")) {
  out("1. Server fan-out: tether-server vs Socket.IO 4 (same load generator)");
  if (first) {
    out(`   ${first.rate_per_sec} publishes/s for ${first.seconds}s to every subscriber; ` +
      `latency = publish -> receive of every delivery (ms); all-recv = publish -> last subscriber has it;`);
    out(`   B/conn = (server RSS with N idle subscribed connections - RSS before) / N; ` +
      `CPU = server user+sys seconds (connecting, publishing); gen CPU = the load generator's own,`);
    out(`   which runs on the same 2 cores (${first.loadgen_threads} worker thread${first.loadgen_threads === 1 ? "" : "s"}); load = the machine's 1-minute load average`);
    out(`   while publishing (above 2, other work competed for the 2 cores and the latencies include waiting for a core).`);
    out(`   tether-server commits every publish to SQLite (${first.server_command.includes("normal") ? "synchronous=NORMAL" : "synchronous=FULL"}) before fan-out; Socket.IO stores nothing.`);
  }
  out();
  const header = [pad("conns", 7), pad("peer", 10), lpad("connected", 11), lpad("delivered", 17),
    lpad("p50", 8), lpad("p99", 8), lpad("p99.9", 8), lpad("max", 8), lpad("all-recv p99", 13),
    lpad("KB/conn", 9), lpad("RSS MB", 8), lpad("connect s", 10), lpad("CPU conn", 9), lpad("CPU pub", 8), lpad("gen CPU", 8), lpad("load", 6)].join(" ");
  out(header);
  out("-".repeat(header.length));
  for (const row of fanoutSummary) {
    for (const peer of ["tether", "socketio"]) {
      const a = row[peer];
      if (!a) continue;
      if (a.failed === a.runs) {
        out(`${pad(row.connections, 7)} ${pad(peer, 10)} FAILED: ${a.errors[0]}`);
        problems.push(`fan-out ${peer} n=${row.connections}: ${a.errors[0]}`);
        continue;
      }
      out([pad(row.connections, 7), pad(peer, 10),
        lpad(`${a.connected}/${a.connections}`, 11),
        lpad(`${a.deliveries}/${a.expected}`, 17),
        lpad(ms(a.p50), 8), lpad(ms(a.p99), 8), lpad(ms(a.p999), 8), lpad(ms(a.max), 8),
        lpad(ms(a.all_p99), 13), lpad(kb(a.bytes_per_conn), 9),
        lpad(a.rss_idle == null ? "-" : (a.rss_idle / 2 ** 20).toFixed(0), 8),
        lpad(a.connect_secs?.toFixed(1) ?? "-", 10), lpad(a.cpu_connect?.toFixed(2) ?? "-", 9),
        lpad(a.cpu_publish?.toFixed(2) ?? "-", 8), lpad(a.gen_cpu_publish?.toFixed(2) ?? "-", 8),
        lpad(a.load == null || !Number.isFinite(a.load) ? "-" : a.load.toFixed(1), 6)].join(" "));
      for (const e of a.publisher_errors) out(`${" ".repeat(18)}publisher: ${e}`);
      if (a.failed) out(`${" ".repeat(18)}${a.failed} of ${a.runs} runs failed: ${a.errors[0]}`);
    }
    const t = row.tether, s = row.socketio;
    if (t && s && t.failed < t.runs && s.failed < s.runs) {
      out([pad(row.connections, 7), pad("Socket.IO/Tether", 47),
        lpad(ratio(s.p50, t.p50), 8), lpad(ratio(s.p99, t.p99), 8), lpad(ratio(s.p999, t.p999), 8),
        lpad("", 8), lpad(ratio(s.all_p99, t.all_p99), 13), lpad(ratio(s.bytes_per_conn, t.bytes_per_conn), 9),
        lpad(ratio(s.rss_idle, t.rss_idle), 8), lpad(ratio(s.connect_secs, t.connect_secs), 10), lpad(ratio(s.cpu_connect, t.cpu_connect), 9),
        lpad(ratio(s.cpu_publish, t.cpu_publish), 8), lpad(ratio(s.gen_cpu_publish, t.gen_cpu_publish), 8)].join(" "));
    }
  }
  out();
  // Targets (reported, never asserted), at the largest size measured.
  const top = fanoutSummary.at(-1);
  if (top?.tether && top.tether.failed < top.tether.runs) {
    const t = top.tether, s = top.socketio && top.socketio.failed < top.socketio.runs ? top.socketio : null;
    const verdict = (ok) => (ok == null ? "n/a" : ok ? "met" : "NOT met");
    out(`   Targets at ${top.connections} connections (reported, not asserted):`);
    out(`   - <= 8 KB RSS per connection:      ${kb(t.bytes_per_conn)} KB -> ${verdict(t.bytes_per_conn != null ? t.bytes_per_conn <= 8192 : null)}`);
    out(`   - publish -> all received p99 <= 50 ms: ${ms(t.all_p99)} ms (every delivery p99 ${ms(t.p99)} ms) -> ${verdict(t.all_p99 != null ? t.all_p99 <= 50_000 : null)}`);
    if (s) {
      const mem = s.bytes_per_conn / t.bytes_per_conn, lat = s.p99 / t.p99;
      out(`   - >= 5x less memory than Socket.IO: ${ratio(s.bytes_per_conn, t.bytes_per_conn)} -> ${verdict(Number.isFinite(mem) ? mem >= 5 : null)}`);
      out(`   - >= 3x lower p99 than Socket.IO:   ${ratio(s.p99, t.p99)} -> ${verdict(Number.isFinite(lat) ? lat >= 3 : null)}`);
    }
    if (top.connections < 10000) out(`   (the targets name 10k connections; this run's largest size is ${top.connections})`);
  }
  out();
}

// --- client --------------------------------------------------------------------------------------
let client = null;
if (parts.includes("client")) {
  out("2. Client in headless Chromium");
  const file = join(work, "client.json");
  if (existsSync(file)) {
    client = readJson(file);
    out("   playwright-core + /usr/bin/chromium, persistent on-disk profile, real tether-server; a plain-");
    out(`   IndexedDB baseline runs in the same page. Package: ${client.package ?? "?"} (built ${client.package_built ?? "?"}).`);
    for (const row of client.rows ?? []) {
      out(`   ${pad(row.name, 52)} ${lpad(row.value ?? "-", 9)} ${pad(row.unit ?? "", 11)} ${row.note ?? ""}`);
      if (String(row.note ?? "").startsWith("FAILED")) problems.push(`client: ${row.note}`);
    }
  } else {
    out("   not measured: no tether-sync npm package (target/npm/tether-sync, built by");
    out("   pkg-template/build.sh) or the client run failed; see bench/client/README.md.");
  }
  out();
}

// --- catch-up (server side, the load generator's raw protocol client) ----------------------------
let catchup = null;
if (parts.includes("catchup")) {
  out("4. Catch-up and large snapshots, server side (raw protocol client, release server, loopback)");
  const file = join(work, "catchup.json");
  if (existsSync(file)) {
    catchup = readJson(file);
    const mb = (bytes) => (bytes / 1048576).toFixed(1);
    out(`   ${pad(`resume after ${catchup.events} missed events -> last event received`, 60)} ${lpad(catchup.resume_ms?.toFixed(1) ?? "-", 9)} ms   ${catchup.resume_recovered ? "recovered" : "NOT recovered"}; goal <= 500 ms`);
    if (!catchup.resume_recovered) problems.push("catch-up: the resume was not recovered");
    for (const s of catchup.snapshots ?? []) {
      const growth = s.peak_rss_bytes - s.rss_before_bytes;
      out(`   ${pad(`subscribe to ${s.docs} documents -> last page`, 60)} ${lpad(s.subscribe_ms?.toFixed(1) ?? "-", 9)} ms   ${s.docs_received} docs in ${s.pages} pages (largest ${s.largest_message_bytes} B); server RSS ${mb(s.rss_before_bytes)} -> peak ${mb(s.peak_rss_bytes)} MB (+${mb(growth)} MB)`);
      if (s.docs_received !== s.docs) problems.push(`catch-up: snapshot of ${s.docs} delivered ${s.docs_received}`);
    }
  } else {
    out("   not measured: the load generator's catch-up scenario failed (see the log above).");
    problems.push("catch-up: no figures");
  }
  out();
}

// --- cluster (nodes on PostgreSQL + Redis) ---------------------------------------------------------
let cluster = null;
if (parts.includes("cluster")) {
  const read = (tag) => {
    const file = join(work, `cluster-${tag}.json`);
    return existsSync(file) ? readJson(file) : { error: "no result" };
  };
  cluster = {
    fanout: [1, 2, 3].map((n) => ({ count: n, ...read(`fanout-${n}`) })),
    durable: { sqlite: read("durable-sqlite"), postgres: read("durable-postgres") },
    failover: read("failover"),
  };
  const f0 = cluster.fanout.find((r) => !r.error);
  out("5. Cluster: tether-server nodes on one PostgreSQL (fsync on) + Redis, all on this machine's loopback");
  out("   Every process here (up to 3 nodes, PostgreSQL, Redis, the load generator) shares the same 2 cores:");
  out("   more nodes add no CPU, only processes and hops, so these figures show the cost of the cluster's");
  out("   path (commit in PostgreSQL, hint over Redis, read back by the other nodes), not how it scales out.");
  out();
  if (f0) {
    out(`   Fan-out: ${f0.connections} subscribers spread round-robin over the nodes, one publisher on node 1, ` +
      `${f0.rate_per_sec}/s for ${f0.seconds}s;`);
    out("   latency = publish (send) -> receive of every delivery (ms); all-recv = publish -> the last subscriber has it;");
    out("   ack = publish -> the publisher's ack (the commit); per node: node 1 delivers its own commits, nodes 2 and 3");
    out("   learn them by a hint over Redis and read them from PostgreSQL; KB/conn = (node RSS with its idle subscribers");
    out("   - before) / its subscribers.");
  }
  const header = [pad("nodes", 6), lpad("connected", 11), lpad("delivered", 15), lpad("p50", 8), lpad("p99", 8),
    lpad("p99.9", 8), lpad("max", 8), lpad("all-recv p99", 13), lpad("ack p50", 8), pad("  p50 per node", 22),
    pad("p99 per node", 22), pad("KB/conn per node", 21),
    pad("RSS MB per node", 16), lpad("CPU pub", 8), lpad("load", 6)].join(" ");
  out(header);
  out("-".repeat(header.length));
  for (const r of cluster.fanout) {
    if (r.error) {
      out(`${pad(r.count, 6)} FAILED: ${r.error}`);
      problems.push(`cluster fan-out ${r.count} node(s): ${r.error}`);
      continue;
    }
    const per = (f) => (r.nodes ?? []).map(f).join(" / ");
    out([pad(r.count, 6), lpad(`${r.connected}/${r.connections}`, 11),
      lpad(`${r.deliveries}/${r.expected_deliveries}`, 15), lpad(ms(r.latency?.p50_us), 8),
      lpad(ms(r.latency?.p99_us), 8), lpad(ms(r.latency?.p999_us), 8), lpad(ms(r.latency?.max_us), 8),
      lpad(ms(r.all_received?.p99_us), 13), lpad(ms(r.ack?.p50_us), 8),
      pad(`  ${per((n) => ms(n.latency?.p50_us))}`, 22), pad(per((n) => ms(n.latency?.p99_us)), 22),
      pad(per((n) => kb(n.bytes_per_connection)), 21),
      pad(per((n) => (n.rss_idle_bytes / 2 ** 20).toFixed(0)), 16),
      lpad(r.cpu_publish_secs?.toFixed(2) ?? "-", 8),
      lpad(r.load_average ? Math.max(...r.load_average.filter((x) => x != null)).toFixed(1) : "-", 6)].join(" "));
    if (r.publisher_error) out(`${" ".repeat(7)}publisher: ${r.publisher_error}`);
    if (!(r.deliveries > 0)) problems.push(`cluster fan-out ${r.count} node(s): no delivery`);
  }
  out();
  const { sqlite, postgres } = cluster.durable;
  const d0 = [sqlite, postgres].find((r) => !r.error);
  if (d0) {
    out(`   Durable mutations: ${d0.writers} connections x ${d0.in_flight} puts in flight (4 channels) for ${d0.seconds}s, ` +
      `acks/s; then ${d0.drain} puts pipelined on one connection`);
    out("   (frames of 50, as an outbox flushed after a reconnect) -> the last ack. An ack follows the commit (SQLite");
    out("   synchronous=FULL, the default build; PostgreSQL fsync on, one node of the cluster build with Redis).");
  }
  const dh = [pad("store", 20), lpad("mutations/s", 12), lpad("ack p50", 9), lpad("ack p99", 9),
    lpad("drain ms", 10), lpad("drain/s", 9), lpad("CPU s", 7), lpad("load", 6)].join(" ");
  out(dh);
  out("-".repeat(dh.length));
  for (const [name, r] of [["SQLite", sqlite], ["PostgreSQL", postgres]]) {
    if (r.error) {
      out(`${pad(name, 20)} FAILED: ${r.error}`);
      problems.push(`cluster durable ${name}: ${r.error}`);
      continue;
    }
    out([pad(name, 20), lpad(r.mutations_per_sec.toFixed(0), 12), lpad(ms(r.ack?.p50_us), 9),
      lpad(ms(r.ack?.p99_us), 9), lpad(r.drain_ms.toFixed(0), 10),
      lpad((r.drain / (r.drain_ms / 1000)).toFixed(0), 9), lpad(r.cpu_secs.toFixed(2), 7),
      lpad(r.load_average ? Math.max(...r.load_average.filter((x) => x != null)).toFixed(1) : "-", 6)].join(" "));
    for (const e of r.writer_errors ?? []) out(`${" ".repeat(21)}writer: ${e}`);
    if (!(r.mutations_per_sec > 0)) problems.push(`cluster durable ${name}: no mutation acknowledged`);
  }
  if (!sqlite.error && !postgres.error) {
    // Two decimals below 1 (PostgreSQL's share of SQLite's rate).
    const rel = (a, b) => (a == null || b == null || b <= 0 ? "-" : `${(a / b).toFixed(a / b < 1 ? 2 : 1)}x`);
    out([pad("PostgreSQL/SQLite", 20), lpad(rel(postgres.mutations_per_sec, sqlite.mutations_per_sec), 12),
      lpad(rel(postgres.ack?.p50_us, sqlite.ack?.p50_us), 9), lpad(rel(postgres.ack?.p99_us, sqlite.ack?.p99_us), 9),
      lpad(rel(postgres.drain_ms, sqlite.drain_ms), 10)].join(" "));
  }
  out();
  const fo = cluster.failover;
  if (fo.error) {
    out(`   Failover: FAILED: ${fo.error}`);
    problems.push(`cluster failover: ${fo.error}`);
  } else {
    const t = fo.time_to_current;
    out(`   Failover: ${fo.subscribed}/${fo.clients} clients subscribed on node 2 of ${fo.nodes}, a writer on node 1 at ${fo.rate_per_sec}/s, node 2 SIGKILLed;`);
    out("   each client reconnects as the SDK does (its backoff: full jitter 0-500 ms first; next endpoint of its list) and");
    out("   resubscribes since its cursor; current = `recovered`, replay ended, cursor >= the head acknowledged at the kill.");
    out(`   current again: ${fo.current}/${fo.subscribed} (recovered ${fo.recovered}, reset ${fo.reset}); ` +
      `kill -> current p50 ${ms(t?.p50_us)} ms, p99 ${ms(t?.p99_us)} ms, all ${ms(t?.max_us)} ms; ` +
      `goal all <= 2000 ms for 1,000 clients -> ${t == null ? "n/a" : t.max_us <= 2_000_000 && fo.current === fo.subscribed ? "met" : "NOT met"}` +
      (fo.clients === 1000 ? "" : ` (this run: ${fo.clients} clients)`));
    out(`   of which: drop seen p50 ${ms(fo.detect?.p50_us)} / max ${ms(fo.detect?.max_us)} ms; backoff waited p50 ${ms(fo.backoff?.p50_us)} / ` +
      `p99 ${ms(fo.backoff?.p99_us)} ms; attempts mean ${fo.attempts_mean.toFixed(2)}, max ${fo.attempts_max}; ` +
      `ended on node 1 / 2 / 3: ${fo.clients_per_node.join(" / ")}`);
    out(`   nothing missing, nothing twice: ${fo.final_consistent}/${fo.subscribed} reached the final head ${fo.final_head} ` +
      `(head at the kill ${fo.head_at_kill}); duplicates ${fo.duplicates}, gaps ${fo.gaps}` +
      (fo.writer_error ? `; writer: ${fo.writer_error}` : ""));
    if (!(fo.current > 0)) problems.push("cluster failover: no client current again");
  }
  out();
}

// --- bundle --------------------------------------------------------------------------------------
let bundle = null;
if (parts.includes("bundle")) {
  out("3. Bundle size (bytes; esbuild --bundle --minify --format=esm, React external; gzip -9; brotli q11)");
  const file = join(work, "bundle.json");
  if (existsSync(file)) {
    bundle = readJson(file);
    const tether = bundle.libraries.find((l) => l.name === "tether-sync");
    out(`   esbuild ${bundle.tool.esbuild}; Tether from ${tether?.source}`);
    out();
    const header = [pad("library", 44), lpad("raw", 10), lpad("gzip", 10), lpad("brotli", 10), lpad("Tether gzip / this", 19)].join(" ");
    out(header);
    out("-".repeat(header.length));
    for (const lib of bundle.libraries) {
      const name = lib.name === "tether-sync" ? "tether-sync (wasm + js, total)" : `${lib.name}@${lib.version}`;
      out([pad(name, 44), lpad(lib.raw, 10), lpad(lib.gzip, 10), lpad(lib.brotli, 10),
        lpad(lib === tether ? "" : ratio(tether.gzip, lib.gzip), 19)].join(" "));
      for (const part of lib.parts ?? []) {
        out([pad(`  ${part.name}`, 44), lpad(part.raw, 10), lpad(part.gzip, 10), lpad(part.brotli, 10)].join(" "));
      }
      if (!(lib.gzip > 0)) problems.push(`bundle ${lib.name}: no size`);
    }
    out();
    if (tether) {
      const replicache = bundle.libraries.find((l) => l.name === "replicache");
      out(`   Target (issue #13): Tether <= 60 KB gzip (must), below Replicache (aim): ${kb(tether.gzip)} KB -> must ` +
        `${tether.gzip <= 60 * 1024 ? "met" : "NOT met"}, aim ${replicache && tether.gzip < replicache.gzip ? "met" : "NOT met"}` +
        `; the wasm is ${Math.round((100 * tether.parts[1].gzip) / tether.gzip)}% of it.`);
    }
    const breakdownFile = join(work, "wasm-breakdown.json");
    if (existsSync(breakdownFile)) {
      const b = readJson(breakdownFile);
      bundle.wasm_breakdown = b;
      out("   What the wasm is made of (twiggy, release build before wasm-bindgen/wasm-opt, by crate;");
      out(`   generic code is counted in the crate that defines it, e.g. BTreeMap<_, _> in alloc):`);
      for (const c of b.crates.slice(0, 14)) {
        const largest = c.largest.name.replace(/\[[0-9a-f]{16}\]/g, "");
        out(`     ${pad(c.crate, 26)} ${lpad((100 * c.share).toFixed(1), 5)}%  ${lpad(c.items, 5)} items  largest: ${largest.slice(0, 64)}`);
      }
    }
  } else {
    out("   not measured (the bundle step did not produce results)");
    problems.push("bundle: no results");
  }
  out();
}

// --- checks and output -----------------------------------------------------------------------------
if (parts.includes("fanout")) {
  if (fanoutRuns.length === 0) problems.push("fan-out: no results");
  for (const r of fanoutRuns) {
    if (r.error) continue; // already listed
    const tag = `fan-out ${r.peer} n=${r.connections}`;
    if (!(r.connected > 0)) problems.push(`${tag}: no connection subscribed`);
    if (!(r.deliveries > 0) || r.latency?.p50_us == null) problems.push(`${tag}: no delivery latency measured`);
    if (typeof r.bytes_per_connection !== "number" || !Number.isFinite(r.bytes_per_connection)) {
      problems.push(`${tag}: no memory figure`);
    }
    if (!(r.rss_idle_bytes > 0)) problems.push(`${tag}: no RSS reading`);
  }
}

const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const base = join(resultsDir, `bench-${smoke ? "smoke-" : ""}${stamp}`);
const text = lines.join("\n") + "\n";
writeFileSync(`${base}.json`, JSON.stringify({
  generated: new Date().toISOString(),
  smoke,
  git: process.env.BENCH_GIT_REV ?? null,
  machine: { cores: cpus().length, memory_bytes: totalmem(), node: process.version },
  fanout: { summary: fanoutSummary, runs: fanoutRuns },
  client,
  catchup,
  cluster,
  bundle,
  problems,
}, null, 2) + "\n");
writeFileSync(`${base}.txt`, text);
process.stdout.write(text);
console.log(`results: ${base}.json`);
if (problems.length) {
  for (const p of problems) console.error(`bench: ${p}`);
  process.exit(1);
}
