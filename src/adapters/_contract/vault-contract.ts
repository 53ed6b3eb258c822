// The commit rules of DESIGN §2 and the query API of §3, as one suite every vault and store runs.
import { type Event, NIL_INTENT, refOf, uuidv4, uuidv7, type Vault } from "../../core/index.js";
import { deepEqual, equal, ok, rejectsWithCode, show } from "./assert.js";
import {
  assertIntact,
  assertSameEvent,
  cloneEvent,
  type ContractRunner,
  drain,
  makeEvent,
  makeEvents,
  MALFORMED_EVENTS,
  redigest,
  subjectTest,
  tampered,
} from "./harness.js";

/** Options a vault under test is opened with. */
export interface VaultContractOptions {
  allowMissingParents?: boolean;
}

/**
 * Runs the vault contract: every MUST of the commit rules, the query API, input validation and
 * copy semantics. `make` opens a fresh, empty vault for each test.
 *
 * @example
 * vaultContract({ test: (name, fn) => it(name, fn) }, (opts) => createMemoryVault(opts));
 */
export function vaultContract(
  run: ContractRunner,
  make: (opts?: VaultContractOptions) => Promise<Vault> | Vault,
): void {
  const test = (name: string, fn: (vault: Vault) => Promise<void>, opts?: VaultContractOptions) =>
    subjectTest(run, "vault", () => make(opts))(name, fn);

  test("an empty vault has head 0 and reads nothing", async (vault) => {
    equal(await vault.head(), 0, "head");
    deepEqual(await drain(vault.read()), [], "read");
    equal(await vault.header(uuidv7()), undefined, "header of an unknown id");
    equal(await vault.payload(new Uint8Array(32)), undefined, "payload of an unknown digest");
  });

  test("seqs are 1-based and gap-free in commit order", async (vault) => {
    const [a, b, c, d] = makeEvents(4);
    const results = [...(await vault.commit([a!])), ...(await vault.commit([b!, c!])), ...(await vault.commit([d!]))];
    deepEqual(results, [a, b, c, d].map((e, i) => ({ id: e!.header.id, seq: i + 1, status: "stored" })), "results");
    equal(await vault.head(), 4, "head");
    const log = await drain(vault.read());
    deepEqual(log.map((s) => s.seq), [1, 2, 3, 4], "read seqs");
    log.forEach((s, i) => assertSameEvent(s, [a, b, c, d][i]!, `read seq ${s.seq}`));
  });

  test("header(), payload() and read() return what was committed", async (vault) => {
    const parent = makeEvent({ kind: "chat.room.open" });
    const child = makeEvent({ kind: "chat.msg@2", parents: [parent.header], intent: uuidv4(), timestamp: 1_700_000_000_123 });
    await vault.commit([parent, child]);
    assertSameEvent({ header: (await vault.header(child.header.id))!, payload: child.payload }, child, "header()");
    deepEqual(await vault.payload(child.header.digest), child.payload, "payload()");
    const [s1, s2] = await drain(vault.read());
    assertSameEvent(s1, parent, "read parent");
    assertSameEvent(s2, child, "read child");
  });

  test("payload() finds events committed after an earlier payload() call", async (vault) => {
    const first = makeEvent({ payload: new Uint8Array([1]) });
    await vault.commit([first]);
    deepEqual(await vault.payload(first.header.digest), first.payload, "payload() of the first");
    const later = [makeEvent({ payload: new Uint8Array([2]) }), makeEvent({ payload: new Uint8Array([3]) })];
    equal(await vault.payload(later[0]!.header.digest), undefined, "payload() before its commit");
    await vault.commit(later);
    for (const e of [first, ...later]) deepEqual(await vault.payload(e.header.digest), e.payload, `payload() ${e.payload[0]}`);
  });

  test("read() filters by kinds, after and limit, in seq order", async (vault) => {
    const kinds = ["chat.msg", "note.add", "chat.room.open", "note.add@2", "chat", "chat.msg@3"];
    await vault.commit(kinds.map((kind) => makeEvent({ kind })));
    const seqs = async (opts: Parameters<Vault["read"]>[0]) => (await drain(vault.read(opts))).map((s) => s.seq);
    deepEqual(await seqs({}), [1, 2, 3, 4, 5, 6], "all");
    deepEqual(await seqs({ kinds: ["*"] }), [1, 2, 3, 4, 5, 6], "kinds *");
    deepEqual(await seqs({ kinds: ["chat.*"] }), [1, 3, 6], "kinds chat.*");
    deepEqual(await seqs({ kinds: ["note.add"] }), [2, 4], "a base kind matches its versions");
    deepEqual(await seqs({ kinds: ["note.add@2"] }), [4], "a versioned pattern is exact");
    deepEqual(await seqs({ kinds: ["chat", "note.add@2"] }), [4, 5], "several patterns");
    deepEqual(await seqs({ after: 4 }), [5, 6], "after");
    deepEqual(await seqs({ after: 6 }), [], "after head");
    deepEqual(await seqs({ after: 1, limit: 2 }), [2, 3], "after + limit");
    deepEqual(await seqs({ kinds: ["chat.*"], after: 1, limit: 1 }), [3], "kinds + after + limit");
    deepEqual(await seqs({ limit: 0 }), [], "limit 0");
  });

  test("a forged digest is invalid_argument and nothing is stored", async (vault) => {
    const committed = makeEvents(2);
    await vault.commit(committed);
    const flipped = tampered((h) => (h.digest[0]! ^= 1));
    const otherPayload = tampered((_, e) => (e.payload = new Uint8Array([1, 2, 3])));
    const otherKind = tampered((h) => (h.kind = "other.kind"));
    for (const bad of [flipped, otherPayload, otherKind]) {
      await rejectsWithCode(() => vault.commit([bad]), "invalid_argument", "forged digest");
      await assertIntact(vault, committed, [bad]);
    }
  });

  test("an unknown parent is failed_precondition; a parent earlier in the batch counts", async (vault) => {
    const committed: Event[] = [];
    const parent = makeEvent();
    const child = makeEvent({ parents: [parent.header] });
    await rejectsWithCode(() => vault.commit([child]), "failed_precondition", "unknown parent");
    await rejectsWithCode(() => vault.commit([child, parent]), "failed_precondition", "parent later in the batch");
    await assertIntact(vault, committed, [child, parent]);
    deepEqual((await vault.commit([parent, child])).map((r) => r.seq), [2, 3], "parent earlier in the batch");
  });

  test("a parent named with a wrong digest is failed_precondition", async (vault) => {
    const parent = makeEvent();
    const committed = [parent];
    await vault.commit([parent]);
    const wrong = { id: parent.header.id, digest: parent.header.digest.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    const child = makeEvent({ parents: [wrong] });
    await rejectsWithCode(() => vault.commit([child]), "failed_precondition", "stored parent, wrong digest");
    await assertIntact(vault, committed, [child]);
    const p2 = makeEvent();
    const c2 = makeEvent({ parents: [{ id: p2.header.id, digest: makeEvent().header.digest }] });
    await rejectsWithCode(() => vault.commit([p2, c2]), "failed_precondition", "parent earlier in the batch, wrong digest");
    await assertIntact(vault, committed, [p2, c2]);
  });

  test("allowMissingParents skips the presence check but not the digest checks", async (vault) => {
    const absent = makeEvent();
    const orphan = makeEvent({ parents: [absent.header] });
    deepEqual(await vault.commit([orphan]), [{ id: orphan.header.id, seq: 1, status: "stored" }], "missing parent allowed");
    const committed = [orphan];
    const wrongRef = { id: orphan.header.id, digest: absent.header.digest };
    const child = makeEvent({ parents: [wrongRef] });
    await rejectsWithCode(() => vault.commit([child]), "failed_precondition", "present parent, wrong digest");
    const p2 = makeEvent();
    const c2 = makeEvent({ parents: [{ id: p2.header.id, digest: absent.header.digest }] });
    await rejectsWithCode(() => vault.commit([p2, c2]), "failed_precondition", "batch parent, wrong digest");
    const forged = cloneEvent(makeEvent({ parents: [absent.header] }));
    forged.header.digest[31]! ^= 0x80; // the event's own digest is still checked
    await rejectsWithCode(() => vault.commit([forged]), "invalid_argument", "forged digest");
    await assertIntact(vault, committed, [child, p2, c2, forged]);
  }, { allowMissingParents: true });

  test("duplicate parent ids are invalid_argument", async (vault) => {
    const parent = makeEvent();
    await vault.commit([parent]);
    const child = cloneEvent(makeEvent({ parents: [parent.header] }));
    child.header.parents.push(refOf(parent));
    await rejectsWithCode(() => vault.commit([redigest(child)]), "invalid_argument", "duplicate parent");
    await assertIntact(vault, [parent], [child]);
  });

  test("the same event again is a duplicate with its original seq", async (vault) => {
    const [a, b, c] = makeEvents(3);
    await vault.commit([a!, b!]);
    deepEqual(await vault.commit([cloneEvent(b!)]), [{ id: b!.header.id, seq: 2, status: "duplicate" }], "again");
    deepEqual(await vault.commit([c!, a!, c!]), [
      { id: c!.header.id, seq: 3, status: "stored" },
      { id: a!.header.id, seq: 1, status: "duplicate" },
      { id: c!.header.id, seq: 3, status: "duplicate" },
    ], "within one batch");
    equal(await vault.head(), 3, "head");
    deepEqual((await drain(vault.read())).map((s) => s.header.id), [a, b, c].map((e) => e!.header.id), "stored once");
  });

  test("the same id with a different digest is already_exists and nothing is stored", async (vault) => {
    const a = makeEvent();
    await vault.commit([a]);
    const committed = [a];
    const twin = makeEvent({ id: a.header.id });
    await rejectsWithCode(() => vault.commit([twin]), "already_exists", "conflict with a stored event");
    const fresh = makeEvent();
    await rejectsWithCode(() => vault.commit([fresh, twin]), "already_exists", "conflict after a new event");
    const b = makeEvent();
    const bTwin = makeEvent({ id: b.header.id, kind: "other.kind" });
    await rejectsWithCode(() => vault.commit([b, bTwin]), "already_exists", "conflict within one batch");
    await assertIntact(vault, committed, [fresh, b]);
    assertSameEvent((await drain(vault.read()))[0], a, "the original is kept");
  });

  test("a batch is atomic: a bad event at its end stores none of it", async (vault) => {
    const committed = makeEvents(2);
    await vault.commit(committed);
    const cases: [Event, string][] = [
      [tampered((h) => (h.digest[5]! ^= 4)), "invalid_argument"],
      [makeEvent({ parents: [makeEvent().header] }), "failed_precondition"],
      [makeEvent({ id: committed[0]!.header.id }), "already_exists"],
      [tampered((h, e) => ((h.kind = "BAD"), redigest(e))), "invalid_argument"],
    ];
    for (const [bad, code] of cases) {
      const batch = [...makeEvents(3), bad];
      await rejectsWithCode(() => vault.commit(batch), code, `batch ending with a bad event (${code})`);
      await assertIntact(vault, committed, batch.slice(0, 3));
    }
  });

  test("concurrent commits still get gap-free seqs", async (vault) => {
    const batches = Array.from({ length: 40 }, (_, i) => makeEvents(1 + (i % 3)));
    const results = await Promise.all(batches.map((b) => vault.commit(b)));
    const seqs = results.flat().map((r) => r.seq).sort((x, y) => x - y);
    deepEqual(seqs, seqs.map((_, i) => i + 1), "seqs are 1..n");
    for (const rs of results) rs.forEach((r, i) => equal(r.seq, rs[0]!.seq + i, "a batch is contiguous"));
    const bySeq = new Map(results.flat().map((r) => [r.seq, r.id]));
    for (const s of await drain(vault.read())) equal(s.header.id, bySeq.get(s.seq), `read id at seq ${s.seq}`);
  });

  test("concurrent commits of one event store it once", async (vault) => {
    const e = makeEvent();
    const results = (await Promise.all(Array.from({ length: 8 }, () => vault.commit([cloneEvent(e)])))).flat();
    equal(results.filter((r) => r.status === "stored").length, 1, "stored once");
    ok(results.every((r) => r.seq === 1 && r.id === e.header.id), "every result names seq 1");
    const twin = makeEvent();
    const settled = await Promise.allSettled([vault.commit([twin]), vault.commit([makeEvent({ id: twin.header.id })])]);
    equal(settled.filter((s) => s.status === "fulfilled").length, 1, "one of two conflicting commits wins");
    const lost = settled.find((s) => s.status === "rejected");
    await rejectsWithCode(() => Promise.reject(lost?.reason), "already_exists", "the other conflicts");
    equal(await vault.head(), 2, "head");
  });

  test("malformed events are invalid_argument and change nothing", async (vault) => {
    const committed = makeEvents(1);
    await vault.commit(committed);
    for (const [name, tamper] of MALFORMED_EVENTS) {
      const bad = tampered(tamper);
      await rejectsWithCode(() => vault.commit([bad]), "invalid_argument", name);
      await assertIntact(vault, committed, [bad]);
    }
    const longest = makeEvent({ kind: "a".repeat(128) });
    equal((await vault.commit([longest]))[0]?.status, "stored", "a 128-byte kind is fine");
  });

  test("commit takes an array of events", async (vault) => {
    const committed: Event[] = [];
    for (const arg of [makeEvent(), null, undefined, "events", [null], [42]]) {
      await rejectsWithCode(() => vault.commit(arg as unknown as Event[]), "invalid_argument", `commit(${show(arg)})`);
      await assertIntact(vault, committed);
    }
    deepEqual(await vault.commit([]), [], "an empty batch");
  });

  test("an aborted signal is canceled and stores nothing", async (vault) => {
    const committed = makeEvents(1);
    await vault.commit(committed);
    const signal = AbortSignal.abort();
    const e = makeEvent();
    await rejectsWithCode(() => vault.commit([e], { signal }), "canceled", "commit");
    await rejectsWithCode(() => drain(vault.read({ signal })), "canceled", "read");
    await rejectsWithCode(() => vault.head({ signal }), "canceled", "head");
    await rejectsWithCode(() => vault.header(e.header.id, { signal }), "canceled", "header");
    await rejectsWithCode(() => vault.payload(e.header.digest, { signal }), "canceled", "payload");
    await assertIntact(vault, committed, [e]);
  });

  test("bad read options and lookup keys are invalid_argument", async (vault) => {
    const committed = makeEvents(2);
    await vault.commit(committed);
    const bad = [{ after: -1 }, { after: 1.5 }, { limit: -1 }, { kinds: ["Chat"] }, { kinds: ["chat.*.x"] }, { kinds: "chat.*" }];
    for (const opts of bad) {
      await rejectsWithCode(() => drain(vault.read(opts as never)), "invalid_argument", `read(${JSON.stringify(opts)})`);
    }
    await rejectsWithCode(() => vault.header("NOT-A-UUID"), "invalid_argument", "header(malformed id)");
    await rejectsWithCode(() => vault.payload(new Uint8Array(31)), "invalid_argument", "payload(31-byte digest)");
    await assertIntact(vault, committed);
  });

  test("stored events cannot be changed through the caller's or the returned objects", async (vault) => {
    const parent = makeEvent();
    const child = makeEvent({ parents: [parent.header], intent: NIL_INTENT });
    const original = cloneEvent(child);
    await vault.commit([parent, child]);
    child.header.digest[0]! ^= 1;
    child.header.parents[0]!.digest[0]! ^= 1;
    child.header.parents.push({ id: uuidv7(), digest: new Uint8Array(32) });
    child.header.kind = "changed";
    child.payload[0]! ^= 1;
    const check = async (what: string) => {
      assertSameEvent((await drain(vault.read({ after: 1 })))[0], original, `read ${what}`);
      assertSameEvent({ header: (await vault.header(original.header.id))!, payload: original.payload }, original, `header ${what}`);
      deepEqual(await vault.payload(original.header.digest), original.payload, `payload ${what}`);
    };
    await check("after the caller's objects changed");
    const [read] = await drain(vault.read({ after: 1 }));
    const header = (await vault.header(original.header.id))!;
    const payload = (await vault.payload(original.header.digest))!;
    for (const h of [read!.header, header]) {
      h.digest[0]! ^= 1;
      h.parents[0]!.digest[0]! ^= 1;
      h.parents.length = 0;
      h.kind = "changed";
    }
    read!.payload[0]! ^= 1;
    payload[0]! ^= 1;
    await check("after returned objects changed");
  });
}
