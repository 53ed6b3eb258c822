import {
  type Ack,
  checkAck,
  checkCursorName,
  checkReadOptions,
  type DeadLetter,
  type ErrorCode,
  type LocalVault,
  type StoredEvent,
  toHex,
  type Vault,
} from "../../core/index.js";
import type { EventRecord, VaultDb } from "./schema.js";

type WithDb = <T>(signal: AbortSignal | undefined, fn: (db: VaultDb) => Promise<T>) => Promise<T>;
type FromRecord = (r: EventRecord, payload: Uint8Array | undefined) => StoredEvent;

/** The meta key of a named cursor. */
export const cursorKey = (name: string) => `cursor:${checkCursorName(name)}`;

/**
 * The LocalVault operations of the IndexedDB vault: each one a single transaction over the
 * stores it touches, so an ack, a dead letter or a requeue is never half done.
 */
export function syncState(withDb: WithDb, fromRecord: FromRecord): Omit<LocalVault, keyof Vault> {
  /** The stored events of some seqs, with payloads, in one readonly transaction. */
  async function load(db: VaultDb, seqs: number[]): Promise<StoredEvent[]> {
    const tx = db.transaction(["events", "payloads"], "readonly");
    const records = await Promise.all(seqs.map((s) => tx.objectStore("events").get(s)));
    const payloads = await Promise.all(records.map((r) => r && tx.objectStore("payloads").get(toHex(r.digest))));
    return records.flatMap((r, i) => (r ? [fromRecord(r, payloads[i]?.payload)] : []));
  }

  /** Seqs of event ids (unknown ids are left out), inside a transaction that includes `events`. */
  async function seqsOf(index: { getKey(id: string): Promise<number | undefined> }, ids: string[]) {
    const keys = await Promise.all(ids.map((id) => index.getKey(id)));
    return keys.filter((k): k is number => k !== undefined);
  }

  return {
    outbox: (o) =>
      withDb(o?.signal, async (db) => {
        const { after, limit } = checkReadOptions(o ?? {});
        if (limit === 0) return []; // getAll's count 0 would mean "all"
        const range = after > 0 ? IDBKeyRange.lowerBound(after, true) : undefined;
        const keys = await db.getAllKeys("outbox", range, Number.isFinite(limit) ? limit : undefined);
        return load(db, keys);
      }),
    outboxSize: (o) => withDb(o?.signal, (db) => db.count("outbox")),
    acknowledge: (acks: Ack[], o) => {
      for (const a of acks) checkAck(a);
      return withDb(o?.signal, async (db) => {
        const tx = db.transaction(["events", "outbox", "acks"], "readwrite", { durability: "strict" });
        const seqs = await seqsOf(tx.objectStore("events").index("id"), acks.map((a) => a.id));
        await Promise.all([
          ...seqs.map((s) => tx.objectStore("outbox").delete(s)),
          ...acks.map((a) => tx.objectStore("acks").put({ id: a.id, remoteSeq: a.remoteSeq })),
        ]);
        await tx.done;
      });
    },
    remoteSeq: (id, o) => withDb(o?.signal, async (db) => (await db.get("acks", id))?.remoteSeq),
    deadLetter: (items, o) =>
      withDb(o?.signal, async (db) => {
        const tx = db.transaction(["events", "outbox", "dead"], "readwrite", { durability: "strict" });
        const at = Date.now();
        const byId = tx.objectStore("events").index("id");
        for (const { id, error } of items) {
          const seq = await byId.getKey(id);
          if (seq === undefined || (await tx.objectStore("outbox").getKey(seq)) === undefined) continue;
          await tx.objectStore("outbox").delete(seq);
          await tx.objectStore("dead").put({ seq, error: { code: error.code, message: error.message }, at });
        }
        await tx.done;
      }),
    deadLetters: (o) =>
      withDb(o?.signal, async (db) => {
        const dead = await db.getAll("dead");
        const events = await load(db, dead.map((d) => d.seq));
        return events.map((event, i): DeadLetter => ({ event, error: { ...dead[i]!.error, code: dead[i]!.error.code as ErrorCode }, at: dead[i]!.at }));
      }),
    requeue: (ids, o) =>
      withDb(o?.signal, async (db) => {
        const tx = db.transaction(["events", "outbox", "dead"], "readwrite", { durability: "strict" });
        for (const seq of await seqsOf(tx.objectStore("events").index("id"), ids)) {
          if ((await tx.objectStore("dead").getKey(seq)) === undefined) continue;
          await tx.objectStore("dead").delete(seq);
          await tx.objectStore("outbox").put({ seq });
        }
        await tx.done;
      }),
    cursor: (name, o) => {
      const key = cursorKey(name);
      return withDb(o?.signal, async (db) => ((await db.get("meta", key)) as number | undefined) ?? 0);
    },
  };
}
