// A loopback TCP proxy in front of tether-server that can stall the server -> client direction
// (as a network stall would) and then release everything it held at once, duplicating some
// `event` frames on the way: the ingest benchmark's burst. The client -> server direction is
// never held. Server frames are unmasked WebSocket frames (RFC 6455 section 5.2), parsed only
// to find message boundaries; the HTTP upgrade response passes through untouched.
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
    const link = { client, upgraded: false, pending: Buffer.alloc(0), held: [] };
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
    /** Event frames held so far (over all connections). */
    heldEvents() {
      let n = 0;
      for (const link of links) {
        for (const f of link.held) if (textOf(f)?.includes('"type":"event"')) n += 1;
      }
      return n;
    },
    /** Writes everything held; returns the texts of the frames as delivered. */
    release({ duplicateEvery = 0 } = {}) {
      holding = false;
      const delivered = [];
      for (const link of links) {
        const out = [];
        let events = 0;
        for (const f of link.held) {
          out.push(f);
          const text = textOf(f);
          delivered.push(text);
          if (text?.includes('"type":"event"')) {
            events += 1;
            if (duplicateEvery > 0 && events % duplicateEvery === 0) {
              out.push(f);
              delivered.push(text);
            }
          }
        }
        link.held = [];
        if (out.length) link.client.write(Buffer.concat(out));
      }
      return delivered;
    },
    close() {
      for (const link of links) {
        link.client.destroy();
      }
      server.close();
    },
  };
}
