import { equalBytes, isBytes } from "./bytes.js";
import { digestOf, type HasherOptions } from "./digest.js";
import { checkHeader, DIGEST_BYTES, invalid } from "./header-check.js";
import { ErrorCode, EventError } from "./errors.js";
import { type Event, type EventHeader, type EventRef, NIL_INTENT } from "./types.js";
import { uuidFromBytes, uuidv7Bytes } from "./uuid.js";

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
  const parents = input.parents ?? [];
  if (!Array.isArray(parents)) throw invalid("parents must be an array");
  const idBytes = input.id === undefined ? uuidv7Bytes() : undefined;
  const header: EventHeader = {
    id: idBytes ? uuidFromBytes(idBytes) : input.id!,
    parents: parents.map((p) => ({ id: p?.id, digest: p?.digest })),
    timestamp: input.timestamp ?? Date.now(),
    digest: new Uint8Array(0),
    intent: input.intent ?? NIL_INTENT,
    kind: input.kind,
  };
  checkHeader(header, input.payload, true, idBytes !== undefined);
  header.digest = digestOf(header, input.payload, opts, idBytes);
  return { header, payload: input.payload };
}

/**
 * Checks that an event is well formed (ids, kind, timestamp, parents, digest length, payload type)
 * and throws `invalid_argument` naming the event otherwise. Does not check the digest value.
 */
export function validateEvent(event: unknown): asserts event is Event {
  if (typeof event !== "object" || event === null) throw invalid("an event must be an object");
  const { header, payload } = event as Partial<Event>;
  if (typeof header !== "object" || header === null) throw invalid("an event needs a header object");
  checkHeader(header, payload, true);
  if (!isBytes(header.digest) || header.digest.length !== DIGEST_BYTES) {
    throw invalid(`event ${header.id}: digest must be ${DIGEST_BYTES} bytes`, header.id);
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
