import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorCode, EventError } from "../../core/index.js";

const toCode: Record<ErrorCode, Code> = {
  canceled: Code.Canceled,
  unknown: Code.Unknown,
  invalid_argument: Code.InvalidArgument,
  deadline_exceeded: Code.DeadlineExceeded,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  permission_denied: Code.PermissionDenied,
  resource_exhausted: Code.ResourceExhausted,
  failed_precondition: Code.FailedPrecondition,
  aborted: Code.Aborted,
  out_of_range: Code.OutOfRange,
  unimplemented: Code.Unimplemented,
  internal: Code.Internal,
  unavailable: Code.Unavailable,
  data_loss: Code.DataLoss,
  unauthenticated: Code.Unauthenticated,
};

const fromCode = new Map<Code, ErrorCode>(Object.entries(toCode).map(([k, v]) => [v, k as ErrorCode]));

/** An EventError (or anything thrown) as a ConnectError with the same code and message. */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const e = EventError.from(err);
  // Internal errors keep their detail server-side; clients see a generic message.
  const message = e.code === ErrorCode.internal ? "internal error" : e.message;
  return new ConnectError(message, toCode[e.code], undefined, undefined, err);
}

/** A ConnectError (or a network failure) as an EventError; details about the event id survive. */
export function fromConnectError(err: unknown): EventError {
  if (err instanceof EventError) return err;
  const ce = ConnectError.from(err);
  // fetch() rejects with a TypeError when it cannot reach the server (offline, refused, CORS):
  // connect-web reports that as "unknown", but it is an outage worth retrying.
  const unreachable = ce.code === Code.Unknown && (err instanceof TypeError || ce.cause instanceof TypeError);
  const code = unreachable ? ErrorCode.unavailable : (fromCode.get(ce.code) ?? ErrorCode.unknown);
  return new EventError(code, ce.rawMessage, { cause: err });
}
