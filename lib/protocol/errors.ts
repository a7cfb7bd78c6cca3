/**
 * What the protocol's decoders refuse, and how they say so, in both
 * dialects: the error codes, {@link ProtocolError}, the decoded error reply
 * and the {@link Limits} a decoder enforces before it allocates anything.
 *
 * @module
 */

/**
 * Error codes and their byte values (error header offset 6). Decoders map a
 * byte they do not know to `"UNKNOWN"` so that an older client can still show
 * the message of a newer server.
 */
export const ERROR_CODES = {
  /** Part 0 starts with neither `FZMQ` nor `{`. */
  BAD_MAGIC: 1,
  /** Unsupported protocol version. */
  BAD_VERSION: 2,
  /** Unknown or unexpected message type. */
  BAD_TYPE: 3,
  /** Header has the wrong length, a bad field or a reserved byte set. */
  BAD_HEADER: 4,
  /** Not exactly two parts, or a part that is not bytes. */
  BAD_PARTS: 5,
  /** Unknown pixel format, legacy dtype or channel count. */
  BAD_FORMAT: 6,
  /** Width or height is zero, above the limit, or disagrees with the JPEG. */
  BAD_DIMENSIONS: 7,
  /** Byte count disagrees with the dimensions or the header. */
  BAD_SIZE: 8,
  /** Pixels missing (empty JPEG). */
  BAD_PIXELS: 9,
  /** JPEG bytes are not a decodable JPEG. */
  CORRUPT_JPEG: 10,
  /** Pixel count, JPEG size or legacy JSON size above the limit. */
  TOO_LARGE: 11,
  /** Legacy header is not valid UTF-8 JSON. */
  BAD_JSON: 12,
  /** Server is overloaded; retry later. */
  BUSY: 13,
  /** Server failed while handling a valid request. */
  INTERNAL: 14,
  /** Enrolment is not allowed for this client or on this worker (enrol.ts). */
  ENROL_REFUSED: 15,
  /** An enrol request with a bad name, face box or face, or none usable. */
  BAD_ENROL: 16,
} as const;

/** Name of an error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Longest error message, in UTF-8 bytes (longer ones are cut on encoding). */
export const MAX_ERROR_MESSAGE_BYTES = 1024;

/** Limits applied by the decoders. */
export interface Limits {
  /** Largest accepted width in pixels. */
  maxWidth: number;
  /** Largest accepted height in pixels. */
  maxHeight: number;
  /** Largest accepted `width * height`. */
  maxPixels: number;
  /** Largest accepted JPEG, in bytes. */
  maxJpegBytes: number;
  /** Largest accepted legacy JSON header, in bytes (checked before parsing). */
  maxJsonBytes: number;
  /** Most faces accepted in one reply. */
  maxFaces: number;
  /** Most track hints accepted in one version 2 request (at most 65535). */
  maxHints: number;
}

/** Limits used when the caller gives none. */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxWidth: 4096,
  maxHeight: 4096,
  maxPixels: 4096 * 4096,
  maxJpegBytes: 16 * 1024 * 1024,
  maxJsonBytes: 1024,
  maxFaces: 1024,
  maxHints: 256,
};

/** An error answer (binary or legacy dialect). */
export interface ErrorReply {
  /** Discriminant. */
  kind: "error";
  /** Error code; `"UNKNOWN"` if the number is not one this module knows. */
  code: ErrorCode | "UNKNOWN";
  /** Human-readable explanation. */
  message: string;
}

/** Options of {@link ProtocolError}. */
export interface ProtocolErrorOptions {
  /** True when the offending message was in the legacy JSON dialect. */
  legacy?: boolean;
}

/**
 * A malformed or unacceptable message. `code` says what was wrong, `legacy`
 * tells the server which dialect to answer in (see `errorReplyFor` in
 * `dispatch.ts`).
 */
export class ProtocolError extends Error {
  /** What was wrong. */
  readonly code: ErrorCode;
  /** True when the offending message was in the legacy JSON dialect. */
  readonly legacy: boolean;

  /** Creates an error with a code and a message that names the problem. */
  constructor(
    code: ErrorCode,
    message: string,
    options: ProtocolErrorOptions = {},
  ) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
    this.legacy = options.legacy ?? false;
  }
}
