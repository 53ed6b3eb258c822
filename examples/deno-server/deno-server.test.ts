// Smoke test of the Deno example: its bundle (what `npm run examples:deno-server` builds) served by
// the deno binary with only --allow-net and --allow-env, driven from Node through the client.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { type BusMessage, createEvent, type EventStore, json } from "toka-events";
import { createRemoteStore, createWebTransport } from "toka-events/adapters/connect/client";
import { afterAll, describe, expect, it } from "vitest";
import { killAll, ROOT, start } from "../_support/process.js";
import { bundle } from "./build.mjs";

let outDir: string | undefined;
let remote: EventStore | undefined;

afterAll(async () => {
  await remote?.close();
  killAll();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe("examples/deno-server", () => {
  it("serves the store on Deno.serve: commit from Node, subscribe, read back, stop on SIGTERM", async () => {
    await mkdir(join(ROOT, ".tmp"), { recursive: true });
    outDir = await mkdtemp(join(ROOT, ".tmp", "deno-server-"));
    const main = await bundle(outDir);

    const deno = start(join(ROOT, "node_modules/.bin/deno"), ["run", "--allow-net", "--allow-env", main], {
      env: { ...process.env, PORT: "0", DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    });
    const url = JSON.parse((await deno.waitFor(/^\{.*"msg":"listening".*\}$/m, 30_000))[0]).url as string;
    remote = createRemoteStore({ transport: createWebTransport({ baseUrl: url }) });

    const sub = remote.subscribe({ kinds: ["chat.*"], after: 0 });
    const it = sub[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual({ type: "caught-up", seq: 0 });
    const hello = createEvent({ kind: "chat.msg", payload: json.encode({ text: "hello from node" }) });
    const reply = createEvent({ kind: "chat.msg", payload: json.encode({ text: "hello from deno" }), parents: [hello.header] });
    expect((await remote.commit([hello, reply])).map((r) => [r.seq, r.status])).toEqual([[1, "stored"], [2, "stored"]]);
    const live: BusMessage[] = [(await it.next()).value, (await it.next()).value];
    expect(live.map((m) => (m.type === "event" ? m.event.header.id : m.type))).toEqual([hello.header.id, reply.header.id]);

    const back = [];
    for await (const e of remote.read()) back.push([e.seq, json.decode(e.payload)]);
    expect(back).toEqual([[1, { text: "hello from node" }], [2, { text: "hello from deno" }]]);
    expect((await remote.header(reply.header.id))?.parents.map((p) => p.id)).toEqual([hello.header.id]);

    // With the subscription still open: the server ends its stream and stops.
    expect(await deno.stop("SIGTERM")).toBe(0);
    expect(deno.output()).toMatch(/"msg":"shutting down","signal":"SIGTERM","openSubscriptions":1[\s\S]*"msg":"stopped"/);
    sub.close();
  });
});
