import { describe, expect, it } from "vitest";
import { assertKind, baseKind, isValidKind, isValidKindPattern, kindFilter, MAX_KIND_BYTES, matchKind } from "./kind.js";

const invalid = expect.objectContaining({ name: "EventError", code: "invalid_argument" });

describe("isValidKind", () => {
  it("accepts dotted lowercase kinds with an optional version", () => {
    for (const k of ["chat", "chat.msg", "chat.room.open", "a_b.c1.2x", "x9", "chat.msg@2", "chat.msg@10", "a.b_@1"]) {
      expect(isValidKind(k), k).toBe(true);
    }
  });

  it("rejects anything else", () => {
    const bad = ["", "Chat", "chat.Msg", "1chat", "_chat", "chat.", ".chat", "chat..msg", "chat msg", "chat-msg",
      "chat.msg@0", "chat.msg@01", "chat.msg@", "chat@2.msg", "chat.*", "*", "chät", "chat.msg@2@3"];
    for (const k of bad) expect(isValidKind(k), k).toBe(false);
    for (const v of [undefined, null, 42, ["chat"]]) expect(isValidKind(v)).toBe(false);
  });

  it("allows at most 128 bytes", () => {
    expect(MAX_KIND_BYTES).toBe(128);
    expect(isValidKind("a".repeat(128))).toBe(true);
    expect(isValidKind("a".repeat(129))).toBe(false);
    expect(isValidKind("a".repeat(124) + ".b@9")).toBe(true);
    expect(isValidKind("a".repeat(124) + ".b@10")).toBe(false);
  });

  it("assertKind throws invalid_argument", () => {
    expect(() => assertKind("chat.msg")).not.toThrow();
    expect(() => assertKind("Chat")).toThrow(invalid);
    expect(() => assertKind("a".repeat(129))).toThrow(invalid);
    expect(() => assertKind(7)).toThrow(invalid);
  });

  it("baseKind strips the version", () => {
    expect(baseKind("chat.msg@2")).toBe("chat.msg");
    expect(baseKind("chat.msg")).toBe("chat.msg");
  });
});

describe("matchKind", () => {
  it("matches exactly", () => {
    expect(matchKind("chat.msg", "chat.msg")).toBe(true);
    expect(matchKind("chat.msg", "chat.msgs")).toBe(false);
    expect(matchKind("chat.msg", "chat.msg.x")).toBe(false);
    expect(matchKind("chat", "chat.msg")).toBe(false);
  });

  it("chat.* matches chat.msg and chat.room.open but not chat", () => {
    expect(matchKind("chat.*", "chat.msg")).toBe(true);
    expect(matchKind("chat.*", "chat.room.open")).toBe(true);
    expect(matchKind("chat.*", "chat.msg@2")).toBe(true);
    expect(matchKind("chat.*", "chat")).toBe(false);
    expect(matchKind("chat.*", "chat@2")).toBe(false);
    expect(matchKind("chat.*", "chatroom.open")).toBe(false);
    expect(matchKind("chat.room.*", "chat.room.open")).toBe(true);
    expect(matchKind("chat.room.*", "chat.msg")).toBe(false);
  });

  it("* matches everything", () => {
    for (const k of ["chat", "chat.msg", "x.y.z@3"]) expect(matchKind("*", k)).toBe(true);
  });

  it("a pattern without a version matches every version; one with a version is exact", () => {
    expect(matchKind("chat.msg", "chat.msg@2")).toBe(true);
    expect(matchKind("chat.msg", "chat.msg@10")).toBe(true);
    expect(matchKind("chat.msg@2", "chat.msg@2")).toBe(true);
    expect(matchKind("chat.msg@2", "chat.msg")).toBe(false);
    expect(matchKind("chat.msg@2", "chat.msg@3")).toBe(false);
    expect(matchKind("chat.msg@1", "chat.msg@10")).toBe(false);
  });
});

describe("kind patterns and filters", () => {
  it("isValidKindPattern accepts *, prefix.* and kinds only", () => {
    for (const p of ["*", "chat.*", "chat.room.*", "chat", "chat.msg@2"]) expect(isValidKindPattern(p), p).toBe(true);
    for (const p of ["", "**", "chat*", "chat.*.x", ".*", "Chat.*", "chat.*@2", "chat.msg@2.*", 5, "a".repeat(127) + ".*"]) {
      expect(isValidKindPattern(p), String(p)).toBe(false);
    }
  });

  it("kindFilter: all kinds when undefined, empty or *; any pattern otherwise", () => {
    for (const ps of [undefined, [], ["*"], ["chat.*", "*"]]) expect(kindFilter(ps)("any.kind")).toBe(true);
    const f = kindFilter(["chat.*", "note.add@2"]);
    expect(["chat.msg", "note.add@2", "note.add", "chat"].map(f)).toEqual([true, true, false, false]);
  });

  it("kindFilter rejects a bad pattern or a non-array with invalid_argument", () => {
    expect(() => kindFilter(["chat.*", "Bad"])).toThrow(invalid);
    expect(() => kindFilter("chat.*" as unknown as string[])).toThrow(invalid);
    expect(() => kindFilter([42 as unknown as string])).toThrow(invalid);
  });
});
