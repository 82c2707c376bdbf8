// The Socket.IO 4 peer of the fan-out benchmark: the equivalent of tether-server's channel
// fan-out as a Socket.IO room broadcast. A client emits "subscribe" (joins the room, acked);
// the publisher emits "mutate" with a document; the server gives it a version and an offset,
// broadcasts one "event" to the room (encoded once for all members, as tether-server does) and
// acks the publisher. Nothing is stored: Socket.IO has no durable log (tether-server commits
// each mutation to SQLite before it fans out and acks).
//
// usage: node socketio-server.mjs [--port 0]   (loopback only; prints the address it listens on)
import { createServer } from "node:http";
import { Server } from "socket.io";

const portArg = process.argv.indexOf("--port");
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 0;

const http = createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
    return;
  }
  res.writeHead(404);
  res.end();
});

const io = new Server(http, {
  transports: ["websocket"],
  serveClient: false,
  // Same frame limit as tether-server's default (256 KiB).
  maxHttpBufferSize: 256 * 1024,
});

const channels = new Map(); // channel -> { offset, versions: Map<id, version> }

function channelState(name) {
  let state = channels.get(name);
  if (!state) {
    state = { offset: 0, versions: new Map() };
    channels.set(name, state);
  }
  return state;
}

io.on("connection", (socket) => {
  socket.on("subscribe", (channel, ack) => {
    if (typeof channel !== "string") return;
    socket.join(channel);
    if (typeof ack === "function") ack({ channel, offset: channelState(channel).offset });
  });
  socket.on("mutate", (m, ack) => {
    if (!m || typeof m.channel !== "string" || typeof m.id !== "string") return;
    const state = channelState(m.channel);
    state.offset += 1;
    const version = (state.versions.get(m.id) ?? 0) + 1;
    state.versions.set(m.id, version);
    io.to(m.channel).emit("event", {
      channel: m.channel,
      offset: state.offset,
      prev: state.offset - 1,
      op: "upsert",
      id: m.id,
      version,
      doc: m.doc,
      origin: { client_id: socket.id, mutation_id: m.mutation_id },
    });
    if (typeof ack === "function") {
      ack({ mutation_id: m.mutation_id, version, offset: state.offset });
    }
  });
});

http.listen(port, "127.0.0.1", () => {
  const { address, port: bound } = http.address();
  console.log(`socketio-peer listening on http://${address}:${bound}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    io.close();
    process.exit(0);
  });
}
