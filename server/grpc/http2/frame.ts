/**
 * HTTP/2 frame layout (RFC 9113 §4, §6): type and flag numbers, error codes, settings
 * identifiers, and builders for the frames a server sends.
 *
 * @module
 */

/** The 24 octets every client connection starts with (RFC 9113 §3.4). */
export const CLIENT_PREFACE: Uint8Array = new TextEncoder().encode(
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
);

/** Size of a frame header. */
export const FRAME_HEADER_SIZE = 9;

/** Frame type numbers. */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flag bits. */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 §7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/** One of {@linkcode ErrorCode}'s values. */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/** SETTINGS parameter identifiers (RFC 9113 §6.5.2). */
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The initial flow-control window of every stream and of the connection (RFC 9113 §6.9.2). */
export const DEFAULT_WINDOW = 65_535;
/** The largest legal flow-control window. */
export const MAX_WINDOW = 0x7fff_ffff;
/** The smallest value SETTINGS_MAX_FRAME_SIZE may take, and its default. */
export const MIN_MAX_FRAME_SIZE = 16_384;
/** The largest value SETTINGS_MAX_FRAME_SIZE may take. */
export const MAX_MAX_FRAME_SIZE = 0xff_ffff;

/** An error that ends the whole connection with GOAWAY. */
export class ConnectionError extends Error {
  /** Creates the error with its HTTP/2 code and a reason for the GOAWAY debug data. */
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = "ConnectionError";
  }
}

/** An error that ends one stream with RST_STREAM; the connection survives. */
export class StreamError extends Error {
  /** Creates the error for stream `streamId`. */
  constructor(readonly streamId: number, readonly code: ErrorCode, message: string) {
    super(message);
    this.name = "StreamError";
  }
}

/** Encodes a frame: header plus the given payload parts (copied into one buffer). */
export function encodeFrame(
  type: number,
  flags: number,
  streamId: number,
  ...payload: Uint8Array[]
): Uint8Array {
  let len = 0;
  for (const p of payload) len += p.length;
  const out = new Uint8Array(FRAME_HEADER_SIZE + len);
  out[0] = (len >>> 16) & 0xff;
  out[1] = (len >>> 8) & 0xff;
  out[2] = len & 0xff;
  out[3] = type;
  out[4] = flags;
  new DataView(out.buffer).setUint32(5, streamId & 0x7fff_ffff);
  let off = FRAME_HEADER_SIZE;
  for (const p of payload) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Encodes a SETTINGS frame with the given identifier/value pairs (none for an ACK). */
export function settingsFrame(settings: ReadonlyArray<readonly [number, number]>, ack = false) {
  const body = new Uint8Array(settings.length * 6);
  const view = new DataView(body.buffer);
  settings.forEach(([id, value], i) => {
    view.setUint16(i * 6, id);
    view.setUint32(i * 6 + 2, value);
  });
  return encodeFrame(FrameType.SETTINGS, ack ? Flag.ACK : 0, 0, body);
}

/** Encodes a WINDOW_UPDATE frame. */
export function windowUpdateFrame(streamId: number, increment: number): Uint8Array {
  const body = new Uint8Array(4);
  new DataView(body.buffer).setUint32(0, increment & 0x7fff_ffff);
  return encodeFrame(FrameType.WINDOW_UPDATE, 0, streamId, body);
}

/** Encodes an RST_STREAM frame. */
export function rstStreamFrame(streamId: number, code: number): Uint8Array {
  const body = new Uint8Array(4);
  new DataView(body.buffer).setUint32(0, code);
  return encodeFrame(FrameType.RST_STREAM, 0, streamId, body);
}

/** Encodes a GOAWAY frame with a UTF-8 debug message. */
export function goawayFrame(lastStreamId: number, code: number, debug = ""): Uint8Array {
  const text = new TextEncoder().encode(debug);
  const body = new Uint8Array(8 + text.length);
  const view = new DataView(body.buffer);
  view.setUint32(0, lastStreamId & 0x7fff_ffff);
  view.setUint32(4, code);
  body.set(text, 8);
  return encodeFrame(FrameType.GOAWAY, 0, 0, body);
}

/** Encodes a PING frame (an ACK echoes the peer's 8 octets). */
export function pingFrame(payload: Uint8Array, ack: boolean): Uint8Array {
  return encodeFrame(FrameType.PING, ack ? Flag.ACK : 0, 0, payload);
}
