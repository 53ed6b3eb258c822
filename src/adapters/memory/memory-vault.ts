import {
  assertEventVerifies,
  type CommitResult,
  DIGEST_BYTES,
  equalBytes,
  ErrorCode,
  type Event,
  EventError,
  type HasherOptions,
  isBytes,
  isUuid,
  checkReadOptions,
  type ReadOptions,
  checkAck,
  checkCursor,
  checkCursorName,
  type DeadLetter,
  type LocalCommitOptions,
  type LocalVault,
  type StoredEvent,
  throwIfAborted,
  toHex,
} from "../../core/index.js";
import { createMemoryLog } from "./memory-log.js";

/** Options of {@link createMemoryVault}. */
export interface MemoryVaultOptions extends HasherOptions {
  /**
   * A partial replica (a client that syncs only some kinds): parents need not be present, but a
   * parent that is present must still have the digest its child names.
   */
  allowMissingParents?: boolean;
}

/**
 * The reference vault: keeps the log in memory with every commit rule of the design (digest
 * checked, parents known, idempotent duplicates, conflicts rejected, atomic batches, gap-free seq).
 * Events are copied in and out, so callers cannot change what is stored.
 *
 * @example
 * const vault = createMemoryVault();
 * const [r] = await vault.commit([createEvent({ kind: "chat.msg", payload })]);
 */
