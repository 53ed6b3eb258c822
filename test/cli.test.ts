// `toka-events serve` as a user runs it: the built bin in a child process.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createEvent, text } from "toka-events";
import { createRemoteStore, createWebTransport } from "toka-events/adapters/connect/client";
import { afterEach, describe, expect, it } from "vitest";

const bin = join(import.meta.dirname, "..", "dist", "cli.js");
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

/** Starts the bin; resolves with the process, its output so far, and the URL it logs. */
async function start(args: string[]): Promise<{ child: ChildProcess; out: () => string; url: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in: ${out}`)), 10_000);
    child.stdout!.on("data", () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  return { child, out: () => out, url };
}

async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = await once(child, "exit");
  return code as number | null;
}

describe("toka-events serve", () => {
  it("serves the store, logs where it listens and stops cleanly on SIGTERM", async () => {
    const { child, out, url } = await start(["serve", "--port", "0", "--store", "memory"]);
    expect(out()).toMatch(/store: memory/);
    const store = createRemoteStore({ transport: createWebTransport({ baseUrl: url }) });
    const e = createEvent({ kind: "chat.msg", payload: text.encode("hello") });
    expect(await store.commit([e])).toEqual([{ id: e.header.id, seq: 1, status: "stored" }]);
    expect(await store.head()).toBe(1);
    // An open subscription must not hold the shutdown up.
    const sub = store.subscribe();
    expect((await sub.next()).value).toMatchObject({ type: "event" });
    child.kill("SIGTERM");
    expect(await exitOf(child)).toBe(0);
    expect(out()).toMatch(/SIGTERM: shutting down[\s\S]*stopped/);
    await store.close();
  });

  it("stops on SIGINT too", async () => {
    const { child } = await start(["serve", "--port", "0", "--store", "memory"]);
    child.kill("SIGINT");
    expect(await exitOf(child)).toBe(0);
  });

  it("refuses unknown commands, flags and stores with a message", async () => {
    for (const [args, code, message] of [
      [["frobnicate"], 2, /unknown command "frobnicate"/],
      [["serve", "--port", "99999"], 2, /invalid --port/],
      [["serve", "--bogus"], 1, /Unknown option '--bogus'/],
      [["serve", "--port", "0", "--store", "nosuch"], 1, /unknown store "nosuch" \(expected: memory, pglite:<dir>, postgres:\/\/…\)/],
    ] as const) {
      const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      let err = "";
      child.stderr.on("data", (d) => (err += d));
      expect(await exitOf(child), args.join(" ")).toBe(code);
      expect(err).toMatch(message);
    }
  });
});
