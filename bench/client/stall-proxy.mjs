// A loopback TCP proxy in front of tether-server that can stall the server -> client direction
// (as a network stall would) and then release everything it held at once, duplicating some
// `event` messages on the way: the ingest benchmark's burst. The client -> server direction is
// never held. Server frames are unmasked WebSocket frames (RFC 6455 section 5.2); held ones are
// split into messages and framed again on release the way the server frames them (joined with
// `\n` while the frame is shorter than 64 KiB when the connection selected `tether-lines`,
// else one per frame). The HTTP
// upgrade response passes through untouched.
import { connect, createServer } from "node:net";

/** Splits complete frames off `buf`; returns [frames, rest]. */
function splitFrames(buf) {
  const frames = [];
  let at = 0;
  while (buf.length - at >= 2) {
    const b1 = buf[at + 1];
    let len = b1 & 0x7f;
    let head = 2;
    if (len === 126) {
      if (buf.length - at < 4) break;
      len = buf.readUInt16BE(at + 2);
      head = 4;
    } else if (len === 127) {
      if (buf.length - at < 10) break;
      len = Number(buf.readBigUInt64BE(at + 2));
      head = 10;
    }
    if (b1 & 0x80) head += 4; // masked (never from a server, handled anyway)
    if (buf.length - at < head + len) break;
    frames.push(buf.subarray(at, at + head + len));
    at += head + len;
  }
  return [frames, buf.subarray(at)];
}

const JOIN_LIMIT = 64 * 1024;
const isEvent = (message) => message.startsWith('{"type":"event"');

/** An unmasked, final text frame holding `text`. */
function textFrame(text) {
  const payload = Buffer.from(text, "utf8");
  let head;
  if (payload.length < 126) {
    head = Buffer.from([0x81, payload.length]);
  } else if (payload.length < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x81;
    head[1] = 126;
    head.writeUInt16BE(payload.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x81;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  return Buffer.concat([head, payload]);
}

/** The text of a single-frame text message, or null. */
function textOf(frame) {
  if (frame[0] !== 0x81 || frame[1] & 0x80) return null; // FIN + text, unmasked
  const len = frame[1] & 0x7f;
  const head = len === 126 ? 4 : len === 127 ? 10 : 2;
  return frame.subarray(head).toString("utf8");
}

/**
 * Starts the proxy on a free loopback port, forwarding to `targetPort`. `hold()` stalls the
 * server -> client direction of every connection; `release({ duplicateEvery })` writes what was
 * held in one write per connection, each `duplicateEvery`-th event frame twice.
 */
export async function startStallProxy(targetPort) {
  const links = new Set();
  let holding = false;
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const link = { client, upgraded: false, lines: false, pending: Buffer.alloc(0), held: [] };
    links.add(link);
    client.pipe(upstream);
    upstream.on("data", (chunk) => {
      let data = Buffer.concat([link.pending, chunk]);
      if (!link.upgraded) {
        const end = data.indexOf("\r\n\r\n");
        if (end < 0) {
          link.pending = data;
          return;
        }
        const head = data.subarray(0, end + 4).toString("latin1");
        link.lines = /^sec-websocket-protocol:\s*tether-lines\s*$/im.test(head);
        client.write(data.subarray(0, end + 4));
        link.upgraded = true;
        data = data.subarray(end + 4);
      }
      const [frames, rest] = splitFrames(data);
      link.pending = Buffer.from(rest);
      if (holding) link.held.push(...frames);
      else if (frames.length) client.write(Buffer.concat(frames));
    });
    const end = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: server.address().port,
    hold() {
      holding = true;
    },
    /** Event messages held so far (over all connections). */
    heldEvents() {
      let n = 0;
      for (const link of links) {
        for (const f of link.held) {
          for (const m of (textOf(f) ?? "").split("\n")) if (isEvent(m)) n += 1;
        }
      }
      return n;
    },
    /** Writes everything held, in one write per connection; returns the messages as delivered
     * (`frames`: how many WebSocket frames carried them). */
    release({ duplicateEvery = 0 } = {}) {
      holding = false;
      const messages = [];
      let frames = 0;
      for (const link of links) {
        const out = [];
        let events = 0;
        let joined = [];
        let joinedBytes = 0;
        const flush = () => {
          if (joined.length) out.push(textFrame(joined.join("\n")));
          frames += joined.length ? 1 : 0;
          joined = [];
          joinedBytes = 0;
        };
        const push = (m) => {
          messages.push(m);
          if (!link.lines) {
            out.push(textFrame(m));
            frames += 1;
            return;
          }
          // As the server joins (crates/server/src/edge/socket.rs): messages are appended
          // while the frame is shorter than 64 KiB, so a frame with more behind it ends at
          // 64 KiB or beyond, which tells the client that the burst continues.
          if (joined.length && joinedBytes >= JOIN_LIMIT) flush();
          joinedBytes += (joined.length ? 1 : 0) + Buffer.byteLength(m);
          joined.push(m);
        };
        for (const f of link.held) {
          const text = textOf(f);
          if (text === null) {
            flush();
            out.push(f); // a control frame or a fragment: as it came
            frames += 1;
            continue;
          }
          for (const m of text.split("\n")) {
            if (!m) continue;
            push(m);
            if (isEvent(m)) {
              events += 1;
              if (duplicateEvery > 0 && events % duplicateEvery === 0) push(m);
            }
          }
        }
        flush();
        link.held = [];
        if (out.length) link.client.write(Buffer.concat(out));
      }
      return { messages, frames };
    },
    close() {
      for (const link of links) {
        link.client.destroy();
      }
      server.close();
    },
  };
}

/**
 * A loopback WebSocket server that replays `messages` (texts) to each connection, joined with
 * `\n` up to 64 KiB per frame as the proxy releases them (selecting `tether-lines` when
 * offered), in one write, once the client sent its first frame: the burst without Tether on
 * the receiving side, for the "plain JS over a WebSocket" baseline.
 */
export async function startReplayServer(messages) {
  const { createServer: createHttpServer } = await import("node:http");
  const { createHash } = await import("node:crypto");
  const frames = [];
  let joined = [];
  let bytes = 0;
  for (const m of messages) {
    if (joined.length && bytes >= JOIN_LIMIT) {
      frames.push(textFrame(joined.join("\n")));
      joined = [];
      bytes = 0;
    }
    bytes += (joined.length ? 1 : 0) + Buffer.byteLength(m);
    joined.push(m);
  }
  if (joined.length) frames.push(textFrame(joined.join("\n")));
  const burst = Buffer.concat(frames);
  const server = createHttpServer((_, res) => {
    res.statusCode = 426;
    res.end();
  });
  server.on("upgrade", (req, socket) => {
    const accept = createHash("sha1")
      .update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest("base64");
    const lines = /(^|,)\s*tether-lines\s*(,|$)/.test(req.headers["sec-websocket-protocol"] ?? "");
    socket.setNoDelay(true);
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n` +
        (lines ? "Sec-WebSocket-Protocol: tether-lines\r\n" : "") +
        "\r\n",
    );
    socket.once("data", () => socket.write(burst));
    socket.on("error", () => socket.destroy());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: server.address().port,
    frames: frames.length,
    close() {
      server.closeAllConnections?.();
      server.close();
    },
  };
}