export function createMemoryVault(opts: MemoryVaultOptions = {}): LocalVault {
  const log = createMemoryLog();
  // payload(digest) is rare next to commit, so its index (hex digest → log index) is built when
  // asked, over the events committed since the last time.
  const byDigest = new Map<string, number>();
  let indexed = 0;
  // Sync state (LocalVault), by log index: the outbox in seq order, dead letters, remote seqs
  // (a sparse array); cursors by name.
  const outbox = new Set<number>();
  const dead = new Map<number, { error: DeadLetter["error"]; at: number }>();
  let remoteSeqs: number[] = [];
  const cursors = new Map<string, number>();
  let closed = false;

  function open(signal?: AbortSignal): void {
    if (closed) throw new EventError(ErrorCode.failed_precondition, "vault is closed");
    throwIfAborted(signal);
  }

  async function commit(events: Event[], callOpts?: LocalCommitOptions): Promise<CommitResult[]> {
    open(callOpts?.signal);
    if (!Array.isArray(events)) throw new EventError(ErrorCode.invalid_argument, "commit takes an array of events");
    const cursor = callOpts?.cursor && checkCursor(callOpts.cursor);
    for (const e of events) assertEventVerifies(e, opts);

    // Every rule is checked before anything is appended: a batch is stored whole or not at all.
    // `staged` holds the batch's new events by id, with the seq each will get.
    const staged = new Map<string, { seq: number; digest: Uint8Array }>();
    const results: CommitResult[] = [];
    let seq = log.size;
    // Where an id is, in the log or earlier in this batch: its seq and whether it has `digest`.
    const find = (id: string, digest: Uint8Array): { seq: number; same: boolean } | undefined => {
      const i = log.indexOf(id);
      if (i !== undefined) return { seq: i + 1, same: log.digestIs(i, digest) };
      const s = staged.get(id);
      return s && { seq: s.seq, same: equalBytes(s.digest, digest) };
    };
    for (const { header } of events) {
      const known = find(header.id, header.digest);
      if (known) {
        if (!known.same) {
          throw new EventError(
            ErrorCode.already_exists,
            `event ${header.id} already exists with a different digest`,
            { details: { id: header.id } },
          );
        }
        results.push({ id: header.id, seq: known.seq, status: "duplicate" });
        continue;
      }
      for (const p of header.parents) {
        const parent = find(p.id, p.digest);
        if (!parent) {
          if (opts.allowMissingParents) continue;
          throw new EventError(ErrorCode.failed_precondition, `event ${header.id}: unknown parent ${p.id}`, {
            details: { id: header.id, parent: p.id },
          });
        }
        if (!parent.same) {
          throw new EventError(
            ErrorCode.failed_precondition,
            `event ${header.id}: parent ${p.id} has a different digest than the event names`,
            { details: { id: header.id, parent: p.id } },
          );
        }
      }
      staged.set(header.id, { seq: ++seq, digest: header.digest });
      results.push({ id: header.id, seq, status: "stored" });
    }
    for (let i = 0; i < events.length; i++) {
      if (results[i]!.status !== "stored") continue;
      const { header, payload } = events[i]!;
      const seq = log.append(header, payload);
      if (callOpts?.outbox) outbox.add(seq - 1);
    }
    if (cursor) cursors.set(cursor.name, cursor.value);
    return results;
  }

  return {
    commit,
    async header(id, callOpts) {
      open(callOpts?.signal);
      if (!isUuid(id)) throw new EventError(ErrorCode.invalid_argument, "header() takes a lowercase canonical UUID");
      const i = log.indexOf(id);
      return i === undefined ? undefined : log.header(i);
    },
    async payload(digest, callOpts) {
      open(callOpts?.signal);
      if (!isBytes(digest) || digest.length !== DIGEST_BYTES) {
        throw new EventError(ErrorCode.invalid_argument, `payload() takes a ${DIGEST_BYTES}-byte digest`);
      }
      for (; indexed < log.size; indexed++) byDigest.set(toHex(log.digest(indexed)), indexed);
      const i = byDigest.get(toHex(digest));
      return i === undefined ? undefined : log.payload(i);
    },
    async head(callOpts) {
      open(callOpts?.signal);
      return log.size;
    },
    read(readOpts: ReadOptions = {}) {
      const { after, limit, matches } = checkReadOptions(readOpts);
      const signal = readOpts.signal;
      return (async function* () {
        open(signal);
        let n = 0;
        for (let i = after; i < log.size && n < limit; i++) {
          if (!matches(log.kindAt(i))) continue;
          n++;
          yield log.event(i);
          open(signal);
        }
      })();
    },
    // Nothing can be read after close, so the data goes at once, even while the vault object lives on.
    async close() {
      closed = true;
      log.clear();
      indexed = 0;
      for (const m of [byDigest, outbox, dead, cursors]) m.clear();
      remoteSeqs = [];
    },
    async outbox(o) {
      open(o?.signal);
      const { after, limit } = checkReadOptions(o ?? {});
      const out: StoredEvent[] = [];
      for (const i of outbox) {
        if (out.length >= limit) break;
        if (i + 1 > after) out.push(log.event(i));
      }
      return out;
    },
    async outboxSize(o) {
      open(o?.signal);
      return outbox.size;
    },
    async acknowledge(acks, o) {
      open(o?.signal);
      for (const a of acks) checkAck(a);
      for (const a of acks) {
        const i = log.indexOf(a.id);
        if (i === undefined) continue; // not an event of this vault: nothing to record
        outbox.delete(i);
        remoteSeqs[i] = a.remoteSeq;
      }
    },
    async remoteSeq(id, o) {
      open(o?.signal);
      const i = log.indexOf(id);
      return i === undefined ? undefined : remoteSeqs[i];
    },
    async deadLetter(items, o) {
      open(o?.signal);
      const at = Date.now();
      for (const { id, error } of items) {
        const i = log.indexOf(id);
        if (i === undefined || !outbox.delete(i)) continue;
        dead.set(i, { error: { code: error.code, message: error.message }, at });
      }
    },
    async deadLetters(o) {
      open(o?.signal);
      return [...dead.entries()]
        .sort(([a], [b]) => a - b)
        .map(([i, d]) => ({ event: log.event(i), error: { ...d.error }, at: d.at }));
    },
    async requeue(ids, o) {
      open(o?.signal);
      const back = ids.map((id) => log.indexOf(id)).filter((i): i is number => i !== undefined && dead.delete(i));
      // The outbox stays in seq order: re-insert everything in order.
      const all = [...outbox, ...back].sort((a, b) => a - b);
      outbox.clear();
      for (const i of all) outbox.add(i);
    },
    async cursor(name, o) {
      open(o?.signal);
      return cursors.get(checkCursorName(name)) ?? 0;
    },
  };
}
