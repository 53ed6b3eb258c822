// Conversions between the core types and the generated protobuf messages. Decoding does not
// judge content (the store's commit rules do); it only refuses numbers that cannot be a seq or
// timestamp, so nothing is silently rounded.
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type CommitResult,
  ErrorCode,
  type Event,
  EventError,
  type EventHeader,
  type StoredEvent,
} from "../../core/index.js";
import type * as pb from "./gen/toka/events/v1/event_pb.js";
import type { EventHeaderSchema, EventSchema, StoredEventSchema } from "./gen/toka/events/v1/event_pb.js";
import { CommitStatus, type CommitResultSchema } from "./gen/toka/events/v1/event_store_pb.js";

const MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** A protobuf uint64/int64 as a safe integer; `invalid_argument` when it is not one. */
export function toNumber(v: bigint, what: string): number {
  if (v < 0n || v > MAX) throw new EventError(ErrorCode.invalid_argument, `${what} ${v} is out of range`);
  return Number(v);
}

export function headerToProto(h: EventHeader): MessageInitShape<typeof EventHeaderSchema> {
  return {
    id: h.id,
    parents: h.parents.map((p) => ({ id: p.id, digest: p.digest })),
    timestamp: BigInt(h.timestamp),
    digest: h.digest,
    intent: h.intent,
    kind: h.kind,
  };
}

export function headerFromProto(h: pb.EventHeader | undefined): EventHeader {
  if (!h) throw new EventError(ErrorCode.invalid_argument, "event without a header");
  return {
    id: h.id,
    parents: h.parents.map((p) => ({ id: p.id, digest: p.digest })),
    timestamp: h.timestamp < 0n ? -1 : toNumber(h.timestamp, `event ${h.id}: timestamp`),
    digest: h.digest,
    intent: h.intent,
    kind: h.kind,
  };
}

export function eventToProto(e: Event): MessageInitShape<typeof EventSchema> {
  return { header: headerToProto(e.header), payload: e.payload };
}

export function eventFromProto(e: pb.Event): Event {
  return { header: headerFromProto(e.header), payload: e.payload };
}

export function storedToProto(e: StoredEvent, withPayload = true): MessageInitShape<typeof StoredEventSchema> {
  return { seq: BigInt(e.seq), header: headerToProto(e.header), payload: withPayload ? e.payload : undefined };
}

/** A stored event from the wire; a missing payload (headers-only subscription) becomes empty bytes. */
export function storedFromProto(e: pb.StoredEvent): StoredEvent {
  return { seq: toNumber(e.seq, "seq"), header: headerFromProto(e.header), payload: e.payload ?? new Uint8Array(0) };
}

export function resultToProto(r: CommitResult): MessageInitShape<typeof CommitResultSchema> {
  return {
    id: r.id,
    seq: BigInt(r.seq),
    status: r.status === "stored" ? CommitStatus.STORED : CommitStatus.DUPLICATE,
  };
}

export function resultFromProto(r: { id: string; seq: bigint; status: CommitStatus }): CommitResult {
  if (r.status !== CommitStatus.STORED && r.status !== CommitStatus.DUPLICATE) {
    throw new EventError(ErrorCode.internal, `server sent an unknown commit status for ${r.id}`);
  }
  return { id: r.id, seq: toNumber(r.seq, "seq"), status: r.status === CommitStatus.STORED ? "stored" : "duplicate" };
}
