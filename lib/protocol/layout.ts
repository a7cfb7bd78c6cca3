/**
 * Where each field of a binary (`FZMQ`) message sits: the byte offsets of
 * docs/protocol.md's tables, one object per table, so that the encoder and
 * the decoder name a field instead of repeating its offset. All numbers are
 * little-endian; offsets count from the start of part 0.
 *
 * @module
 */

/** The four ASCII bytes every binary message starts with. */
export const MAGIC: Uint8Array = new Uint8Array([0x46, 0x5a, 0x4d, 0x51]); // "FZMQ"

/** The only protocol version this module speaks. */
export const PROTOCOL_VERSION = 1;

/** Message type byte ({@link PREFIX_LAYOUT}.type) of a binary message. */
export const MESSAGE_TYPES = { request: 1, reply: 2, error: 3 } as const;

/** Length of the fixed prefix shared by all versions: magic, version, type. */
export const PREFIX_BYTES = 8;

/** The prefix every binary message of every version starts with. */
export const PREFIX_LAYOUT = {
  /** 4 bytes, {@link MAGIC}. */
  magic: 0,
  /** u8, {@link PROTOCOL_VERSION}. */
  version: 4,
  /** u8, one of {@link MESSAGE_TYPES}. */
  type: 5,
} as const;

/** Exact length of a version 1 request header (part 0). */
export const REQUEST_HEADER_BYTES = 32;

/** Request header (type 1), after the prefix. */
export const REQUEST_LAYOUT = {
  /** u8, the pixel format's wire code. */
  format: 6,
  /** u8, one of {@link REPLY_MODES}. */
  replyMode: 7,
  /** u32. */
  width: 8,
  /** u32. */
  height: 12,
  /** u32, echoed in the reply. */
  frameId: 16,
  /** u32, the length of part 1. */
  byteCount: 20,
  /** f64, echoed in the reply. */
  timestamp: 24,
} as const;

/** Reply-mode byte ({@link REQUEST_LAYOUT}.replyMode): faces, or faces and the frame in a format. */
export const REPLY_MODES = { faces: 0, rgb24: 1, jpeg: 2 } as const;

/** Length of the fixed part of a version 1 reply header, before the faces. */
export const REPLY_HEADER_BYTES = 88;

/** Reply header (type 2), after the prefix; face records follow at {@link REPLY_HEADER_BYTES}. */
export const REPLY_LAYOUT = {
  /** u8, the frame's wire code, 0 without a frame. */
  frameFormat: 6,
  /** u8, zero. */
  reserved: 7,
  /** u32, echo of the request's. */
  frameId: 8,
  /** u32, records after the fixed part. */
  faceCount: 12,
  /** f64, echo of the request's. */
  timestamp: 16,
  /** f64 each, in {@link TIMING_KEYS} order. */
  timings: 24,
  /** u32. */
  frameWidth: 72,
  /** u32. */
  frameHeight: 76,
  /** u32, the length of part 1. */
  frameBytes: 80,
  /** u32, zero. */
  reserved32: 84,
} as const;

/** The stage timings of a reply, in wire order, 8 bytes each from {@link REPLY_LAYOUT}.timings. */
export const TIMING_KEYS = [
  "decode",
  "detect",
  "recognise",
  "draw",
  "encode",
  "total",
] as const;

/** Bytes of one face record before its label (x, y, w, h, distance, length). */
export const FACE_RECORD_BYTES = 26;

/** One face record, relative to its start; the label follows at {@link FACE_RECORD_BYTES}. */
export const FACE_LAYOUT = {
  /** i32. */
  x: 0,
  /** i32. */
  y: 4,
  /** i32. */
  w: 8,
  /** i32. */
  h: 12,
  /** f64. */
  distance: 16,
  /** u16, UTF-8 bytes of the label. */
  labelLength: 24,
} as const;

/** Longest face label, in UTF-8 bytes. */
export const MAX_LABEL_BYTES = 256;

/** Length of the fixed part of a version 1 error header, before the message. */
export const ERROR_HEADER_BYTES = 12;

/** Error header (type 3), after the prefix; the message follows at {@link ERROR_HEADER_BYTES}. */
export const ERROR_LAYOUT = {
  /** u8, one of `ERROR_CODES`. */
  code: 6,
  /** u8, zero. */
  reserved: 7,
  /** u32, UTF-8 bytes of the message. */
  messageLength: 8,
} as const;
