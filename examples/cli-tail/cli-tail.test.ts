// Smoke test of the tail script: its exact command against `toka-events serve`.
import { createEvent, type EventStore, json } from "toka-events";
import { createRemoteStore, createWebTransport } from "toka-events/adapters/connect/client";
import { afterAll, describe, expect, it } from "vitest";
import { killAll, serveMemory, start } from "../_support/process.js";

let remote: EventStore | undefined;

afterAll(async () => {
  await remote?.close();
  killAll();
});

describe("examples/cli-tail", () => {
  it("prints the history, then live events of the kinds asked for, and stops on Ctrl-C", async () => {
    const server = await serveMemory();
    remote = createRemoteStore({ transport: createWebTransport({ baseUrl: server.url }) });
    const hello = createEvent({ kind: "chat.msg", payload: json.encode({ text: "hello" }) });
    await remote.commit([hello]); // history

    const tail = start(process.execPath, ["examples/cli-tail/tail.mjs", "--server", server.url, "--kinds", "chat.*"]);
    await tail.waitFor(/caught up at seq 1/);
    const reply = createEvent({ kind: "chat.msg", payload: json.encode({ text: "hi!" }), parents: [hello.header] });
    const other = createEvent({ kind: "todo.added", payload: json.encode({ title: "not a chat event" }) });
    const image = createEvent({ kind: "chat.image", payload: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]) });
    await remote.commit([reply, other, image]); // live

    await tail.waitFor(/chat\.image/);
    const lines = tail.stdout().trimEnd().split("\n");
    expect(lines.map((l) => l.trim().split(/\s+/))).toEqual([
      ["1", "chat.msg", hello.header.id, '{"text":"hello"}'],
      ["2", "chat.msg", reply.header.id, '{"text":"hi!"}'],
      ["4", "chat.image", image.header.id, "<7", "bytes>"],
    ]);
    expect(await tail.stop("SIGINT")).toBe(0);
    await server.proc.stop();
  });
});
