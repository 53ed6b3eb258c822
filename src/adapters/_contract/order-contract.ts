// Pipelined commits (CommitOptions.after): a client with several batches in flight names the last
// event of the batch before each one, and the store keeps them in that order whatever order they
// arrive in. One suite for every event store, local or remote.
import { type CommitOptions, type CommitResult, type Event, type ReadOptions, type StoredEvent, uuidv7 } from "../../core/index.js";
import { deepEqual, equal, ok, rejectsWithCode } from "./assert.js";
import { type ContractRunner, makeEvent, makeEvents, pause, subjectTest } from "./harness.js";

/** An event store, as far as ordered commits go. */
export interface OrderUnderTest {
  commit(events: Event[], opts?: CommitOptions): Promise<CommitResult[]>;
  read(opts?: ReadOptions): AsyncIterable<StoredEvent>;
  close(): Promise<void> | void;
}

async function ids(store: OrderUnderTest): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.read()) out.push(e.header.id);
  return out;
}

const last = (batch: Event[]) => batch[batch.length - 1]!.header.id;

/**
 * Runs the ordered-commit contract: `after` a stored event commits; batches started in reverse
 * order are stored in the order they name; a batch behind a failed one fails with `aborted`; an
 * `after` that never comes fails with `aborted` once the wait runs out; a malformed `after` is
 * `invalid_argument`. Nothing is stored by a failed call. `make` gives a fresh, empty store.
 *
 * @example
 * orderContract({ test: (name, fn) => it(name, fn) }, () => createEventStore({ vault, bus }));
 */
export function orderContract(run: ContractRunner, make: () => Promise<OrderUnderTest> | OrderUnderTest): void {
  const test = subjectTest(run, "order", make);

  test("a batch after a stored event commits behind it", async (store) => {
    const [a, b] = [makeEvents(2), makeEvents(1)];
    await store.commit(a!);
    const r = await store.commit(b!, { after: last(a!) });
    deepEqual(r.map((x) => x.status), ["stored"], "statuses");
    deepEqual(await ids(store), [...a!, ...b!].map((e) => e.header.id), "log order");
  });

  test("batches started in reverse order are stored in the order they name", async (store) => {
    const batches = Array.from({ length: 6 }, () => makeEvents(3));
    const calls: Promise<CommitResult[]>[] = [];
    for (let i = batches.length - 1; i >= 0; i--) {
      calls.push(store.commit(batches[i]!, i === 0 ? {} : { after: last(batches[i - 1]!) }));
      await pause(5); // let each one reach the store before the next starts
    }
    const results = (await Promise.all(calls)).reverse();
    for (const [i, r] of results.entries()) deepEqual(r.map((x) => x.status), ["stored", "stored", "stored"], `batch ${i}`);
    deepEqual(await ids(store), batches.flat().map((e) => e.header.id), "log order");
    const seqs = results.flat().map((r) => r.seq);
    deepEqual(seqs, seqs.map((_, i) => i + 1), "seqs follow the batches");
  });

  test("a batch behind one that failed fails with aborted at once, and nothing is stored", async (store) => {
    const refused = [makeEvent(), makeEvent({ parents: [makeEvent().header] })]; // an unknown parent
    const follower = makeEvents(2);
    const first = store.commit(refused);
    const second = store.commit(follower, { after: last(refused) });
    await rejectsWithCode(() => first, "failed_precondition", "the refused batch");
    const err = await rejectsWithCode(() => second, "aborted", "the batch behind it");
    ok(/its batch failed/.test(err.message), `the follower says why: ${err.message}`);
    deepEqual(await ids(store), [], "nothing stored");
  });

  test("an after that never comes fails with aborted once the wait runs out, and nothing is stored", async (store) => {
    const missing = uuidv7();
    const err = await rejectsWithCode(() => store.commit(makeEvents(2), { after: missing }), "aborted", "after an unknown event");
    ok(err.message.includes(missing), `the error names the event: ${err.message}`);
    deepEqual(await ids(store), [], "nothing stored");
    const r = await store.commit(makeEvents(1));
    equal(r[0]!.seq, 1, "the store goes on");
  });

  test("an after that is not an event id is invalid_argument, and nothing is stored", async (store) => {
    await store.commit(makeEvents(1));
    for (const bad of ["nope", "", 42, "018f5e2a-0000-7000-8000-00000000000G"] as unknown[]) {
      await rejectsWithCode(() => store.commit(makeEvents(1), { after: bad as string }), "invalid_argument", `after ${JSON.stringify(bad)}`);
    }
    equal((await ids(store)).length, 1, "only the first event");
  });
}
