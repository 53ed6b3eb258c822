/**
 * toka-events core: the event model, causal digest v1, kinds, codecs, errors and the traits that
 * vaults, stores and buses implement. No platform APIs and no dependencies.
 *
 * @module
 */
export { compareBytes, equalBytes, fromHex, isBytes, toHex } from "./bytes.js";
export { bytes, json, text } from "./codec.js";
export {
  computeDigest,
  DIGEST_BYTES,
  DIGEST_DOMAIN_TAG,
  type DigestFields,
  digestMaterial,
  type HasherOptions,
  legacyCausalHash,
} from "./digest.js";
export { createFanout, type Fanout } from "./fanout.js";
export {
  type Ack,
  type DeadLetter,
  checkAck,
  checkCursor,
  checkCursorName,
  isLocalVault,
  type LocalCommitOptions,
  type LocalVault,
} from "./local-vault.js";
export { checkAfter, type CommitOptions, type CommitSequencer, createCommitSequencer } from "./commit-order.js";
export { createEventStore, type EventStore, type EventStoreParts } from "./event-store.js";
export { ErrorCode, EventError, type EventErrorOptions, isRetryable, throwIfAborted } from "./errors.js";
export { assertEventVerifies, type CreateEventInput, createEvent, refOf, validateEvent, verifyEvent } from "./event.js";
export { defaultHasher, type Hasher, type HashState } from "./hasher.js";
export { assertKind, baseKind, isValidKind, isValidKindPattern, kindFilter, MAX_KIND_BYTES, matchKind } from "./kind.js";
export {
  checkQueueOptions,
  checkSubscribeOptions,
  createSubscriberQueue,
  DEFAULT_BUFFER_SIZE,
  type SubscriberQueue,
  type SubscriberQueueOptions,
} from "./subscriber-queue.js";
export { decodeParentRefs, encodeParentRefs } from "./parent-refs.js";
export { checkReadOptions } from "./read-options.js";
export { subscribeWithHistory } from "./subscribe-with-history.js";
export {
  type BusMessage,
  type CallOptions,
  type Codec,
  type CommitResult,
  type Event,
  type EventBus,
  type EventHeader,
  type EventId,
  type EventRef,
  type EventSink,
  type IntentId,
  NIL_INTENT,
  type OverflowPolicy,
  type QueryApi,
  type ReadOptions,
  type StoredEvent,
  type SubscribeOptions,
  type Subscription,
  type Vault,
} from "./types.js";
export { isUuid, uuidFromBytes, uuidToBytes, uuidv4, uuidv7 } from "./uuid.js";
