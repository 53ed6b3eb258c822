// Smoke test of the Worker example: its bundle (what `npm run examples:cloudflare-worker` builds)
// run by workerd with the example's config, driven from Node through the client.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type BusMessage, createEvent, type EventStore, json } from "toka-events";
import { createRemoteStore, createWebTransport } from "toka-events/adapters/connect/client";
import { afterAll, describe, expect, it, vi } from "vitest";
import { freePort, killAll, ROOT, start } from "../_support/process.js";
import { bundle } from "./build.mjs";

let dir: string | undefined;
let remote: EventStore | undefined;

afterAll(async () => {
  await remote?.close();
  killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("examples/cloudflare-worker", () => {
  it("serves the store from workerd: commit from Node, subscribe and receive it live", async () => {
    await mkdir(join(ROOT, ".tmp"), { recursive: true });
    dir = await mkdtemp(join(ROOT, ".tmp", "cloudflare-worker-"));
    // The example's own config, next to a bundle built into this scratch directory.
    await bundle(join(dir, "dist"));
    await writeFile(join(dir, "config.capnp"), await readFile(join(ROOT, "examples/cloudflare-worker/config.capnp")));

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const workerd = start(join(ROOT, "node_modules/.bin/workerd"), ["serve", join(dir, "config.capnp"), "--socket-addr", `http=127.0.0.1:${port}`]);
    remote = createRemoteStore({ transport: createWebTransport({ baseUrl: url }) });
    await vi.waitFor(async () => expect(await remote!.head()).toBe(0), { timeout: 20_000, interval: 100 });

    const sub = remote.subscribe({ kinds: ["chat.*"], after: 0 });
    const it = sub[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual({ type: "caught-up", seq: 0 });
    const hello = createEvent({ kind: "chat.msg", payload: json.encode({ text: "hello, worker" }) });
    const note = createEvent({ kind: "note.added", payload: json.encode({ text: "not a chat message" }) });
    expect((await remote.commit([hello, note])).map((r) => [r.seq, r.status])).toEqual([[1, "stored"], [2, "stored"]]);
    const m = (await it.next()).value as BusMessage;
    expect(m.type === "event" && [m.event.seq, m.event.header.id, json.decode(m.event.payload)]).toEqual([1, hello.header.id, { text: "hello, worker" }]);
    sub.close();
    expect(await remote.head()).toBe(2);
    // Browsers on other origins may call it.
    const preflight = await fetch(`${url}/toka.events.v1.EventStoreService/Commit`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST" },
    });
    expect([preflight.status, preflight.headers.get("access-control-allow-origin")]).toEqual([204, "*"]);
    // SIGKILL: on SIGTERM workerd drains, and the closed subscription ends at its next heartbeat (5 s).
    await workerd.stop("SIGKILL");
  });
});
