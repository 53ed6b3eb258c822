// Bad input on the wire against a real Node server (HTTP/1.1 and h2c on one port), sent as raw
// bytes so nothing on the client side can clean it up first: every request must end in a Connect
// error with the right code and a clear message, store nothing, and leave the server serving.
import * as http2 from "node:http2";
import * as net from "node:net";
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Event, isUuid, uuidv7 } from "../../core/index.js";
import { makeEvent, makeEvents } from "../_contract/index.js";
import { eventToProto } from "./convert.js";
import type { EventHeaderSchema, EventSchema } from "./gen/toka/events/v1/event_pb.js";
import {
  CommitRequestSchema,
  GetHeaderRequestSchema,
  GetPayloadRequestSchema,
  ReadRequestSchema,
  SubscribeRequestSchema,
} from "./gen/toka/events/v1/event_store_pb.js";
import { startTestServer, type TestServer } from "./test-servers.js";

const LIMITS = { maxPayloadBytes: 1024, maxBatchEvents: 8, maxRequestBytes: 64 * 1024 };
const SERVICE = "/toka.events.v1.EventStoreService/";
/** A guard against a hung request; every answer here is expected within milliseconds. */
const GUARD_MS = 5000;

type Protocol = "connect" | "grpc-web" | "grpc";
const PROTOCOLS: Protocol[] = ["connect", "grpc-web", "grpc"];
type Method = "Commit" | "Read" | "Subscribe" | "GetHeader" | "GetPayload" | "Head";

/** What came back, normalized across protocols: the HTTP status and the Connect/gRPC status. */
interface Answer {
  protocol: Protocol;
  /** HTTP status (0 when the stream was reset before any response). */
  status: number;
  /** Connect code name (`invalid_argument`, …), `ok`, or undefined when the answer had none. */
  code: string | undefined;
  message: string;
  /** HTTP/2 RST_STREAM code when the stream was reset. */
  rstCode?: number;
}

const GRPC_CODES = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
];

let ts: TestServer;
let url: string;
/** A stored event, to name as a parent. */
let parent: Event;

beforeAll(async () => {
  ts = await startTestServer("connect-http1", { limits: LIMITS });
  url = ts.url!;
  parent = makeEvent({ kind: "chat.msg" });
  await ts.remote.commit([parent]);
});

afterAll(async () => {
  await ts.close();
});

// ---------------------------------------------------------------------------------------------
// Raw requests.

/** A length-prefixed message (gRPC, gRPC-web, Connect streaming), optionally lying about its length. */
function envelope(data: Uint8Array, declared = data.length, flags = 0): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, declared);
  out.set(data, 5);
  return out;
}

function parseEnvelopes(buf: Uint8Array): { flags: number; data: Uint8Array }[] {
  const out: { flags: number; data: Uint8Array }[] = [];
  let i = 0;
  while (i + 5 <= buf.length) {
    const len = new DataView(buf.buffer, buf.byteOffset + i + 1, 4).getUint32(0);
    out.push({ flags: buf[i]!, data: buf.subarray(i + 5, i + 5 + len) });
    i += 5 + len;
  }
  return out;
}

function grpcAnswer(protocol: Protocol, status: number, get: (k: string) => string | null | undefined): Answer {
  const s = get("grpc-status");
  const code = s == null ? undefined : (GRPC_CODES[Number(s)] ?? `grpc-${s}`);
  const m = get("grpc-message");
  return { protocol, status, code, message: m ? decodeURIComponent(m) : "" };
}

