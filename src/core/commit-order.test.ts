import { describe, expect, it } from "vitest";
import { orderContract } from "../adapters/_contract/index.js";
import { createMemoryBus, createMemoryVault } from "../adapters/memory/index.js";
import { createCommitSequencer, createEventStore, ErrorCode, uuidv7 } from "./index.js";

orderContract({ test: (name, fn) => it(name, fn) }, () => createEventStore({ vault: createMemoryVault(), bus: createMemoryBus() }));

const batch = (id: string) => [{ header: { id } }];

describe("commit sequencer", () => {
  it("a predecessor stored elsewhere (another server) is found by looking it up again", async () => {
    const stored = new Set<string>();
    const seq = createCommitSequencer(async (id) => stored.has(id), 5_000);
    const a = uuidv7();
    let ran = false;
    const follower = seq.run(batch(uuidv7()), { after: a }, async () => (ran = true));
    await new Promise((r) => setTimeout(r, 60));
    expect(ran).toBe(false);
    stored.add(a);
    await follower;
    expect(ran).toBe(true);
  });

  it("waits for a predecessor running in this process, then runs without looking it up", async () => {
    let lookups = 0;
    const seq = createCommitSequencer(async () => (lookups++, false), 5_000);
    const a = uuidv7();
    const order: string[] = [];
    let release!: () => void;
    const first = seq.run(batch(a), {}, () => new Promise<void>((r) => (release = r)).then(() => void order.push("first")));
    const second = seq.run(batch(uuidv7()), { after: a }, async () => void order.push("second"));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(["first", "second"]);
    expect(lookups).toBe(0);
  });

  it("an aborted signal ends the wait with canceled, and the batch does not run", async () => {
    const seq = createCommitSequencer(async () => false, 60_000);
    const ac = new AbortController();
    let ran = false;
    const p = seq.run(batch(uuidv7()), { after: uuidv7(), signal: ac.signal }, async () => (ran = true));
    setTimeout(() => ac.abort(), 30);
    await expect(p).rejects.toMatchObject({ code: ErrorCode.canceled });
    expect(ran).toBe(false);
  });

  it("behind a batch whose last try failed, a follower fails at once; behind its successful retry, one runs", async () => {
    const seq = createCommitSequencer(async () => false, 5_000);
    const a = uuidv7();
    await expect(seq.run(batch(a), {}, async () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    await expect(seq.run(batch(uuidv7()), { after: a }, async () => "ran")).rejects.toMatchObject({
      code: ErrorCode.aborted,
      message: expect.stringContaining("its batch failed"),
    });
    await expect(seq.run(batch(a), {}, async () => "stored")).resolves.toBe("stored");
    await expect(seq.run(batch(uuidv7()), { after: a }, async () => "ran")).resolves.toBe("ran");
  });

  it("behind a batch admitted to an ordered queue, a follower runs at once with its ticket; a chain passes tickets on", async () => {
    const seq = createCommitSequencer<string>(async () => false, 5_000);
    const [a, b] = [uuidv7(), uuidv7()];
    const seen: (string | undefined)[] = [];
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    const first = seq.run(batch(a), {}, async (prior, admit) => (seen.push(prior), admit("ticket-a"), done));
    const second = seq.run(batch(b), { after: a }, async (prior, admit) => (seen.push(prior), admit("ticket-b"), done));
    const third = seq.run(batch(uuidv7()), { after: b }, async (prior) => void seen.push(prior));
    await third; // ran while the first two were still committing
    expect(seen).toEqual([undefined, "ticket-a", "ticket-b"]);
    release();
    await Promise.all([first, second]);
  });

  it("behind a batch that failed before it was admitted, a follower fails with aborted and does not run", async () => {
    const seq = createCommitSequencer<string>(async () => false, 5_000);
    const a = uuidv7();
    let fail!: (e: Error) => void;
    const first = seq.run(batch(a), {}, () => new Promise<void>((_, reject) => (fail = reject)));
    let ran = false;
    const follower = seq.run(batch(uuidv7()), { after: a }, async () => void (ran = true));
    await new Promise((r) => setTimeout(r, 20));
    fail(new Error("refused"));
    await expect(first).rejects.toThrow("refused");
    await expect(follower).rejects.toMatchObject({ code: ErrorCode.aborted });
    expect(ran).toBe(false);
  });
});
