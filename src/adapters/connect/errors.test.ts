import { Code, ConnectError } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { ErrorCode, EventError, isRetryable } from "../../core/index.js";
import { createRemoteStore } from "./client/index.js";
import { createWebTransport } from "./client/web-transport.js";
import { fromConnectError, toConnectError } from "./errors.js";

describe("error mapping", () => {
  it("maps every code both ways", () => {
    for (const code of Object.values(ErrorCode)) {
      const back = fromConnectError(toConnectError(new EventError(code, "m")));
      expect(back.code).toBe(code);
    }
  });

  it("hides internal detail from clients", () => {
    const ce = toConnectError(new Error("secret connection string"));
    expect(ce.code).toBe(Code.Internal);
    expect(ce.rawMessage).toBe("internal error");
  });

  it("keeps the message of a client-facing error", () => {
    expect(toConnectError(new EventError("already_exists", "event x exists")).rawMessage).toBe("event x exists");
    expect(fromConnectError(new ConnectError("nope", Code.PermissionDenied)).code).toBe("permission_denied");
  });

  // Nothing listens on port 1: each transport's connection failure must be a retryable outage.
  for (const [name, transport] of [
    ["connect (fetch)", createWebTransport({ baseUrl: "http://127.0.0.1:1" })],
    ["grpc-web (fetch)", createWebTransport({ baseUrl: "http://127.0.0.1:1", protocol: "grpc-web" })],
    ["grpc (http2)", createGrpcTransport({ baseUrl: "http://127.0.0.1:1" })],
  ] as const) {
    it(`an unreachable server is unavailable over ${name}`, async () => {
      const err = await createRemoteStore({ transport }).head().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EventError);
      expect((err as EventError).code).toBe("unavailable");
      expect(isRetryable(err)).toBe(true);
    });
  }
});
