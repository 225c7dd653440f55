/**
 * gRPC status codes (grpc/doc/statuscodes.md) and the error type handlers throw to answer
 * with one, plus the percent-encoding of `grpc-message` (grpc/doc/PROTOCOL-HTTP2.md).
 *
 * @module
 */

/** The gRPC status codes. */
export const Code = {
  OK: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;

/** One of {@linkcode Code}'s values. */
export type Code = typeof Code[keyof typeof Code];

/** An error answered with a specific gRPC status. */
export class GrpcError extends Error {
  /** Creates the error with its status code. */
  constructor(readonly code: Code, message: string) {
    super(message);
    this.name = "GrpcError";
  }
}

/**
 * Percent-encodes a status message: bytes outside printable ASCII (0x20-0x7E) and `%` become
 * `%XX` of their UTF-8 encoding.
 */
export function encodeGrpcMessage(message: string): string {
  let simple = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      simple = false;
      break;
    }
  }
  if (simple) return message;
  let out = "";
  for (const b of new TextEncoder().encode(message)) {
    out += b < 0x20 || b > 0x7e || b === 0x25
      ? "%" + b.toString(16).toUpperCase().padStart(2, "0")
      : String.fromCharCode(b);
  }
  return out;
}
