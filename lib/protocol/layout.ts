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

/**
 * The first protocol version: what every error reply is written in, and what
 * a request without track hints is sent as.
 */
export const PROTOCOL_VERSION = 1;

/**
 * Version 2: requests may carry track hints, reply faces carry the matched
 * track and whether they were recognised (docs/protocol.md, "Version 2").
 */
export const TRACKS_VERSION = 2;

/** The protocol versions this module speaks, oldest first. */
export const PROTOCOL_VERSIONS: readonly number[] = [1, 2];

/** Message type byte ({@link PREFIX_LAYOUT}.type) of a binary message. */
export const MESSAGE_TYPES = {
  request: 1,
  reply: 2,
  error: 3,
  /** Laid out in enrol.ts. */
  enrolRequest: 4,
  /** Laid out in enrol.ts. */
  enrolReply: 5,
} as const;

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

/**
 * Exact length of a version 1 request header (part 0); a version 2 request
 * starts with the same 32 bytes.
 */
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

/** Bytes of a version 2 face record before its label. */
export const FACE_RECORD_V2_BYTES = 32;

/**
 * A version 2 face record, relative to its start; the label follows at
 * {@link FACE_RECORD_V2_BYTES}. The first 24 bytes are as in version 1.
 */
export const FACE_V2_LAYOUT = {
  /** i32. */
  x: 0,
  /** i32. */
  y: 4,
  /** i32. */
  w: 8,
  /** i32. */
  h: 12,
  /** f64, NaN when the face was not recognised. */
  distance: 16,
  /** u32, the matched hint's track id, 0 when none matched. */
  track: 24,
  /** u8, {@link FACE_FLAGS}. */
  flags: 28,
  /** u8, zero. */
  reserved: 29,
  /** u16, UTF-8 bytes of the label (0 when not recognised). */
  labelLength: 30,
} as const;

/** Bits of a version 2 face record's flags byte. */
export const FACE_FLAGS = { recognised: 1 } as const;

/** Length of the fixed part of a version 2 reply header, before the faces. */
export const REPLY_V2_HEADER_BYTES = 96;

/** Version 2 reply header: {@link REPLY_LAYOUT}, then the threshold. */
export const REPLY_V2_LAYOUT = {
  ...REPLY_LAYOUT,
  /** f64, the recogniser's unknown threshold (>= 0, may be +inf). */
  threshold: 88,
} as const;

/** Length of a version 2 request header without hints. */
export const REQUEST_V2_HEADER_BYTES = 36;

/** Version 2 request header: {@link REQUEST_LAYOUT}, then the hint count. */
export const REQUEST_V2_LAYOUT = {
  ...REQUEST_LAYOUT,
  /** u16, hint records after the fixed part. */
  hintCount: 32,
  /** u16, {@link REQUEST_FLAGS}; other bits zero. */
  flags: 34,
} as const;

/**
 * Bits of a version 2 request's flags. Zero is what every version 2 request
 * sent before the flags existed holds, so each bit asks for less than the
 * default: `tracksOnly` looks for faces only around the hints instead of
 * in the whole frame.
 */
export const REQUEST_FLAGS = { tracksOnly: 1 } as const;

/** Bytes of one track hint record. */
export const HINT_RECORD_BYTES = 24;

/** One track hint record, relative to its start. */
export const HINT_LAYOUT = {
  /** u32, 1..2^32-1, unique in the request. */
  track: 0,
  /** i32. */
  x: 4,
  /** i32. */
  y: 8,
  /** i32, >= 0. */
  w: 12,
  /** i32, >= 0. */
  h: 16,
  /** u8, {@link HINT_FLAGS}. */
  flags: 20,
  /** 3 bytes, zero. */
  reserved: 21,
} as const;

/** Bits of a hint's flags byte. */
export const HINT_FLAGS = { skip: 1 } as const;

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
