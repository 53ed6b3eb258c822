// The LocalVault extension of DESIGN §6 (outbox, acks and remote seqs, dead letters, named
// cursors, each moved in one transaction with the events it concerns), as one suite every local
// vault runs: the memory vault under vitest, the IndexedDB vault in Chromium.
import { type Ack, ErrorCode, type Event, type LocalVault, type StoredEvent, uuidv7 } from "../../core/index.js";
import { deepEqual, equal, ok, rejectsWithCode, show } from "./assert.js";
import {
  assertSameEvent,
  cloneEvent,
  type ContractRunner,
  drain,
  makeEvent,
  makeEvents,
  redigest,
  subjectTest,
  tampered,
} from "./harness.js";

/**
 * Runs the local vault contract: the outbox, acknowledgements, dead letters and cursors, their
 * atomicity with commits, input validation, cancellation, close and copy semantics. `make` opens
 * a fresh, empty vault for each test; the suite closes it at the end.
 *
 * @example
 * localVaultContract({ test: (name, fn) => it(name, fn) }, () => createMemoryVault());
 */
export function localVaultContract(run: ContractRunner, make: () => Promise<LocalVault> | LocalVault): void {
  const test = subjectTest(run, "local vault", make);

  test("commit with outbox enqueues exactly the newly stored events, in seq order", async (vault) => {
    const [a, b, c, d] = makeEvents(4);
    await expectOutbox(vault, [], "empty vault");
    deepEqual(await vault.commit([a!, b!], { outbox: true }), stored([a!, b!], 1), "first batch");
    await expectOutbox(vault, [a!, b!], "after the first batch");
    const results = await vault.commit([c!, cloneEvent(a!), d!, cloneEvent(c!)], { outbox: true });
    deepEqual(results, [
      { id: c!.header.id, seq: 3, status: "stored" },
      { id: a!.header.id, seq: 1, status: "duplicate" },
      { id: d!.header.id, seq: 4, status: "stored" },
      { id: c!.header.id, seq: 3, status: "duplicate" },
    ], "second batch");
    await expectOutbox(vault, [a!, b!, c!, d!], "duplicates are not enqueued again");
    deepEqual(await vault.commit([cloneEvent(b!)], { outbox: true }), [{ id: b!.header.id, seq: 2, status: "duplicate" }], "b again");
    await expectOutbox(vault, [a!, b!, c!, d!], "a duplicate-only batch");
  });

  test("commit without outbox enqueues nothing", async (vault) => {
    const [a, b, c, e] = makeEvents(4);
    await vault.commit([a!, b!]);
    await vault.commit([c!], { outbox: false });
    await vault.commit([c!], {});
    equal(await vault.head(), 3, "head");
    await expectOutbox(vault, [], "after commits without outbox");
    const results = await vault.commit([cloneEvent(a!), e!], { outbox: true });
    deepEqual(results.map((r) => r.status), ["duplicate", "stored"], "statuses");
    await expectOutbox(vault, [e!], "an event stored earlier without outbox is not enqueued as a duplicate", 4);
  });

  test("outbox({ limit }) returns the oldest entries first", async (vault) => {
    const events = makeEvents(5);
    await vault.commit(events.slice(0, 2), { outbox: true });
    await vault.commit(events.slice(2, 3), { outbox: true });
    await vault.commit(events.slice(3), { outbox: true });
    const seqs = async (limit?: number) => (await vault.outbox(limit === undefined ? {} : { limit })).map((s) => s.seq);
    deepEqual(await seqs(), [1, 2, 3, 4, 5], "no limit");
    deepEqual(await seqs(1), [1], "limit 1");
    deepEqual(await seqs(2), [1, 2], "limit 2");
    deepEqual(await seqs(5), [1, 2, 3, 4, 5], "limit 5");
    deepEqual(await seqs(10), [1, 2, 3, 4, 5], "limit above the size");
    deepEqual(await seqs(0), [], "limit 0");
    await vault.acknowledge([{ id: events[0]!.header.id, remoteSeq: 1 }, { id: events[2]!.header.id, remoteSeq: 2 }]);
    deepEqual(await seqs(2), [2, 4], "limit 2 after acks");
    equal(await vault.outboxSize(), 3, "outboxSize after acks");
  });

  test("outbox({ after }) skips the entries up to a seq (a pusher with batches in flight)", async (vault) => {
    const events = makeEvents(6);
    await vault.commit(events.slice(0, 1)); // not in the outbox
    await vault.commit(events.slice(1), { outbox: true });
    const seqs = async (o: { after?: number; limit?: number }) => (await vault.outbox(o)).map((s) => s.seq);
    deepEqual(await seqs({ after: 0 }), [2, 3, 4, 5, 6], "after 0");
    deepEqual(await seqs({ after: 1 }), [2, 3, 4, 5, 6], "after a seq not in the outbox");
    deepEqual(await seqs({ after: 3 }), [4, 5, 6], "after 3");
    deepEqual(await seqs({ after: 3, limit: 2 }), [4, 5], "after 3, limit 2");
    deepEqual(await seqs({ after: 6 }), [], "after the last");
    deepEqual(await seqs({ after: 99 }), [], "after the head");
    await vault.acknowledge([{ id: events[4]!.header.id, remoteSeq: 1 }]);
    deepEqual(await seqs({ after: 3 }), [4, 6], "after 3, once seq 5 is acknowledged");
    for (const [o, name] of [
      [{ after: -1 }, "after -1"],
      [{ after: 1.5 }, "after 1.5"],
      [{ after: "2" }, "after as a string"],
      [{ limit: -1 }, "limit -1"],
      [{ limit: Number.NaN }, "limit NaN"],
    ] as [{ after?: number; limit?: number }, string][]) {
      await rejectsWithCode(() => vault.outbox(o), "invalid_argument", `outbox(${name})`);
    }
    equal(await vault.outboxSize(), 4, "nothing changed by the bad calls");
  });

  test("concurrent commits with outbox keep the outbox in seq order", async (vault) => {
    const batches = Array.from({ length: 20 }, (_, i) => makeEvents(1 + (i % 3)));
    const results = (await Promise.all(batches.map((b) => vault.commit(b, { outbox: true })))).flat();
    const n = results.length;
    const out = await vault.outbox();
    deepEqual(out.map((s) => s.seq), Array.from({ length: n }, (_, i) => i + 1), "outbox seqs");
    const bySeq = new Map(results.map((r) => [r.seq, r.id]));
    for (const s of out) equal(s.header.id, bySeq.get(s.seq), `outbox id at seq ${s.seq}`);
    equal(await vault.outboxSize(), n, "outboxSize");
  });

  test("a rejected batch enqueues nothing and moves no cursor", async (vault) => {
    const committed = makeEvents(2);
    await vault.commit(committed, { outbox: true, cursor: { name: "remote", value: 5 } });
    const cases: [Event, string][] = [
      [makeEvent({ parents: [makeEvent().header] }), "failed_precondition"],
      [tampered((h) => (h.digest[5]! ^= 4)), "invalid_argument"],
      [makeEvent({ id: committed[0]!.header.id }), "already_exists"],
      [tampered((h, e) => ((h.kind = "BAD"), redigest(e))), "invalid_argument"],
    ];
    for (const [bad, code] of cases) {
      const batch = [...makeEvents(3), bad];
      await rejectsWithCode(() => vault.commit(batch, { outbox: true, cursor: { name: "remote", value: 9 } }), code, `batch ending with a bad event (${code})`);
      equal(await vault.head(), 2, `head after a rejected batch (${code})`);
      for (const e of batch.slice(0, 3)) equal(await vault.header(e.header.id), undefined, `event of a rejected batch (${code}) was stored`);
      await expectOutbox(vault, committed, `outbox after a rejected batch (${code})`);
      equal(await vault.cursor("remote"), 5, `cursor after a rejected batch (${code})`);
    }
    const next = makeEvent();
    deepEqual(await vault.commit([next], { outbox: true, cursor: { name: "remote", value: 9 } }), stored([next], 3), "a good commit afterwards");
    await expectOutbox(vault, [...committed, next], "outbox after a good commit");
    equal(await vault.cursor("remote"), 9, "cursor after a good commit");
  });

  test("acknowledge removes entries and records their remote seqs", async (vault) => {
    const [a, b, c] = makeEvents(3);
    await vault.commit([a!, b!, c!], { outbox: true });
    equal(await vault.remoteSeq(a!.header.id), undefined, "remoteSeq before any ack");
    await vault.acknowledge([{ id: c!.header.id, remoteSeq: 12 }, { id: a!.header.id, remoteSeq: 10 }]);
    await expectOutbox(vault, [b!], "after acking a and c", 2);
    equal(await vault.remoteSeq(a!.header.id), 10, "remoteSeq(a)");
    equal(await vault.remoteSeq(c!.header.id), 12, "remoteSeq(c)");
    equal(await vault.remoteSeq(b!.header.id), undefined, "remoteSeq(b), not acked");
    await vault.acknowledge([]);
    await expectOutbox(vault, [b!], "after an empty ack", 2);
    await vault.acknowledge([{ id: b!.header.id, remoteSeq: 11 }]);
    await expectOutbox(vault, [], "after acking b");
    equal(await vault.remoteSeq(b!.header.id), 11, "remoteSeq(b)");
    // The puller gets own events back from the remote: they are duplicates and stay acknowledged.
    const again = await vault.commit([cloneEvent(a!), cloneEvent(b!)], { outbox: true, cursor: { name: "remote", value: 12 } });
    deepEqual(again.map((r) => r.status), ["duplicate", "duplicate"], "own events come back as duplicates");
    await expectOutbox(vault, [], "acknowledged events are not enqueued again");
    equal(await vault.remoteSeq(a!.header.id), 10, "remoteSeq(a) is kept");
    equal(await vault.head(), 3, "head");
  });

  test("acknowledging unknown or non-outbox ids is harmless", async (vault) => {
    const [a, b] = makeEvents(2);
    await vault.commit([a!], { outbox: true });
    await vault.commit([b!]);
    await vault.acknowledge([{ id: uuidv7(), remoteSeq: 5 }, { id: b!.header.id, remoteSeq: 6 }]);
    await expectOutbox(vault, [a!], "after acking ids not in the outbox");
    equal(await vault.head(), 2, "head");
    await vault.acknowledge([{ id: a!.header.id, remoteSeq: 7 }]);
    await vault.acknowledge([{ id: a!.header.id, remoteSeq: 7 }]);
    await expectOutbox(vault, [], "after acking a twice");
    equal(await vault.remoteSeq(a!.header.id), 7, "remoteSeq(a)");
  });

  test("bad acks are invalid_argument and change nothing", async (vault) => {
    const [a, b] = makeEvents(2);
    await vault.commit([a!, b!], { outbox: true });
    const id = a!.header.id;
    const bad: [string, unknown][] = [
      ["a malformed id", { id: "not-a-uuid", remoteSeq: 1 }],
      ["an uppercase id", { id: id.toUpperCase(), remoteSeq: 1 }],
      ["no id", { remoteSeq: 1 }],
      ["remoteSeq 0", { id, remoteSeq: 0 }],
      ["a negative remoteSeq", { id, remoteSeq: -1 }],
      ["a fractional remoteSeq", { id, remoteSeq: 1.5 }],
      ["a NaN remoteSeq", { id, remoteSeq: Number.NaN }],
      ["a string remoteSeq", { id, remoteSeq: "3" }],
      ["no remoteSeq", { id }],
      ["null", null],
    ];
    for (const [name, ack] of bad) {
      const acks = [{ id: b!.header.id, remoteSeq: 7 }, ack] as Ack[];
      await rejectsWithCode(() => vault.acknowledge(acks), "invalid_argument", `acknowledge with ${name}`);
      await expectOutbox(vault, [a!, b!], `outbox after an ack with ${name}`);
      equal(await vault.remoteSeq(a!.header.id), undefined, `remoteSeq(a) after an ack with ${name}`);
      equal(await vault.remoteSeq(b!.header.id), undefined, `remoteSeq(b) after an ack with ${name}`);
    }
  });

  test("deadLetter moves entries from the outbox to the dead letters, ordered by seq", async (vault) => {
    const [a, b, c, d] = makeEvents(4);
    await vault.commit([a!, b!, c!, d!], { outbox: true });
    equal((await vault.deadLetters()).length, 0, "no dead letters at first");
    const before = Date.now();
    await vault.deadLetter([
      { id: c!.header.id, error: { code: ErrorCode.invalid_argument, message: "c is bad" } },
      { id: a!.header.id, error: { code: ErrorCode.permission_denied, message: "a is not allowed" } },
    ]);
    const after = Date.now();
    await expectOutbox(vault, [b!, d!], "outbox after dead-lettering a and c", [2, 4]);
    let dead = await vault.deadLetters();
    deepEqual(dead.map((x) => x.event.seq), [1, 3], "dead letter seqs");
    assertSameEvent(dead[0]!.event, a!, "dead letter a");
    assertSameEvent(dead[1]!.event, c!, "dead letter c");
    deepEqual(dead[0]!.error, { code: "permission_denied", message: "a is not allowed" }, "error of a");
    deepEqual(dead[1]!.error, { code: "invalid_argument", message: "c is bad" }, "error of c");
    for (const x of dead) {
      ok(Number.isFinite(x.at) && x.at >= before && x.at <= after, `timestamp ${show(x.at)} of seq ${x.event.seq} not within [${before}, ${after}]`);
    }
    await vault.deadLetter([{ id: d!.header.id, error: { code: ErrorCode.failed_precondition, message: "d" } }]);
    await vault.deadLetter([{ id: b!.header.id, error: { code: ErrorCode.already_exists, message: "b" } }]);
    await expectOutbox(vault, [], "outbox after dead-lettering everything");
    dead = await vault.deadLetters();
    deepEqual(dead.map((x) => x.event.seq), [1, 2, 3, 4], "dead letters are ordered by event seq, not by when they died");
    deepEqual(dead.map((x) => x.error.code), ["permission_denied", "already_exists", "invalid_argument", "failed_precondition"], "codes");
    equal(await vault.head(), 4, "the events stay in the log");
  });

  test("deadLetter ignores ids that are not in the outbox", async (vault) => {
    const [a, b, c] = makeEvents(3);
    await vault.commit([a!, b!], { outbox: true });
    await vault.commit([c!]);
    await vault.acknowledge([{ id: b!.header.id, remoteSeq: 1 }]);
    const error = { code: ErrorCode.invalid_argument, message: "nope" };
    await vault.deadLetter([{ id: uuidv7(), error }, { id: b!.header.id, error }, { id: c!.header.id, error }]);
    deepEqual(await vault.deadLetters(), [], "no dead letters for unknown, acknowledged or never-enqueued ids");
    await expectOutbox(vault, [a!], "outbox is unchanged");
    await vault.deadLetter([{ id: a!.header.id, error }]);
    await vault.deadLetter([{ id: a!.header.id, error: { code: ErrorCode.internal, message: "again" } }]);
    const dead = await vault.deadLetters();
    deepEqual(dead.map((x) => [x.event.seq, x.error]), [[1, error]], "dead-lettering a dead letter again changes nothing");
    await vault.deadLetter([]);
    equal((await vault.deadLetters()).length, 1, "after an empty deadLetter()");
  });

  test("requeue moves dead letters back into the outbox in seq order", async (vault) => {
    const events = makeEvents(5);
    const [e1, e2, e3, e4, e5] = events;
    await vault.commit(events, { outbox: true });
    const error = { code: ErrorCode.invalid_argument, message: "bad" };
    await vault.deadLetter([{ id: e3!.header.id, error }, { id: e1!.header.id, error }]);
    await expectOutbox(vault, [e2!, e4!, e5!], "after dead-lettering 1 and 3", [2, 4, 5]);
    await vault.requeue([e3!.header.id, e1!.header.id]);
    await expectOutbox(vault, events, "after requeueing 3 and 1");
    deepEqual(await vault.deadLetters(), [], "no dead letters left");

    await vault.deadLetter([{ id: e2!.header.id, error }, { id: e4!.header.id, error }]);
    await vault.requeue([e4!.header.id]);
    await expectOutbox(vault, [e1!, e3!, e4!, e5!], "after requeueing only 4", [1, 3, 4, 5]);
    deepEqual((await vault.deadLetters()).map((x) => x.event.seq), [2], "2 stays dead");

    await vault.requeue([uuidv7(), e1!.header.id, e4!.header.id, e4!.header.id]);
    await vault.requeue([]);
    await expectOutbox(vault, [e1!, e3!, e4!, e5!], "requeueing unknown and outbox ids changes nothing", [1, 3, 4, 5]);
    deepEqual((await vault.deadLetters()).map((x) => x.event.seq), [2], "dead letters unchanged");

    const e6 = makeEvent();
    await vault.commit([e6], { outbox: true });
    await vault.requeue([e2!.header.id]);
    await expectOutbox(vault, [e1!, e2!, e3!, e4!, e5!, e6], "a requeued entry takes its seq place", [1, 2, 3, 4, 5, 6]);
    await vault.acknowledge([{ id: e2!.header.id, remoteSeq: 3 }]);
    await expectOutbox(vault, [e1!, e3!, e4!, e5!, e6], "a requeued entry can be acknowledged", [1, 3, 4, 5, 6]);
    equal(await vault.remoteSeq(e2!.header.id), 3, "remoteSeq of the requeued entry");
  });

  test("a cursor is 0 until a commit sets it", async (vault) => {
    equal(await vault.cursor("remote"), 0, "on an empty vault");
    await vault.commit(makeEvents(2), { outbox: true });
    equal(await vault.cursor("remote"), 0, "after commits without a cursor");
    await vault.commit(makeEvents(1), { cursor: { name: "remote", value: 0 } });
    equal(await vault.cursor("remote"), 0, "after setting it to 0");
    await rejectsWithCode(() => vault.cursor(""), "invalid_argument", "cursor('')");
    await rejectsWithCode(() => vault.cursor("x".repeat(129)), "invalid_argument", "cursor(129 characters)");
    await rejectsWithCode(() => vault.cursor(42 as unknown as string), "invalid_argument", "cursor(42)");
  });

  test("commit with a cursor sets it together with the events", async (vault) => {
    const [a, b, c] = makeEvents(3);
    deepEqual(await vault.commit([a!, b!], { cursor: { name: "remote", value: 7 } }), stored([a!, b!], 1), "commit");
    equal(await vault.cursor("remote"), 7, "cursor after the commit");
    await expectOutbox(vault, [], "a cursor alone enqueues nothing");
    await vault.commit([cloneEvent(a!)], { cursor: { name: "remote", value: 8 } });
    equal(await vault.cursor("remote"), 8, "a batch of duplicates still moves the cursor");
    await vault.commit([c!], { outbox: true, cursor: { name: "remote", value: 9 } });
    equal(await vault.cursor("remote"), 9, "cursor with outbox");
    await expectOutbox(vault, [c!], "outbox with cursor", 3);
    deepEqual(await vault.commit([], { cursor: { name: "remote", value: 10 } }), [], "an empty batch with a cursor");
    equal(await vault.cursor("remote"), 10, "an empty batch moves the cursor alone");
    equal(await vault.head(), 3, "and stores nothing");
    const long = "n".repeat(128);
    await vault.commit(makeEvents(1), { cursor: { name: long, value: Number.MAX_SAFE_INTEGER } });
    equal(await vault.cursor(long), Number.MAX_SAFE_INTEGER, "a 128-character name and the largest safe value");
  });

  test("a bad cursor is invalid_argument and nothing is stored", async (vault) => {
    const committed = makeEvents(1);
    await vault.commit(committed, { outbox: true, cursor: { name: "remote", value: 3 } });
    const bad: [string, unknown][] = [
      ["an empty name", { name: "", value: 4 }],
      ["a 129-character name", { name: "x".repeat(129), value: 4 }],
      ["a non-string name", { name: 42, value: 4 }],
      ["no name", { value: 4 }],
      ["a negative value", { name: "remote", value: -1 }],
      ["a fractional value", { name: "remote", value: 4.5 }],
      ["a NaN value", { name: "remote", value: Number.NaN }],
      ["an infinite value", { name: "remote", value: Number.POSITIVE_INFINITY }],
      ["a string value", { name: "remote", value: "4" }],
      ["no value", { name: "remote" }],
    ];
    for (const [name, cursor] of bad) {
      const e = makeEvent();
      const opts = { outbox: true, cursor: cursor as { name: string; value: number } };
      await rejectsWithCode(() => vault.commit([e], opts), "invalid_argument", `commit with ${name}`);
      equal(await vault.head(), 1, `head after a cursor with ${name}`);
      equal(await vault.header(e.header.id), undefined, `event stored despite a cursor with ${name}`);
      await expectOutbox(vault, committed, `outbox after a cursor with ${name}`);
      equal(await vault.cursor("remote"), 3, `cursor after a cursor with ${name}`);
    }
  });

  test("cursors are independent by name", async (vault) => {
    await vault.commit(makeEvents(1), { cursor: { name: "remote", value: 5 } });
    await vault.commit(makeEvents(1), { cursor: { name: "other", value: 3 } });
    equal(await vault.cursor("remote"), 5, "remote");
    equal(await vault.cursor("other"), 3, "other");
    equal(await vault.cursor("Remote"), 0, "names are case-sensitive");
    equal(await vault.cursor("third"), 0, "an unset name");
    await vault.commit(makeEvents(1), { cursor: { name: "remote", value: 6 } });
    equal(await vault.cursor("remote"), 6, "remote moved");
    equal(await vault.cursor("other"), 3, "other unchanged");
  });

  test("an aborted signal is canceled on every method and changes nothing", async (vault) => {
    const [a, b, c] = makeEvents(3);
    await vault.commit([a!, b!], { outbox: true, cursor: { name: "remote", value: 2 } });
    const error = { code: ErrorCode.invalid_argument, message: "bad" };
    await vault.deadLetter([{ id: b!.header.id, error }]);
    const signal = AbortSignal.abort();
    await rejectsWithCode(() => vault.commit([c!], { signal, outbox: true, cursor: { name: "remote", value: 3 } }), "canceled", "commit");
    await rejectsWithCode(() => vault.outbox({ signal }), "canceled", "outbox");
    await rejectsWithCode(() => vault.outbox({ signal, limit: 1 }), "canceled", "outbox with limit");
    await rejectsWithCode(() => vault.outboxSize({ signal }), "canceled", "outboxSize");
    await rejectsWithCode(() => vault.acknowledge([{ id: a!.header.id, remoteSeq: 1 }], { signal }), "canceled", "acknowledge");
    await rejectsWithCode(() => vault.remoteSeq(a!.header.id, { signal }), "canceled", "remoteSeq");
    await rejectsWithCode(() => vault.deadLetter([{ id: a!.header.id, error }], { signal }), "canceled", "deadLetter");
    await rejectsWithCode(() => vault.deadLetters({ signal }), "canceled", "deadLetters");
    await rejectsWithCode(() => vault.requeue([b!.header.id], { signal }), "canceled", "requeue");
    await rejectsWithCode(() => vault.cursor("remote", { signal }), "canceled", "cursor");
    await rejectsWithCode(() => vault.head({ signal }), "canceled", "head");
    await rejectsWithCode(() => vault.header(a!.header.id, { signal }), "canceled", "header");
    await rejectsWithCode(() => vault.payload(a!.header.digest, { signal }), "canceled", "payload");
    await rejectsWithCode(() => drain(vault.read({ signal })), "canceled", "read");
    equal(await vault.head(), 2, "head");
    equal(await vault.header(c!.header.id), undefined, "the canceled commit stored nothing");
    await expectOutbox(vault, [a!], "outbox");
    equal(await vault.remoteSeq(a!.header.id), undefined, "remoteSeq");
    deepEqual((await vault.deadLetters()).map((x) => x.event.seq), [2], "dead letters");
    equal(await vault.cursor("remote"), 2, "cursor");
  });

  test("every method rejects once the vault is closed", async (vault) => {
    const [a, b] = makeEvents(2);
    await vault.commit([a!, b!], { outbox: true });
    await vault.close();
    const error = { code: ErrorCode.invalid_argument, message: "bad" };
    const calls: [string, () => unknown][] = [
      ["commit", () => vault.commit([makeEvent()], { outbox: true, cursor: { name: "remote", value: 1 } })],
      ["outbox", () => vault.outbox()],
      ["outboxSize", () => vault.outboxSize()],
      ["acknowledge", () => vault.acknowledge([{ id: a!.header.id, remoteSeq: 1 }])],
      ["remoteSeq", () => vault.remoteSeq(a!.header.id)],
      ["deadLetter", () => vault.deadLetter([{ id: b!.header.id, error }])],
      ["deadLetters", () => vault.deadLetters()],
      ["requeue", () => vault.requeue([b!.header.id])],
      ["cursor", () => vault.cursor("remote")],
      ["head", () => vault.head()],
      ["header", () => vault.header(a!.header.id)],
      ["payload", () => vault.payload(a!.header.digest)],
      ["read", () => drain(vault.read())],
    ];
    for (const [name, call] of calls) await rejectsWithCode(call, "failed_precondition", `${name} after close`);
  });

  test("outbox and dead-letter events are copies", async (vault) => {
    const [a, b] = makeEvents(2);
    const originals = [cloneEvent(a!), cloneEvent(b!)];
    await vault.commit([a!, b!], { outbox: true });
    for (const e of [a!, b!]) mutate(e);
    await expectOutbox(vault, originals, "after the caller's objects changed");

    for (const s of await vault.outbox()) mutate(s);
    await expectOutbox(vault, originals, "after outbox() results changed");
    assertSameEvent((await drain(vault.read()))[0], originals[0]!, "read after outbox() results changed");

    await vault.deadLetter([{ id: originals[1]!.header.id, error: { code: ErrorCode.invalid_argument, message: "bad" } }]);
    const [dead] = await vault.deadLetters();
    mutate(dead!.event);
    assertSameEvent((await vault.deadLetters())[0]?.event, originals[1]!, "dead letter after its returned event changed");
    await vault.requeue([originals[1]!.header.id]);
    await expectOutbox(vault, originals, "requeued after the dead letter's event changed");
    assertSameEvent((await drain(vault.read()))[1], originals[1]!, "read after the dead letter's event changed");
  });

  test("dead-letter errors are copies", async (vault) => {
    const [a] = makeEvents(1);
    await vault.commit([a!], { outbox: true });
    const error = { code: ErrorCode.invalid_argument as ErrorCode, message: "bad" };
    await vault.deadLetter([{ id: a!.header.id, error }]);
    error.code = ErrorCode.internal;
    error.message = "changed by the caller";
    deepEqual((await vault.deadLetters())[0]?.error, { code: "invalid_argument", message: "bad" }, "after the caller's error changed");
    const [dead] = await vault.deadLetters();
    dead!.error.code = ErrorCode.internal;
    dead!.error.message = "changed through the result";
    dead!.at = -1;
    const [again] = await vault.deadLetters();
    deepEqual(again?.error, { code: "invalid_argument", message: "bad" }, "after a returned error changed");
    ok(again!.at > 0, `timestamp after a returned dead letter changed: ${show(again!.at)}`);
  });
}

