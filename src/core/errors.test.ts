import { describe, expect, it } from "vitest";
import { ErrorCode, EventError, isRetryable, throwIfAborted } from "./errors.js";

const RETRYABLE = ["unavailable", "deadline_exceeded", "aborted", "resource_exhausted"];

describe("EventError", () => {
  it("is an Error with a name, a code, details and a cause", () => {
    const cause = new Error("socket closed");
    const e = new EventError("unavailable", "store unreachable", { details: { attempt: 2 }, cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("EventError");
    expect(e.code).toBe("unavailable");
    expect(e.message).toBe("store unreachable");
    expect(e.details).toEqual({ attempt: 2 });
    expect(e.cause).toBe(cause);
    expect(new EventError("internal", "x").cause).toBeUndefined();
  });

  it("has the gRPC canonical codes, and maps an unknown one to unknown", () => {
    for (const c of ["invalid_argument", "failed_precondition", "already_exists", "not_found", "resource_exhausted",
      "unavailable", "deadline_exceeded", "canceled", "aborted", "permission_denied", "unauthenticated",
      "unimplemented", "internal", "data_loss"]) {
      expect(ErrorCode[c as ErrorCode]).toBe(c);
    }
    expect(new EventError("bogus" as ErrorCode, "x").code).toBe("unknown");
  });
});

describe("EventError.from", () => {
  it("returns an EventError as is", () => {
    const e = new EventError("already_exists", "dup");
    expect(EventError.from(e)).toBe(e);
  });

  it("keeps the code of an EventError-shaped error from another realm, with it as cause", () => {
    const foreign = Object.assign(new Error("over the wire"), { name: "EventError", code: "not_found" });
    const e = EventError.from(foreign);
    expect(e).toBeInstanceOf(EventError);
    expect(e.code).toBe("not_found");
    expect(e.message).toBe("over the wire");
    expect(e.cause).toBe(foreign);
  });

  it("wraps anything else with the fallback code and keeps it as cause", () => {
    const plain = new TypeError("boom");
    expect(EventError.from(plain)).toMatchObject({ code: "internal", message: "boom", cause: plain });
    expect(EventError.from("text", "unavailable")).toMatchObject({ code: "unavailable", message: "text", cause: "text" });
    const lookalike = { name: "EventError", code: "no_such_code", message: "m" };
    expect(EventError.from(lookalike).code).toBe("internal");
    const unprintable = { toString: () => { throw new Error("no"); } };
    expect(EventError.from(unprintable).message).toBe("unprintable error");
  });
});

describe("isRetryable", () => {
  it("is true for exactly the four retryable codes", () => {
    for (const code of Object.values(ErrorCode)) {
      expect(isRetryable(new EventError(code, "x")), code).toBe(RETRYABLE.includes(code));
    }
  });

  it("recognises EventError-shaped objects and rejects everything else", () => {
    expect(isRetryable({ name: "EventError", code: "unavailable" })).toBe(true);
    expect(isRetryable({ name: "Error", code: "unavailable" })).toBe(false);
    for (const v of [new Error("x"), null, undefined, "unavailable", 14]) expect(isRetryable(v)).toBe(false);
  });
});

describe("throwIfAborted", () => {
  it("throws canceled with the abort reason as cause", () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    expect(() => throwIfAborted(new AbortController().signal)).not.toThrow();
    const reason = new Error("user left");
    const thrown = (() => {
      try {
        throwIfAborted(AbortSignal.abort(reason));
      } catch (err) {
        return err;
      }
    })();
    expect(thrown).toMatchObject({ name: "EventError", code: "canceled", cause: reason });
  });
});
