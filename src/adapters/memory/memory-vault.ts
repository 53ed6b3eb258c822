import {
  assertEventVerifies,
  type CommitResult,
  DIGEST_BYTES,
  equalBytes,
  ErrorCode,
  type Event,
  EventError,
  type EventHeader,
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
  const log: StoredEvent[] = [];
  const byId = new Map<string, StoredEvent>();
  // payload(digest) is rare next to commit, so its index (by hex digest) is built when asked,
  // over the events committed since the last time.
  const payloads = new Map<string, Uint8Array>();
  let indexed = 0;
  // Sync state (LocalVault): ids in the outbox in seq order, dead letters, remote seqs, cursors.
  const outbox = new Set<string>();
  const dead = new Map<string, DeadLetter>();
  const remoteSeqs = new Map<string, number>();
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

    const staged = new Map<string, StoredEvent>();
    const results: CommitResult[] = [];
    let seq = log.length;
    for (const { header, payload } of events) {
      const known = byId.get(header.id) ?? staged.get(header.id);
      if (known) {
        if (!equalBytes(known.header.digest, header.digest)) {
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
        const parent = byId.get(p.id) ?? staged.get(p.id);
        if (!parent) {
          if (opts.allowMissingParents) continue;
          throw new EventError(ErrorCode.failed_precondition, `event ${header.id}: unknown parent ${p.id}`, {
            details: { id: header.id, parent: p.id },
          });
        }
        if (!equalBytes(parent.header.digest, p.digest)) {
          throw new EventError(
            ErrorCode.failed_precondition,
            `event ${header.id}: parent ${p.id} has a different digest than the event names`,
            { details: { id: header.id, parent: p.id } },
          );
        }
      }
      const stored = copy({ seq: ++seq, header, payload });
      staged.set(header.id, stored);
      results.push({ id: header.id, seq: stored.seq, status: "stored" });
    }
    for (const e of staged.values()) {
      log.push(e);
      byId.set(e.header.id, e);
      if (callOpts?.outbox) outbox.add(e.header.id);
    }
    if (cursor) cursors.set(cursor.name, cursor.value);
    return results;
  }

  return {
    commit,
    async header(id, callOpts) {
      open(callOpts?.signal);
      if (!isUuid(id)) throw new EventError(ErrorCode.invalid_argument, "header() takes a lowercase canonical UUID");
      const e = byId.get(id);
      return e && copyHeader(e.header);
    },
    async payload(digest, callOpts) {
      open(callOpts?.signal);
      if (!isBytes(digest) || digest.length !== DIGEST_BYTES) {
        throw new EventError(ErrorCode.invalid_argument, `payload() takes a ${DIGEST_BYTES}-byte digest`);
      }
      for (; indexed < log.length; indexed++) payloads.set(toHex(log[indexed]!.header.digest), log[indexed]!.payload);
      return payloads.get(toHex(digest))?.slice();
    },
    async head(callOpts) {
      open(callOpts?.signal);
      return log.length;
    },
    read(readOpts: ReadOptions = {}) {
      const { after, limit, matches } = checkReadOptions(readOpts);
      const signal = readOpts.signal;
      return (async function* () {
        open(signal);
        let n = 0;
        for (let i = after; i < log.length && n < limit; i++) {
          const e = log[i]!;
          if (!matches(e.header.kind)) continue;
          n++;
          yield copy(e);
          open(signal);
        }
      })();
    },
    // Nothing can be read after close, so the data goes at once, even while the vault object lives on.
    async close() {
      closed = true;
      log.length = 0;
      indexed = 0;
      for (const m of [byId, payloads, outbox, dead, remoteSeqs, cursors]) m.clear();
    },
    async outbox(o) {
      open(o?.signal);
      const { after, limit } = checkReadOptions(o ?? {});
      const out: StoredEvent[] = [];
      for (const id of outbox) {
        if (out.length >= limit) break;
        const e = byId.get(id)!;
        if (e.seq > after) out.push(copy(e));
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
        outbox.delete(a.id);
        remoteSeqs.set(a.id, a.remoteSeq);
      }
    },
    async remoteSeq(id, o) {
      open(o?.signal);
      return remoteSeqs.get(id);
    },
    async deadLetter(items, o) {
      open(o?.signal);
      const at = Date.now();
      for (const { id, error } of items) {
        const e = byId.get(id);
        if (!e || !outbox.has(id)) continue;
        outbox.delete(id);
        dead.set(id, { event: e, error: { code: error.code, message: error.message }, at });
      }
    },
    async deadLetters(o) {
      open(o?.signal);
      return [...dead.values()]
        .sort((a, b) => a.event.seq - b.event.seq)
        .map((d) => ({ event: copy(d.event), error: { ...d.error }, at: d.at }));
    },
    async requeue(ids, o) {
      open(o?.signal);
      const back = ids.filter((id) => dead.delete(id));
      // The outbox stays in seq order: re-insert everything in order.
      const all = [...outbox, ...back].sort((a, b) => byId.get(a)!.seq - byId.get(b)!.seq);
      outbox.clear();
      for (const id of all) outbox.add(id);
    },
    async cursor(name, o) {
      open(o?.signal);
      return cursors.get(checkCursorName(name)) ?? 0;
    },
  };
}

function copyHeader(h: EventHeader): EventHeader {
  return {
    id: h.id,
    parents: h.parents.map((p) => ({ id: p.id, digest: p.digest.slice() })),
    timestamp: h.timestamp,
    digest: h.digest.slice(),
    intent: h.intent,
    kind: h.kind,
  };
}

function copy(e: StoredEvent): StoredEvent {
  return { seq: e.seq, header: copyHeader(e.header), payload: e.payload.slice() };
}
