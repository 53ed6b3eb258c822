#!/usr/bin/env node
// Prints a server's events as they happen, like `tail -f`: the history after --after (default 0),
// then live events. Reconnects after the last seq it printed when the connection drops; Ctrl-C ends it.
//
//   node examples/cli-tail/tail.mjs --server http://127.0.0.1:8080 --kinds 'chat.*'
import { parseArgs } from "node:util";
import { EventError, isRetryable, json } from "toka-events";
import { createRemoteStore, createWebTransport } from "toka-events/adapters/connect/client";

const usage = `usage: node examples/cli-tail/tail.mjs [--server http://127.0.0.1:8080] [--kinds chat.*[,todo.*]] [--after 0]

  --server  the event store (default http://127.0.0.1:8080)
  --kinds   kind patterns, comma-separated or repeated (default: every kind)
  --after   start after this seq (default 0: the whole history)

Prints one line per event: seq, kind, id, and the payload as JSON when it is JSON, else its size.`;

let args;
try {
  args = parseArgs({
    options: {
      server: { type: "string", default: "http://127.0.0.1:8080" },
      kinds: { type: "string", multiple: true, default: [] },
      after: { type: "string", default: "0" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  }).values;
} catch (err) {
  console.error(`${err.message}\n\n${usage}`);
  process.exit(2);
}
if (args.help) {
  console.log(usage);
  process.exit(0);
}
const kinds = args.kinds.flatMap((k) => k.split(",")).map((k) => k.trim()).filter(Boolean);
let after = Number(args.after);
if (!Number.isSafeInteger(after) || after < 0) {
  console.error(`--after must be a non-negative integer, got ${args.after}`);
  process.exit(2);
}

/** `JSON` when the payload decodes as JSON, else its size: events are opaque bytes. */
function show(payload) {
  try {
    return JSON.stringify(json.decode(payload));
  } catch {
    return `<${payload.length} bytes>`;
  }
}

const stop = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => stop.abort());
const store = createRemoteStore({ transport: createWebTransport({ baseUrl: args.server }) });
const status = (line) => process.stderr.write(`${line}\n`); // stdout carries only events: pipe it

status(`tailing ${args.server} (${kinds.length ? kinds.join(", ") : "every kind"}) after seq ${after}; Ctrl-C to stop`);
for (let attempt = 0; !stop.signal.aborted; ) {
  let reason;
  try {
    for await (const m of store.subscribe({ kinds, after, signal: stop.signal })) {
      attempt = 0;
      if (m.type === "event") {
        const { seq, header, payload } = m.event;
        process.stdout.write(`${String(seq).padStart(6)}  ${header.kind}  ${header.id}  ${show(payload)}\n`);
        after = seq;
      } else if (m.type === "caught-up") {
        status(`-- caught up at seq ${m.seq}; waiting for new events --`);
      }
    }
    reason = "the stream ended";
  } catch (err) {
    if (stop.signal.aborted) break;
    const e = EventError.from(err);
    if (!isRetryable(e)) {
      status(`error: ${e.code}: ${e.message}`);
      process.exitCode = 1;
      break;
    }
    reason = `${e.code}: ${e.message}`;
  }
  if (stop.signal.aborted) break;
  const delay = Math.min(30_000, 500 * 2 ** attempt++);
  status(`-- ${reason}; reconnecting after seq ${after} in ${(delay / 1000).toFixed(1)} s --`);
  await new Promise((resolve) => {
    const t = setTimeout(resolve, delay);
    stop.signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
}
await store.close();