function withGuard<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${GUARD_MS} ms for ${what}`)), GUARD_MS);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** A Connect unary call with a raw body and content type. */
async function connectUnary(method: Method, body: Uint8Array | string, contentType = "application/proto"): Promise<Answer> {
  const res = await withGuard(
    fetch(url + SERVICE + method, {
      method: "POST",
      headers: { "content-type": contentType, "connect-protocol-version": "1" },
      body: body as BodyInit,
    }),
    `Connect ${method}`,
  );
  const text = await res.text();
  if (res.status === 200) return { protocol: "connect", status: 200, code: "ok", message: "" };
  let json: { code?: string; message?: string } = {};
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    // Not a Connect error body (e.g. 415 has none).
  }
  return { protocol: "connect", status: res.status, code: json.code, message: json.message ?? "" };
}

/** A Connect streaming call (Subscribe): the error is in the end-stream message. */
async function connectStream(method: Method, body: Uint8Array, contentType = "application/connect+proto"): Promise<Answer> {
  const res = await withGuard(
    fetch(url + SERVICE + method, {
      method: "POST",
      headers: { "content-type": contentType, "connect-protocol-version": "1" },
      body: body as BodyInit,
    }),
    `Connect stream ${method}`,
  );
  const buf = new Uint8Array(await withGuard(res.arrayBuffer(), `Connect stream ${method} body`));
  if (res.status !== 200) return { protocol: "connect", status: res.status, code: undefined, message: "" };
  const end = parseEnvelopes(buf).find((e) => (e.flags & 0b10) !== 0);
  if (!end) return { protocol: "connect", status: 200, code: undefined, message: "no end-stream message" };
  const json = JSON.parse(new TextDecoder().decode(end.data)) as { error?: { code: string; message?: string } };
  return { protocol: "connect", status: 200, code: json.error?.code ?? "ok", message: json.error?.message ?? "" };
}

/** A gRPC-web call over HTTP/1.1: the status is in the headers (trailers-only) or the trailer frame. */
async function grpcWeb(method: Method, body: Uint8Array, contentType = "application/grpc-web+proto"): Promise<Answer> {
  const res = await withGuard(
    fetch(url + SERVICE + method, { method: "POST", headers: { "content-type": contentType, "x-grpc-web": "1" }, body: body as BodyInit }),
    `gRPC-web ${method}`,
  );
  const buf = new Uint8Array(await withGuard(res.arrayBuffer(), `gRPC-web ${method} body`));
  if (res.headers.get("grpc-status") !== null) return grpcAnswer("grpc-web", res.status, (k) => res.headers.get(k));
  const trailer = parseEnvelopes(buf).find((e) => (e.flags & 0x80) !== 0);
  const fields = new Map<string, string>();
  if (trailer) {
    for (const line of new TextDecoder().decode(trailer.data).split("\r\n")) {
      const i = line.indexOf(":");
      if (i > 0) fields.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
  }
  return grpcAnswer("grpc-web", res.status, (k) => fields.get(k));
}

/** A gRPC call over h2c with node:http2: the status is in the trailers (or trailers-only headers). */
function grpc(method: Method, body: Uint8Array, headers: http2.OutgoingHttpHeaders = {}): Promise<Answer> {
  return withGuard(
    new Promise<Answer>((resolve, reject) => {
      const session = http2.connect(url);
      session.on("error", reject);
      const req = session.request({
        ":method": "POST",
        ":path": SERVICE + method,
        "content-type": "application/grpc",
        te: "trailers",
        ...headers,
      });
      let status = 0;
      const fields = new Map<string, string>();
      const take = (h: http2.IncomingHttpHeaders) => {
        for (const [k, v] of Object.entries(h)) if (typeof v === "string") fields.set(k, v);
      };
      req.on("response", (h) => {
        status = Number(h[":status"]);
        take(h);
      });
      req.on("trailers", take);
      req.on("data", () => {});
      req.on("error", () => {}); // a reset is reported by rstCode below
      req.on("close", () => {
        const a = grpcAnswer("grpc", status, (k) => fields.get(k));
        if (req.rstCode) a.rstCode = req.rstCode;
        session.close();
        resolve(a);
      });
      req.end(body);
    }),
    `gRPC ${method}`,
  );
}

/** Sends one encoded request message with `protocol`, enveloped as that protocol wants. */
function call(protocol: Protocol, method: Method, message: Uint8Array): Promise<Answer> {
  const stream = method === "Subscribe";
  if (protocol === "connect") return stream ? connectStream(method, envelope(message)) : connectUnary(method, message);
  if (protocol === "grpc-web") return grpcWeb(method, envelope(message));
  return grpc(method, envelope(message));
}

// ---------------------------------------------------------------------------------------------
// Messages.

type EventInit = MessageInitShape<typeof EventSchema>;
type HeaderInit = MessageInitShape<typeof EventHeaderSchema>;

/** An event's protobuf form with some header fields replaced (digest not recomputed). */
function protoEvent(e: Event, header: HeaderInit = {}, payload?: Uint8Array): EventInit {
  const p = eventToProto(e);
  return { header: { ...(p.header as HeaderInit), ...header } as HeaderInit, payload: payload ?? p.payload };
}

function commitBytes(events: (Event | EventInit)[]): Uint8Array {
  const init = events.map((e) => (isCoreEvent(e) ? eventToProto(e) : e));
  return toBinary(CommitRequestSchema, create(CommitRequestSchema, { events: init }));
}

/** Core events have number timestamps; their protobuf forms have bigints. */
function isCoreEvent(e: Event | EventInit): e is Event {
  return typeof (e.header as { timestamp?: unknown } | undefined)?.timestamp === "number";
}

const readBytes = (init: MessageInitShape<typeof ReadRequestSchema>) => toBinary(ReadRequestSchema, create(ReadRequestSchema, init));
const subscribeBytes = (init: MessageInitShape<typeof SubscribeRequestSchema>) =>
  toBinary(SubscribeRequestSchema, create(SubscribeRequestSchema, init));

function flipped(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out[0]! ^= 0xff;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Assertions.

/** The answer is an error with `code`, and its message mentions every one of `mentions`. */
function expectError(a: Answer, code: string, ...mentions: (string | RegExp)[]): void {
  const shown = `${a.protocol}: HTTP ${a.status}, code ${String(a.code)}, message ${JSON.stringify(a.message)}`;
  expect(a.code, shown).toBe(code);
  if (a.protocol === "connect" && a.status !== 200) {
    // Connect unary errors carry the code in the HTTP status as well.
    const http: Record<string, number> = {
      invalid_argument: 400,
      failed_precondition: 400,
      already_exists: 409,
      resource_exhausted: 429,
      permission_denied: 403,
      unauthenticated: 401,
      internal: 500,
    };
    expect(a.status, shown).toBe(http[code]);
  } else {
    expect(a.status, shown).toBe(200);
  }
  for (const m of mentions) {
    if (typeof m === "string") expect(a.message, shown).toContain(m);
    else expect(a.message, shown).toMatch(m);
  }
}

/**
 * Nothing was stored (head is still `before`, no rejected id is known), no stream is left open,
 * and the server still serves: a good commit through a remote store gets the next seq.
 */
async function expectIntact(before: number, rejected: string[] = []): Promise<void> {
  expect(await ts.store.head()).toBe(before);
  for (const id of rejected) if (isUuid(id)) expect(await ts.store.header(id), `rejected ${id} was stored`).toBeUndefined();
  expect(ts.handler.subscriptions).toBe(0);
  const next = makeEvent();
  expect(await ts.remote.commit([next])).toEqual([{ id: next.header.id, seq: before + 1, status: "stored" }]);
}

// ---------------------------------------------------------------------------------------------

describe("undecodable requests", () => {
  const garbage: [string, Uint8Array][] = [
    ["random bytes", new Uint8Array([0xff, 0xff, 0xff, 0x13, 0x37])],
    ["a field with the wrong wire type", new Uint8Array([0x08, 0x01])],
    ["a message cut off in the middle", (() => {
      const good = commitBytes([makeEvent()]);
      return good.subarray(0, good.length - 10);
    })()],
    ["a string that is not UTF-8", new Uint8Array([0x0a, 0x07, 0x0a, 0x05, 0x0a, 0x03, 0xff, 0xfe, 0xfd])],
  ];

  it("get an error on every protocol, store nothing, and leave the server serving", async () => {
    for (const [, bytes] of garbage) {
      for (const protocol of PROTOCOLS) {
        const before = await ts.store.head();
        const a = await call(protocol, "Commit", bytes);
        expect(a.code, `${protocol}: ${JSON.stringify(a)}`).toBeDefined();
        expect(a.code).not.toBe("ok");
        expect(a.message).not.toBe("");
        await expectIntact(before);
      }
    }
  });

  // docs/protocol.md: "undecodable request bytes" are invalid_argument. connect-es maps binary
  // parse failures to internal (HTTP 500), which reads as the server's fault.
  // connect-es reports a protobuf body it cannot parse as `internal` ("parse binary: …") on
  // every protocol, before any of our code runs; docs/protocol.md says so.
  it("are internal with a parse message, as connect-es reports them (docs/protocol.md)", async () => {
    const got: string[] = [];
    const want: string[] = [];
    for (const [name, bytes] of garbage) {
      for (const protocol of PROTOCOLS) {
        const a = await call(protocol, "Commit", bytes);
        got.push(`${name} over ${protocol}: ${String(a.code)} ${/parse binary/.test(String(a.message))}`);
        want.push(`${name} over ${protocol}: internal true`);
      }
    }
    expect(got).toEqual(want);
  });

  it("invalid JSON with application/json is invalid_argument", async () => {
    const before = await ts.store.head();
    expectError(await connectUnary("Commit", "{not json", "application/json"), "invalid_argument", "JSON");
    expectError(
      await connectUnary("Commit", '{"events":[{"header":{"timestamp":"abc"}}]}', "application/json"),
      "invalid_argument",
      "timestamp",
    );
    expectError(await connectUnary("Read", '{"after":-1}', "application/json"), "invalid_argument");
    expectError(await connectStream("Subscribe", envelope(new TextEncoder().encode("{nope")), "application/connect+json"), "invalid_argument", "JSON");
    await expectIntact(before);
  });

  it("a content type the server does not speak gets 415 Unsupported Media Type", async () => {
    const before = await ts.store.head();
    const body = commitBytes([makeEvent()]);
    for (const ct of ["text/plain", "application/x-www-form-urlencoded", "application/protobuf+garbage"]) {
      const a = await connectUnary("Commit", body, ct);
      expect(a.status, ct).toBe(415);
    }
    // A unary content type on the streaming method, and a streaming one on a unary method.
    expect((await connectStream("Subscribe", subscribeBytes({}), "application/proto")).status).toBe(415);
    expect((await connectUnary("Commit", envelope(body), "application/connect+proto")).status).toBe(415);
    expect((await grpcWeb("Commit", envelope(body), "text/plain")).status).toBe(415);
    expect((await grpc("Commit", envelope(body), { "content-type": "text/plain" })).status).toBe(415);
    await expectIntact(before);
  });

  it.each(PROTOCOLS)("an envelope that declares more bytes than it carries is invalid_argument over %s", async (protocol) => {
    const before = await ts.store.head();
    const e = makeEvent();
    const msg = commitBytes([e]);
    const short = envelope(msg, msg.length + 100);
    if (protocol === "connect") {
      // Connect unary has no envelope: the streaming method has.
      expectError(await connectStream("Subscribe", envelope(subscribeBytes({ after: 1n }), 500)), "invalid_argument", "incomplete envelope");
      expectError(await connectStream("Subscribe", new Uint8Array([0, 0, 0])), "invalid_argument", "incomplete envelope");
    } else {
      const send = protocol === "grpc" ? grpc : grpcWeb;
      expectError(await send("Commit", short), "invalid_argument", "incomplete envelope");
      expectError(await send("Subscribe", envelope(subscribeBytes({ after: 1n }), 500)), "invalid_argument", "incomplete envelope");
      expectError(await send("Commit", new Uint8Array([0, 0, 0])), "invalid_argument", "incomplete envelope");
    }
    // A header that promises bytes with none after it: connect-es reads it as no message at all
    // (unimplemented, "missing input message"); still an error, and nothing happens.
    const headerOnly = envelope(new Uint8Array(0), 500);
    const send = protocol === "connect" ? connectStream : protocol === "grpc" ? grpc : grpcWeb;
    const a = await send("Subscribe", headerOnly);
    expect(a.code, JSON.stringify(a)).toMatch(/^(invalid_argument|unimplemented)$/);
    await expectIntact(before, [e.header.id]);
  });

  it("a Connect unary body shorter than its Content-Length is refused (HTTP/1.1 and h2c)", async () => {
    const before = await ts.store.head();
    const e = makeEvent();
    const body = Buffer.from(commitBytes([e]));
    const { hostname, port } = new URL(url);
    // HTTP/1.1: the client half-closes before the promised bytes arrive.
    const h1 = await withGuard(
      new Promise<string>((resolve, reject) => {
        const sock = net.connect(Number(port), hostname, () => {
          sock.write(
            `POST ${SERVICE}Commit HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/proto\r\n` +
              `Connect-Protocol-Version: 1\r\nContent-Length: ${body.length + 100}\r\n\r\n`,
          );
          sock.end(body);
        });
        let data = "";
        sock.on("data", (c: Buffer) => (data += c.toString("latin1")));
        sock.on("error", reject);
        sock.on("close", () => resolve(data));
      }),
      "HTTP/1.1 short body",
    );
    expect(h1).toMatch(/^HTTP\/1\.1 400 /);
    // h2c: END_STREAM before the promised bytes; HTTP/2 resets the stream (PROTOCOL_ERROR).
    const h2 = await grpc("Commit", body, {
      "content-type": "application/proto",
      "connect-protocol-version": "1",
      "content-length": String(body.length + 100),
      te: undefined,
    } as http2.OutgoingHttpHeaders);
    expect(h2.rstCode).toBe(http2.constants.NGHTTP2_PROTOCOL_ERROR);
    await expectIntact(before, [e.header.id]);
  });
});

describe.each(PROTOCOLS)("Commit rules over %s", (protocol) => {
  const commit = (events: (Event | EventInit)[]) => call(protocol, "Commit", commitBytes(events));

  it("a forged digest is invalid_argument naming the event", async () => {
    const before = await ts.store.head();
    const [a, b] = makeEvents(2);
    const cases: EventInit[] = [
      protoEvent(a!, { digest: flipped(a!.header.digest) }),
      protoEvent(a!, { digest: b!.header.digest }), // another event's real digest
      protoEvent(a!, {}, new TextEncoder().encode("not the payload that was digested")),
      protoEvent(a!, { kind: "chat.other" }),
      protoEvent(a!, { timestamp: BigInt(a!.header.timestamp + 1) }),
      protoEvent(a!, { parents: [{ id: parent.header.id, digest: parent.header.digest }] }),
    ];
    for (const e of cases) expectError(await commit([e]), "invalid_argument", a!.header.id, "digest");
    await expectIntact(before, [a!.header.id]);
  });

  it("a digest of the wrong length is invalid_argument naming the event", async () => {
    const before = await ts.store.head();
    const e = makeEvent();
    expectError(await commit([protoEvent(e, { digest: e.header.digest.subarray(1) })]), "invalid_argument", e.header.id, "32 bytes");
    expectError(await commit([protoEvent(e, { digest: new Uint8Array(0) })]), "invalid_argument", e.header.id);
    await expectIntact(before, [e.header.id]);
  });

  it("an unknown parent is failed_precondition naming the event and the parent", async () => {
    const before = await ts.store.head();
    const orphanParent = makeEvent();
    const child = makeEvent({ parents: [orphanParent.header] });
    expectError(await commit([child]), "failed_precondition", child.header.id, orphanParent.header.id);
    await expectIntact(before, [child.header.id, orphanParent.header.id]);
  });

  it("a parent named with another digest is failed_precondition naming the event and the parent", async () => {
    const before = await ts.store.head();
    // The child is well formed and its own digest is right; only the parent reference lies.
    const child = makeEvent({ parents: [{ id: parent.header.id, digest: flipped(parent.header.digest) }] });
    expectError(await commit([child]), "failed_precondition", child.header.id, parent.header.id);
    await expectIntact(before, [child.header.id]);
  });

  it("one bad event rejects the whole batch", async () => {
    const before = await ts.store.head();
    const good = makeEvents(3);
    const bad = makeEvent();
    const batch = [...good.map((e) => eventToProto(e)), protoEvent(bad, { digest: flipped(bad.header.digest) })];
    expectError(await commit(batch), "invalid_argument", bad.header.id);
    await expectIntact(before, [...good, bad].map((e) => e.header.id));
  });

  it("the same id with another digest is already_exists naming the event", async () => {
    const before = await ts.store.head();
    const forged = makeEvent({ id: parent.header.id, kind: "chat.msg" });
    expectError(await commit([forged]), "already_exists", parent.header.id);
    await expectIntact(before);
  });

  it("a payload over maxPayloadBytes is invalid_argument naming the event", async () => {
    const before = await ts.store.head();
    const ok = makeEvent({ payload: new Uint8Array(LIMITS.maxPayloadBytes) });
    const big = makeEvent({ payload: new Uint8Array(LIMITS.maxPayloadBytes + 1) });
    expectError(await commit([ok, big]), "invalid_argument", big.header.id, "maxPayloadBytes");
    await expectIntact(before, [ok.header.id, big.header.id]);
  });

  it("a batch over maxBatchEvents is invalid_argument (docs/protocol.md)", async () => {
    const before = await ts.store.head();
    const events = makeEvents(LIMITS.maxBatchEvents + 1);
    expectError(await commit(events), "invalid_argument", "maxBatchEvents", String(LIMITS.maxBatchEvents + 1));
    await expectIntact(before, events.map((e) => e.header.id));
  });

  it("a request over maxRequestBytes is resource_exhausted", async () => {
    const before = await ts.store.head();
    const e = makeEvent({ payload: new Uint8Array(LIMITS.maxRequestBytes + 1) });
    expectError(await commit([e]), "resource_exhausted", String(LIMITS.maxRequestBytes));
    await expectIntact(before, [e.header.id]);
  });

  it("negative and huge timestamps are invalid_argument naming the event", async () => {
    const before = await ts.store.head();
    const e = makeEvent();
    for (const t of [-1n, -(2n ** 63n), 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n]) {
      expectError(await commit([protoEvent(e, { timestamp: t })]), "invalid_argument", e.header.id, "timestamp");
    }
    await expectIntact(before, [e.header.id]);
  });

  it("ids, parent ids and intents not in lowercase canonical form are invalid_argument naming the id", async () => {
    const before = await ts.store.head();
    const e = makeEvent();
    const id = e.header.id;
    for (const bad of [id.toUpperCase(), id.replace(/-/g, ""), `{${id}}`, ` ${id}`, `urn:uuid:${id}`, ""]) {
      expectError(await commit([protoEvent(e, { id: bad })]), "invalid_argument", "lowercase canonical UUID", JSON.stringify(bad));
    }
    const upperParent = { id: parent.header.id.toUpperCase(), digest: parent.header.digest };
    expectError(await commit([protoEvent(e, { parents: [upperParent] })]), "invalid_argument", id, "parent");
    expectError(await commit([protoEvent(e, { intent: uuidv7().toUpperCase() })]), "invalid_argument", id, "intent");
    expectError(await commit([protoEvent(e, { intent: "" })]), "invalid_argument", id, "intent");
    await expectIntact(before, [id]);
  });

  it("a bad kind, a missing header and a duplicated parent are invalid_argument", async () => {
    const before = await ts.store.head();
    const e = makeEvent();
    expectError(await commit([protoEvent(e, { kind: "Chat.Msg" })]), "invalid_argument", e.header.id, "kind");
    expectError(await commit([protoEvent(e, { kind: "a".repeat(129) })]), "invalid_argument", e.header.id, "kind");
    expectError(await commit([{ payload: e.payload }]), "invalid_argument", "header");
    const ref = { id: parent.header.id, digest: parent.header.digest };
    expectError(await commit([protoEvent(e, { parents: [ref, ref] })]), "invalid_argument", e.header.id, "twice");
    expectError(await commit([protoEvent(e, { parents: [{ id: e.header.id, digest: e.header.digest }] })]), "invalid_argument", e.header.id);
    await expectIntact(before, [e.header.id]);
  });

  it("Read: a bad kinds filter and an after beyond 2^53 are invalid_argument", async () => {
    const before = await ts.store.head();
    for (const kinds of [["Chat.*"], ["chat.*.x"], ["**"], [""], ["chat.msg", "chat..msg"], ["x".repeat(129)]]) {
      expectError(await call(protocol, "Read", readBytes({ kinds })), "invalid_argument", "invalid kind pattern");
    }
    for (const after of [2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
      expectError(await call(protocol, "Read", readBytes({ after })), "invalid_argument", "after", String(after));
    }
    // The largest safe seq is a fine (empty) cursor.
    expect((await call(protocol, "Read", readBytes({ after: 2n ** 53n - 1n }))).code).toBe("ok");
    await expectIntact(before);
  });

  it("Subscribe: a bad kinds filter and an after beyond 2^53 are invalid_argument and leave no stream open", async () => {
    const before = await ts.store.head();
    for (const kinds of [["Chat.*"], ["chat.*.x"], ["*.msg"], [""]]) {
      expectError(await call(protocol, "Subscribe", subscribeBytes({ kinds })), "invalid_argument", "invalid kind pattern");
    }
    for (const after of [2n ** 53n, 2n ** 64n - 1n]) {
      expectError(await call(protocol, "Subscribe", subscribeBytes({ after })), "invalid_argument", "after", String(after));
    }
    await expectIntact(before);
  });

  it("GetHeader and GetPayload: a non-canonical id and a short digest are invalid_argument", async () => {
    const before = await ts.store.head();
    const id = parent.header.id.toUpperCase();
    const getHeader = toBinary(GetHeaderRequestSchema, create(GetHeaderRequestSchema, { id }));
    expectError(await call(protocol, "GetHeader", getHeader), "invalid_argument", "UUID");
    const getPayload = toBinary(GetPayloadRequestSchema, create(GetPayloadRequestSchema, { digest: parent.header.digest.subarray(1) }));
    expectError(await call(protocol, "GetPayload", getPayload), "invalid_argument", "32-byte");
    await expectIntact(before);
  });
});
