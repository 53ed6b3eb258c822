import { describe, expect, it } from "vitest";
import { equalBytes } from "./bytes.js";
import { computeDigest } from "./digest.js";
import { assertEventVerifies, createEvent, refOf, validateEvent, verifyEvent } from "./event.js";
import { NIL_INTENT } from "./types.js";
import { isUuid, uuidv4, uuidv7 } from "./uuid.js";

const invalid = expect.objectContaining({ name: "EventError", code: "invalid_argument" });
const payload = new TextEncoder().encode("hi");

describe("createEvent", () => {
  it("fills in a UUIDv7 id, the nil intent, now, no parents and the causal digest", () => {
    const before = Date.now();
    const e = createEvent({ kind: "chat.msg", payload });
    expect(isUuid(e.header.id) && e.header.id[14] === "7").toBe(true);
    expect(e.header.intent).toBe(NIL_INTENT);
    expect(e.header.timestamp).toBeGreaterThanOrEqual(before);
    expect(e.header.timestamp).toBeLessThanOrEqual(Date.now());
    expect(e.header.parents).toEqual([]);
    expect(e.payload).toBe(payload);
    expect(equalBytes(e.header.digest, computeDigest(e.header, payload))).toBe(true);
    expect(verifyEvent(e)).toBe(true);
  });

  it("takes an explicit id, intent, timestamp and parents (headers or refs)", () => {
    const a = createEvent({ kind: "chat.room.open", payload });
    const b = createEvent({ kind: "chat.room.open", payload });
    const id = uuidv7();
    const intent = uuidv4();
    const e = createEvent({ kind: "chat.msg@2", payload, id, intent, timestamp: 0, parents: [a.header, refOf(b)] });
    expect(e.header).toMatchObject({ id, intent, timestamp: 0, kind: "chat.msg@2" });
    expect(e.header.parents).toEqual([refOf(a), refOf(b)]);
    expect(Object.keys(e.header.parents[0]!).sort()).toEqual(["digest", "id"]);
    expect(verifyEvent(e)).toBe(true);
  });

  it("rejects bad input with invalid_argument", () => {
    const parent = createEvent({ kind: "a", payload });
    const id = uuidv7();
    const bad: [string, Record<string, unknown>][] = [
      ["bad kind", { kind: "Chat" }],
      ["129-byte kind", { kind: "a".repeat(129) }],
      ["missing kind", { kind: undefined }],
      ["string payload", { payload: "hi" }],
      ["array payload", { payload: [1, 2] }],
      ["malformed id", { id: "nope" }],
      ["uppercase id", { id: id.toUpperCase() }],
      ["malformed intent", { intent: "nope" }],
      ["negative timestamp", { timestamp: -1 }],
      ["fractional timestamp", { timestamp: 1.5 }],
      ["unsafe timestamp", { timestamp: 2 ** 53 }],
      ["string timestamp", { timestamp: "1" }],
      ["duplicate parents", { parents: [parent.header, refOf(parent)] }],
      ["own parent", { id, parents: [{ id, digest: parent.header.digest }] }],
      ["parent with a short digest", { parents: [{ id: parent.header.id, digest: new Uint8Array(31) }] }],
      ["parent with a malformed id", { parents: [{ id: "x", digest: parent.header.digest }] }],
      ["null parent", { parents: [null] }],
    ];
    for (const [name, patch] of bad) {
      expect(() => createEvent({ kind: "chat.msg", payload, ...patch } as never), name).toThrow(invalid);
    }
    expect(() => createEvent(null as never)).toThrow(invalid);
  });
});

describe("validateEvent / assertEventVerifies / verifyEvent", () => {
  const good = () => createEvent({ kind: "chat.msg", payload, parents: [createEvent({ kind: "a", payload }).header] });

  it("accepts a well-formed event", () => {
    const e = good();
    expect(() => validateEvent(e)).not.toThrow();
    expect(() => assertEventVerifies(e)).not.toThrow();
  });

  it("verifyEvent is false after any change to a field or the payload", () => {
    const changes: ((e: ReturnType<typeof good>) => void)[] = [
      (e) => (e.header.kind = "chat.other"),
      (e) => (e.header.timestamp += 1),
      (e) => (e.header.intent = uuidv4()),
      (e) => (e.header.id = uuidv7()),
      (e) => (e.header.parents = []),
      (e) => (e.header.parents[0]!.digest = e.header.parents[0]!.digest.map((x) => x ^ 1)),
      (e) => (e.payload = new Uint8Array([1])),
      (e) => (e.header.digest = e.header.digest.map((x, i) => (i === 0 ? x ^ 1 : x))),
    ];
    for (const change of changes) {
      const e = good();
      change(e);
      expect(verifyEvent(e), String(change)).toBe(false);
      expect(() => assertEventVerifies(e)).toThrow(invalid);
    }
  });

  it("validateEvent checks shape but not the digest value", () => {
    const e = good();
    e.header.digest = new Uint8Array(32);
    expect(() => validateEvent(e)).not.toThrow();
    for (const v of [null, 1, {}, { header: null, payload }, { header: { ...e.header, digest: new Uint8Array(31) }, payload }]) {
      expect(() => validateEvent(v)).toThrow(invalid);
      expect(verifyEvent(v)).toBe(false);
    }
  });
});
