import { equalBytes, isBytes } from "./bytes.js";
import { DIGEST_BYTES, digestOf, type HasherOptions } from "./digest.js";
import { ErrorCode, EventError } from "./errors.js";
import { assertKind, isValidKind } from "./kind.js";
import { type Event, type EventHeader, type EventRef, NIL_INTENT } from "./types.js";
import { isUuid, uuidFromBytes, uuidv7Bytes } from "./uuid.js";

/** Input of {@link createEvent}. */
export interface CreateEventInput {
  kind: string;
  payload: Uint8Array;
  /** Causal parents: their headers or `{ id, digest }` references. */
  parents?: readonly (EventHeader | EventRef)[];
  intent?: string;
  /** Integer ms since the epoch; now by default. */
  timestamp?: number;
  /** A lowercase canonical UUID; a new UUIDv7 by default. */
  id?: string;
}

/**
 * Builds an event with its causal digest v1.
 *
 * @example
 * const a = createEvent({ kind: "chat.msg", payload: text.encode("hi") });
 * const b = createEvent({ kind: "chat.msg", payload: text.encode("re: hi"), parents: [a.header] });
 */
export function createEvent(input: CreateEventInput, opts?: HasherOptions): Event {
  if (typeof input !== "object" || input === null) throw invalid("createEvent needs an input object");
  const { kind, payload } = input;
  assertKind(kind);
  if (!isBytes(payload)) throw invalid("payload must be a Uint8Array (use a codec for other values)");
  if (input.parents !== undefined && !Array.isArray(input.parents)) throw invalid("parents must be an array");
  const idBytes = input.id === undefined ? uuidv7Bytes() : undefined;
  const id = idBytes ? uuidFromBytes(idBytes) : input.id!;
  const header: EventHeader = {
    id,
    parents: (input.parents ?? []).map((p) => ({ id: p?.id, digest: p?.digest })),
    timestamp: input.timestamp ?? Date.now(),
    digest: new Uint8Array(0),
    intent: input.intent ?? NIL_INTENT,
    kind,
  };
  checkParents(header);
  if (!Number.isSafeInteger(header.timestamp) || header.timestamp < 0) {
    throw invalid(`event ${id}: timestamp must be a non-negative integer of ms, got ${String(header.timestamp)}`, id);
  }
  if (!idBytes && !isUuid(id)) throw invalid(`event id must be a lowercase canonical UUID, got ${show(id)}`);
  if (header.intent !== NIL_INTENT && !isUuid(header.intent)) throw invalid(`event ${id}: intent must be a lowercase canonical UUID`, id);
  header.digest = digestOf(header, payload, opts, idBytes);
  return { header, payload };
}

/**
 * Checks that an event is well formed (ids, kind, timestamp, parents, digest length, payload type)
 * and throws `invalid_argument` naming the event otherwise. Does not check the digest value.
 */
export function validateEvent(event: unknown): asserts event is Event {
  if (typeof event !== "object" || event === null) throw invalid("an event must be an object");
  const { header, payload } = event as Partial<Event>;
  if (typeof header !== "object" || header === null) throw invalid("an event needs a header object");
  const { id, kind, intent, timestamp, digest, parents } = header;
  if (!isUuid(id)) throw invalid(`event id must be a lowercase canonical UUID, got ${show(id)}`);
  const ctx = { details: { id } };
  if (!isValidKind(kind)) {
    throw new EventError(ErrorCode.invalid_argument, `event ${id}: invalid kind ${show(kind)}`, ctx);
  }
  if (!isUuid(intent)) throw new EventError(ErrorCode.invalid_argument, `event ${id}: intent must be a lowercase canonical UUID`, ctx);
  if (!Number.isSafeInteger(timestamp) || (timestamp as number) < 0) {
    throw new EventError(ErrorCode.invalid_argument, `event ${id}: timestamp must be a non-negative integer of ms`, ctx);
  }
  if (!isBytes(digest) || digest.length !== DIGEST_BYTES) {
    throw new EventError(ErrorCode.invalid_argument, `event ${id}: digest must be ${DIGEST_BYTES} bytes`, ctx);
  }
  if (!isBytes(payload)) throw new EventError(ErrorCode.invalid_argument, `event ${id}: payload must be a Uint8Array`, ctx);
  checkParents(header as EventHeader);
}

function checkParents(header: EventHeader): void {
  const { id, parents } = header;
  if (!Array.isArray(parents)) throw invalid(`event ${id}: parents must be an array`, id);
  // Pairwise for the usual few parents (no allocation); a set for many, so a hostile list is cheap.
  const seen = parents.length > 16 ? new Set<string>() : undefined;
  for (let i = 0; i < parents.length; i++) {
    const p = parents[i];
    if (typeof p !== "object" || p === null || !isUuid(p.id)) {
      throw invalid(`event ${id}: every parent needs a lowercase canonical UUID id`, id);
    }
    if (!isBytes(p.digest) || p.digest.length !== DIGEST_BYTES) {
      throw invalid(`event ${id}: parent ${p.id} needs a ${DIGEST_BYTES}-byte digest`, id);
    }
    if (p.id === id) throw invalid(`event ${id}: an event cannot be its own parent`, id);
    let twice = false;
    if (seen) twice = seen.size === seen.add(p.id).size;
    else for (let j = 0; j < i && !twice; j++) twice = parents[j]!.id === p.id;
    if (twice) throw invalid(`event ${id}: parent ${p.id} is listed twice`, id);
  }
}

/**
 * Validates an event and recomputes its digest; throws `invalid_argument` on any mismatch.
 * This is the check every vault and store runs on commit.
 */
export function assertEventVerifies(event: unknown, opts?: HasherOptions): asserts event is Event {
  validateEvent(event);
  const { header, payload } = event;
  if (!equalBytes(digestOf(header, payload, opts), header.digest)) {
    throw new EventError(ErrorCode.invalid_argument, `event ${header.id}: digest does not match its content`, {
      details: { id: header.id },
    });
  }
}

/**
 * True when the event is well formed and its digest matches its header and payload. An event
 * verifies on its own: its header carries its parents' digests.
 */
export function verifyEvent(event: unknown, opts?: HasherOptions): boolean {
  try {
    assertEventVerifies(event, opts);
    return true;
  } catch {
    return false;
  }
}

/** The reference to an event that a child names as its parent. */
export function refOf(event: Event | EventHeader): EventRef {
  const h = "header" in event ? event.header : event;
  return { id: h.id, digest: h.digest };
}

function invalid(message: string, id?: unknown): EventError {
  return new EventError(ErrorCode.invalid_argument, message, typeof id === "string" ? { details: { id } } : {});
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v.slice(0, 140)) : typeof v;
}