/** The results of committing `events` as new events from `firstSeq` on. */
function stored(events: Event[], firstSeq: number) {
  return events.map((e, i) => ({ id: e.header.id, seq: firstSeq + i, status: "stored" }));
}

/**
 * Fails unless the outbox holds exactly `expected`, in order, at `seqs` (default `firstSeq`,
 * `firstSeq + 1`, … with `firstSeq` 1), and outboxSize() agrees.
 */
async function expectOutbox(vault: LocalVault, expected: Event[], what: string, seqs: number | number[] = 1): Promise<void> {
  const want = Array.isArray(seqs) ? seqs : expected.map((_, i) => seqs + i);
  const out: StoredEvent[] = await vault.outbox();
  deepEqual(out.map((s) => [s.seq, s.header.id]), expected.map((e, i) => [want[i], e.header.id]), `outbox ${what}`);
  out.forEach((s, i) => assertSameEvent(s, expected[i]!, `outbox ${what}, seq ${s.seq}`));
  equal(await vault.outboxSize(), expected.length, `outboxSize ${what}`);
}

/** Changes every field of an event in place. */
function mutate(e: Event | StoredEvent): void {
  e.header.digest[0]! ^= 1;
  for (const p of e.header.parents) p.digest[0]! ^= 1;
  e.header.parents.push({ id: uuidv7(), digest: new Uint8Array(32) });
  e.header.kind = "changed";
  e.header.timestamp += 1;
  if (e.payload.length > 0) e.payload[0]! ^= 1;
  if ("seq" in e) e.seq += 100;
}
