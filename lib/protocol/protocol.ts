/**
 * The facezmq wire protocol: versioned binary messages exchanged over ZeroMQ
 * REQ/REP, plus the JSON+raw "legacy" dialect spoken by the original Python
 * client. This module only turns messages into multipart frames
 * (`Uint8Array[]`) and back; sockets live elsewhere.
 *
 * Every message, in both dialects and both directions, has exactly two parts:
 * part 0 is a header, part 1 is pixels (possibly empty). Decoders validate
 * everything and throw {@link ProtocolError} for anything wrong; they never
 * allocate based on a size field that has not been checked against the bytes
 * actually received. Pixels are returned as views of the received parts (no
 * copy). The byte layout is specified in `docs/protocol.md`.
 *
 * @module
 */

/** The four ASCII bytes every binary message starts with. */
export const MAGIC: Uint8Array = new Uint8Array([0x46, 0x5a, 0x4d, 0x51]); // "FZMQ"

/** The only protocol version this module speaks. */
export const PROTOCOL_VERSION = 1;

/** Length of the fixed prefix shared by all versions: magic, version, type. */
export const PREFIX_BYTES = 8;

/** Exact length of a version 1 request header (part 0). */
export const REQUEST_HEADER_BYTES = 32;

/** Length of the fixed part of a version 1 reply header, before the faces. */
export const REPLY_HEADER_BYTES = 88;

/** Bytes of one face record before its label (x, y, w, h, distance, length). */
export const FACE_RECORD_BYTES = 26;

/** Length of the fixed part of a version 1 error header, before the message. */
export const ERROR_HEADER_BYTES = 12;

/** Longest face label, in UTF-8 bytes. */
export const MAX_LABEL_BYTES = 256;

/** Longest error message, in UTF-8 bytes (longer ones are cut on encoding). */
export const MAX_ERROR_MESSAGE_BYTES = 1024;

/** Message type byte (offset 5) of a binary message. */
export const MESSAGE_TYPES = { request: 1, reply: 2, error: 3 } as const;

/** How the pixels of a frame are encoded. `bgr24` is OpenCV's byte order. */
export type PixelFormat = "grey8" | "rgb24" | "bgr24" | "jpeg";

/** Pixel format byte values (request offset 6, reply offset 6). */
export const PIXEL_FORMATS: Readonly<Record<PixelFormat, number>> = {
  grey8: 1,
  rgb24: 2,
  bgr24: 3,
  jpeg: 4,
};

/** Formats the server can send an annotated frame back in. */
export type ReplyFrameFormat = "rgb24" | "jpeg";

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
} as const;

/** Name of an error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

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
}

/** Limits used when the caller gives none. */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxWidth: 4096,
  maxHeight: 4096,
  maxPixels: 4096 * 4096,
  maxJpegBytes: 16 * 1024 * 1024,
  maxJsonBytes: 1024,
  maxFaces: 1024,
};

/** A camera frame sent by a binary-protocol client. */
export interface FrameRequest {
  /** Discriminant. */
  kind: "frame";
  /** Encoding of `pixels`. */
  format: PixelFormat;
  /** Width in pixels (1..maxWidth). */
  width: number;
  /** Height in pixels (1..maxHeight). */
  height: number;
  /** Client-chosen id, an integer 0..2^32-1, echoed in the reply. */
  frameId: number;
  /** Client clock in ms (any finite float64), echoed in the reply. */
  timestamp: number;
  /** Whether the server should send the annotated frame back. */
  reply: "faces" | "faces+frame";
  /**
   * Format of the annotated frame; set (and required on decoding) only when
   * `reply` is `"faces+frame"`. `encodeRequest` defaults it to `"jpeg"`.
   */
  frameFormat?: ReplyFrameFormat;
  /** Raw pixels (row-major, interleaved, no padding) or a JPEG file. */
  pixels: Uint8Array;
}

/** A camera frame sent by the original Python client (JSON + raw bytes). */
export interface LegacyRequest {
  /** Discriminant. */
  kind: "legacy";
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 3 for BGR, 1 for grey. */
  channels: 1 | 3;
  /** `width * height * channels` bytes, BGR order when 3 channels. */
  pixels: Uint8Array;
}

/** One recognised (or not) face. */
export interface Face {
  /** Left edge, pixels. */
  x: number;
  /** Top edge, pixels. */
  y: number;
  /** Width, pixels (>= 0). */
  w: number;
  /** Height, pixels (>= 0). */
  h: number;
  /** A person's name or `"unknown"` (1..256 UTF-8 bytes). */
  label: string;
  /** Recogniser distance (lower is closer); any float64 but NaN. */
  distance: number;
}

/** Server time spent per stage, in milliseconds (finite, >= 0). */
export interface Timings {
  /** Decoding the request pixels. */
  decode: number;
  /** Face detection. */
  detect: number;
  /** Face recognition. */
  recognise: number;
  /** Drawing annotations. */
  draw: number;
  /** Encoding the annotated frame. */
  encode: number;
  /** Whole request, receive to send. */
  total: number;
}

/** An annotated frame carried by a reply. */
export interface ReplyFrame {
  /** Encoding of `pixels`. */
  format: ReplyFrameFormat;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** RGB bytes or a JPEG file. */
  pixels: Uint8Array;
}

/** The server's answer to a {@link FrameRequest}. */
export interface FrameReply {
  /** Discriminant. */
  kind: "reply";
  /** Echo of the request's `frameId`. */
  frameId: number;
  /** Echo of the request's `timestamp`. */
  timestamp: number;
  /** Faces found, in any order. */
  faces: Face[];
  /** Server timings. */
  timings: Timings;
  /** The annotated frame, when the request asked for it. */
  frame?: ReplyFrame;
}

/** An error answer (binary or legacy dialect). */
export interface ErrorReply {
  /** Discriminant. */
  kind: "error";
  /** Error code; `"UNKNOWN"` if the number is not one this module knows. */
  code: ErrorCode | "UNKNOWN";
  /** Human-readable explanation. */
  message: string;
}

/** The annotated frame returned to a legacy client. */
export interface LegacyReply {
  /** Discriminant. */
  kind: "legacy-reply";
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 3 for BGR, 1 for grey. */
  channels: 1 | 3;
  /** `width * height * channels` bytes. */
  pixels: Uint8Array;
}

/** Dimensions (and channel count) of a legacy frame. */
export interface LegacyShape {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 3 (BGR, the default) or 1 (grey). */
  channels?: 1 | 3;
}

/** Options of {@link ProtocolError}. */
export interface ProtocolErrorOptions {
  /** True when the offending message was in the legacy JSON dialect. */
  legacy?: boolean;
}

/**
 * A malformed or unacceptable message. `code` says what was wrong, `legacy`
 * tells the server which dialect to answer in (see {@link errorReplyFor}).
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

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });
const OPEN_BRACE = 0x7b; // "{"
const U32_MAX = 0xffffffff;
const I32_MIN = -0x80000000;
const I32_MAX = 0x7fffffff;
const EMPTY: Uint8Array = new Uint8Array(0);

const FORMAT_BY_BYTE: ReadonlyMap<number, PixelFormat> = new Map(
  Object.entries(PIXEL_FORMATS).map(([name, byte]) => [
    byte,
    name as PixelFormat,
  ]),
);

const CODE_BY_BYTE: ReadonlyMap<number, ErrorCode> = new Map(
  Object.entries(ERROR_CODES).map(([name, byte]) => [
    byte,
    name as ErrorCode,
  ]),
);

/** Reply-mode byte (request offset 7). */
const REPLY_MODES = { faces: 0, rgb24: 1, jpeg: 2 } as const;

/**
 * Bytes per pixel of a raw format, or 0 for `jpeg`.
 */
export function bytesPerPixel(format: PixelFormat): 0 | 1 | 3 {
  if (format === "grey8") return 1;
  if (format === "jpeg") return 0;
  return 3;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A plain Uint8Array view of the same memory (Node Buffers become plain). */
function plain(bytes: Uint8Array): Uint8Array {
  if (bytes.constructor === Uint8Array) return bytes;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function withLimits(limits: Partial<Limits> | undefined): Limits {
  return { ...DEFAULT_LIMITS, ...limits };
}

function hasMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === MAGIC[0] &&
    bytes[1] === MAGIC[1] && bytes[2] === MAGIC[2] && bytes[3] === MAGIC[3];
}

function checkTwoParts(
  parts: readonly Uint8Array[],
  what: string,
  legacy: boolean,
): void {
  if (parts.length !== 2) {
    throw new ProtocolError(
      "BAD_PARTS",
      `${what} must have exactly 2 parts (header, pixels), got ${parts.length}`,
      { legacy },
    );
  }
  if (!(parts[1] instanceof Uint8Array)) {
    throw new ProtocolError(
      "BAD_PARTS",
      `${what} part 1 is not bytes`,
      { legacy },
    );
  }
}

function checkPartsArray(parts: readonly Uint8Array[], what: string): void {
  if (!Array.isArray(parts)) {
    throw new ProtocolError("BAD_PARTS", `${what} is not a list of parts`);
  }
  if (parts.length === 0) {
    throw new ProtocolError("BAD_PARTS", `${what} has no parts`);
  }
  if (!(parts[0] instanceof Uint8Array)) {
    throw new ProtocolError("BAD_PARTS", `${what} part 0 is not bytes`);
  }
}

/** Checks magic, version and type of a binary header (the fixed prefix). */
function checkPrefix(header: Uint8Array, type: number, what: string): void {
  if (header.length < PREFIX_BYTES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `${what} header is ${header.length} bytes, shorter than the ${PREFIX_BYTES}-byte prefix`,
    );
  }
  if (header[4] !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      "BAD_VERSION",
      `protocol version ${
        header[4]
      } is not supported (this side speaks version ${PROTOCOL_VERSION})`,
    );
  }
  if (header[5] !== type) {
    throw new ProtocolError(
      "BAD_TYPE",
      `message type ${header[5]} is not a ${what} (type ${type})`,
    );
  }
}

function checkDimensions(
  width: number,
  height: number,
  limits: Limits,
  legacy: boolean,
): void {
  if (width < 1 || width > limits.maxWidth) {
    throw new ProtocolError(
      "BAD_DIMENSIONS",
      `width ${width} is outside 1..${limits.maxWidth}`,
      { legacy },
    );
  }
  if (height < 1 || height > limits.maxHeight) {
    throw new ProtocolError(
      "BAD_DIMENSIONS",
      `height ${height} is outside 1..${limits.maxHeight}`,
      { legacy },
    );
  }
  if (width * height > limits.maxPixels) {
    throw new ProtocolError(
      "TOO_LARGE",
      `${width}x${height} = ${
        width * height
      } pixels is above the limit of ${limits.maxPixels}`,
      { legacy },
    );
  }
}

/** True for the start-of-frame markers that carry the image size. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 &&
    marker !== 0xc8 && marker !== 0xcc;
}

/**
 * Reads a JPEG's width and height from its start-of-frame segment without
 * decoding it: a bounded walk over the marker segments before the first scan.
 * Throws `CORRUPT_JPEG` when the bytes do not look like a JPEG.
 */
export function jpegSize(jpeg: Uint8Array): { width: number; height: number } {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) {
    throw new ProtocolError(
      "CORRUPT_JPEG",
      "JPEG does not start with the SOI marker FF D8",
    );
  }
  let i = 2;
  while (i + 4 <= jpeg.length) {
    if (jpeg[i] !== 0xff) {
      throw new ProtocolError(
        "CORRUPT_JPEG",
        `JPEG has no marker at byte ${i}`,
      );
    }
    const marker = jpeg[i + 1];
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      i += 2; // marker without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) {
      throw new ProtocolError(
        "CORRUPT_JPEG",
        "JPEG reaches its image data before any frame header (SOF)",
      );
    }
    const length = (jpeg[i + 2] << 8) | jpeg[i + 3];
    if (length < 2) {
      throw new ProtocolError(
        "CORRUPT_JPEG",
        `JPEG segment at byte ${i} has invalid length ${length}`,
      );
    }
    if (isStartOfFrame(marker)) {
      if (length < 8 || i + 2 + length > jpeg.length) {
        throw new ProtocolError(
          "CORRUPT_JPEG",
          "JPEG frame header (SOF) is truncated",
        );
      }
      const height = (jpeg[i + 5] << 8) | jpeg[i + 6];
      const width = (jpeg[i + 7] << 8) | jpeg[i + 8];
      if (width === 0 || height === 0) {
        throw new ProtocolError(
          "CORRUPT_JPEG",
          `JPEG frame header gives a size of ${width}x${height}`,
        );
      }
      return { width, height };
    }
    i += 2 + length;
  }
  throw new ProtocolError(
    "CORRUPT_JPEG",
    "JPEG ends before any frame header (SOF)",
  );
}

/** Validates pixel bytes against format and dimensions (both directions). */
function checkPixels(
  format: PixelFormat,
  width: number,
  height: number,
  pixels: Uint8Array,
  limits: Limits,
): void {
  const bpp = bytesPerPixel(format);
  if (bpp !== 0) {
    const expected = width * height * bpp;
    if (pixels.length !== expected) {
      throw new ProtocolError(
        "BAD_SIZE",
        `${format} ${width}x${height} needs ${expected} pixel bytes, got ${pixels.length}`,
      );
    }
    return;
  }
  if (pixels.length === 0) {
    throw new ProtocolError("BAD_PIXELS", "JPEG pixel part is empty");
  }
  if (pixels.length > limits.maxJpegBytes) {
    throw new ProtocolError(
      "TOO_LARGE",
      `JPEG of ${pixels.length} bytes is above the limit of ${limits.maxJpegBytes}`,
    );
  }
  const size = jpegSize(pixels);
  if (size.width !== width || size.height !== height) {
    throw new ProtocolError(
      "BAD_DIMENSIONS",
      `header says ${width}x${height} but the JPEG is ${size.width}x${size.height}`,
    );
  }
}

function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw new ProtocolError(
      "BAD_HEADER",
      `${what} must be an integer in 0..${U32_MAX}, got ${value}`,
    );
  }
}

function checkFinite(value: number, what: string): void {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ProtocolError(
      "BAD_HEADER",
      `${what} must be a finite number, got ${value}`,
    );
  }
}

/**
 * Encodes a camera frame as `[header, pixels]`. The pixels part is the
 * caller's array itself (not copied). Throws {@link ProtocolError} when a
 * field is out of range, so that nothing is silently truncated.
 */
export function encodeRequest(request: FrameRequest): Uint8Array[] {
  const formatByte = PIXEL_FORMATS[request.format];
  if (formatByte === undefined) {
    throw new ProtocolError(
      "BAD_FORMAT",
      `unknown pixel format ${JSON.stringify(request.format)}`,
    );
  }
  let mode: number;
  if (request.reply === "faces") {
    if (request.frameFormat !== undefined) {
      throw new ProtocolError(
        "BAD_HEADER",
        'frameFormat only applies to reply "faces+frame"',
      );
    }
    mode = REPLY_MODES.faces;
  } else if (request.reply === "faces+frame") {
    const frameFormat = request.frameFormat ?? "jpeg";
    if (frameFormat !== "rgb24" && frameFormat !== "jpeg") {
      throw new ProtocolError(
        "BAD_HEADER",
        `frameFormat must be "rgb24" or "jpeg", got ${
          JSON.stringify(frameFormat)
        }`,
      );
    }
    mode = REPLY_MODES[frameFormat];
  } else {
    throw new ProtocolError(
      "BAD_HEADER",
      `reply must be "faces" or "faces+frame", got ${
        JSON.stringify(request.reply)
      }`,
    );
  }
  checkU32(request.width, "width");
  checkU32(request.height, "height");
  checkU32(request.frameId, "frameId");
  checkFinite(request.timestamp, "timestamp");
  if (!(request.pixels instanceof Uint8Array)) {
    throw new ProtocolError("BAD_PIXELS", "pixels must be a Uint8Array");
  }
  checkU32(request.pixels.length, "pixel byte count");
  checkPixels(request.format, request.width, request.height, request.pixels, {
    ...DEFAULT_LIMITS,
    maxJpegBytes: U32_MAX,
  });
  const header = new Uint8Array(REQUEST_HEADER_BYTES);
  const view = viewOf(header);
  header.set(MAGIC, 0);
  header[4] = PROTOCOL_VERSION;
  header[5] = MESSAGE_TYPES.request;
  header[6] = formatByte;
  header[7] = mode;
  view.setUint32(8, request.width, true);
  view.setUint32(12, request.height, true);
  view.setUint32(16, request.frameId, true);
  view.setUint32(20, request.pixels.length, true);
  view.setFloat64(24, request.timestamp, true);
  return [header, request.pixels];
}

/**
 * Decodes and validates a request in either dialect: part 0 starting with
 * `FZMQ` is the binary protocol, starting with `{` is the legacy JSON one.
 * Returned pixels are views of part 1. Throws {@link ProtocolError} (with
 * `legacy` set for the JSON dialect) for anything malformed or over `limits`.
 */
export function decodeRequest(
  parts: readonly Uint8Array[],
  limits?: Partial<Limits>,
): FrameRequest | LegacyRequest {
  checkPartsArray(parts, "request");
  const header = parts[0];
  const all = withLimits(limits);
  if (header.length > 0 && header[0] === OPEN_BRACE) {
    return decodeLegacyRequest(parts, all);
  }
  if (!hasMagic(header)) {
    throw new ProtocolError(
      "BAD_MAGIC",
      'request part 0 starts with neither the magic "FZMQ" nor "{" (legacy JSON)',
    );
  }
  checkPrefix(header, MESSAGE_TYPES.request, "request");
  checkTwoParts(parts, "request", false);
  if (header.length !== REQUEST_HEADER_BYTES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `request header is ${header.length} bytes, version ${PROTOCOL_VERSION} needs exactly ${REQUEST_HEADER_BYTES}`,
    );
  }
  const view = viewOf(header);
  const format = FORMAT_BY_BYTE.get(header[6]);
  if (format === undefined) {
    throw new ProtocolError(
      "BAD_FORMAT",
      `unknown pixel format byte ${header[6]}`,
    );
  }
  const mode = header[7];
  let reply: FrameRequest["reply"];
  let frameFormat: ReplyFrameFormat | undefined;
  if (mode === REPLY_MODES.faces) {
    reply = "faces";
  } else if (mode === REPLY_MODES.rgb24) {
    reply = "faces+frame";
    frameFormat = "rgb24";
  } else if (mode === REPLY_MODES.jpeg) {
    reply = "faces+frame";
    frameFormat = "jpeg";
  } else {
    throw new ProtocolError("BAD_HEADER", `unknown reply mode byte ${mode}`);
  }
  const width = view.getUint32(8, true);
  const height = view.getUint32(12, true);
  const frameId = view.getUint32(16, true);
  const byteCount = view.getUint32(20, true);
  const timestamp = view.getFloat64(24, true);
  if (!Number.isFinite(timestamp)) {
    throw new ProtocolError(
      "BAD_HEADER",
      `timestamp must be finite, got ${timestamp}`,
    );
  }
  checkDimensions(width, height, all, false);
  const pixels = plain(parts[1]);
  if (byteCount !== pixels.length) {
    throw new ProtocolError(
      "BAD_SIZE",
      `header announces ${byteCount} pixel bytes but part 1 has ${pixels.length}`,
    );
  }
  checkPixels(format, width, height, pixels, all);
  const request: FrameRequest = {
    kind: "frame",
    format,
    width,
    height,
    frameId,
    timestamp,
    reply,
    pixels,
  };
  if (frameFormat !== undefined) request.frameFormat = frameFormat;
  return request;
}

/** Parses a legacy JSON header: size cap, strict UTF-8, must be an object. */
function parseLegacyJson(
  bytes: Uint8Array,
  limits: Limits,
): Record<string, unknown> {
  const legacy = { legacy: true };
  if (bytes.length > limits.maxJsonBytes) {
    throw new ProtocolError(
      "TOO_LARGE",
      `legacy JSON header of ${bytes.length} bytes is above the limit of ${limits.maxJsonBytes}`,
      legacy,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(strictDecoder.decode(bytes));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ProtocolError(
      "BAD_JSON",
      `legacy header is not valid UTF-8 JSON: ${reason}`,
      legacy,
    );
  }
  // Callers check that the bytes start with "{", so this is an object.
  return value as Record<string, unknown>;
}

/** Validates legacy `dtype` and `shape`; returns the frame shape. */
function legacyShape(
  json: Record<string, unknown>,
  limits: Limits,
): Required<LegacyShape> {
  const legacy = { legacy: true };
  if (!Object.hasOwn(json, "dtype") || typeof json.dtype !== "string") {
    throw new ProtocolError(
      "BAD_HEADER",
      'legacy header needs a string "dtype"',
      legacy,
    );
  }
  if (json.dtype !== "uint8") {
    throw new ProtocolError(
      "BAD_FORMAT",
      `legacy dtype must be "uint8", got ${JSON.stringify(json.dtype)}`,
      legacy,
    );
  }
  const shape = Object.hasOwn(json, "shape") ? json.shape : undefined;
  if (!Array.isArray(shape) || (shape.length !== 2 && shape.length !== 3)) {
    throw new ProtocolError(
      "BAD_HEADER",
      'legacy "shape" must be an array [height, width] or [height, width, channels]',
      legacy,
    );
  }
  for (const item of shape) {
    if (typeof item !== "number" || !Number.isInteger(item)) {
      throw new ProtocolError(
        "BAD_HEADER",
        `legacy "shape" must hold integers, got ${JSON.stringify(item)}`,
        legacy,
      );
    }
  }
  const channels = shape.length === 3 ? shape[2] : 1;
  if (channels !== 1 && channels !== 3) {
    throw new ProtocolError(
      "BAD_FORMAT",
      `legacy frames have 3 (BGR) or 1 (grey) channels, got ${channels}`,
      legacy,
    );
  }
  const height = shape[0] as number;
  const width = shape[1] as number;
  checkDimensions(width, height, limits, true);
  return { width, height, channels };
}

function decodeLegacyRequest(
  parts: readonly Uint8Array[],
  limits: Limits,
): LegacyRequest {
  const json = parseLegacyJson(parts[0], limits);
  checkTwoParts(parts, "legacy request", true);
  return { kind: "legacy", ...legacyFrame(json, parts[1], limits) };
}

function checkTimings(timings: Timings): void {
  for (const key of TIMING_KEYS) {
    const value = timings[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new ProtocolError(
        "BAD_HEADER",
        `timing ${key} must be a finite number >= 0, got ${value}`,
      );
    }
  }
}

const TIMING_KEYS = [
  "decode",
  "detect",
  "recognise",
  "draw",
  "encode",
  "total",
] as const;

function checkFace(face: Face, index: number): void {
  const ints: [number, string][] = [[face.x, "x"], [face.y, "y"]];
  for (const [value, name] of ints) {
    if (!Number.isInteger(value) || value < I32_MIN || value > I32_MAX) {
      throw new ProtocolError(
        "BAD_HEADER",
        `face ${index} ${name} must be a 32-bit integer, got ${value}`,
      );
    }
  }
  const sizes: [number, string][] = [[face.w, "w"], [face.h, "h"]];
  for (const [value, name] of sizes) {
    if (!Number.isInteger(value) || value < 0 || value > I32_MAX) {
      throw new ProtocolError(
        "BAD_HEADER",
        `face ${index} ${name} must be an integer in 0..${I32_MAX}, got ${value}`,
      );
    }
  }
  if (typeof face.distance !== "number" || Number.isNaN(face.distance)) {
    throw new ProtocolError(
      "BAD_HEADER",
      `face ${index} distance must be a number, got ${face.distance}`,
    );
  }
}

/**
 * Encodes a reply as `[header + faces, frame pixels or empty]`. The frame
 * pixels are the caller's array itself. Throws {@link ProtocolError} when a
 * field is out of range or the frame bytes disagree with its dimensions.
 */
export function encodeReply(reply: FrameReply): Uint8Array[] {
  checkU32(reply.frameId, "frameId");
  checkFinite(reply.timestamp, "timestamp");
  checkTimings(reply.timings);
  if (reply.faces.length > DEFAULT_LIMITS.maxFaces) {
    throw new ProtocolError(
      "TOO_LARGE",
      `${reply.faces.length} faces is above the limit of ${DEFAULT_LIMITS.maxFaces}`,
    );
  }
  const labels: Uint8Array[] = [];
  let size = REPLY_HEADER_BYTES;
  reply.faces.forEach((face, index) => {
    checkFace(face, index);
    const label = encoder.encode(face.label);
    if (label.length < 1 || label.length > MAX_LABEL_BYTES) {
      throw new ProtocolError(
        "BAD_HEADER",
        `face ${index} label must be 1..${MAX_LABEL_BYTES} UTF-8 bytes, got ${label.length}`,
      );
    }
    labels.push(label);
    size += FACE_RECORD_BYTES + label.length;
  });
  let formatByte = 0;
  let width = 0;
  let height = 0;
  let pixels: Uint8Array = EMPTY;
  if (reply.frame !== undefined) {
    const frame = reply.frame;
    if (frame.format !== "rgb24" && frame.format !== "jpeg") {
      throw new ProtocolError(
        "BAD_FORMAT",
        `reply frame format must be "rgb24" or "jpeg", got ${
          JSON.stringify(frame.format)
        }`,
      );
    }
    checkU32(frame.width, "frame width");
    checkU32(frame.height, "frame height");
    checkPixels(
      frame.format,
      frame.width,
      frame.height,
      frame.pixels,
      { ...DEFAULT_LIMITS, maxJpegBytes: U32_MAX },
    );
    formatByte = PIXEL_FORMATS[frame.format];
    width = frame.width;
    height = frame.height;
    pixels = frame.pixels;
  }
  const header = new Uint8Array(size);
  const view = viewOf(header);
  header.set(MAGIC, 0);
  header[4] = PROTOCOL_VERSION;
  header[5] = MESSAGE_TYPES.reply;
  header[6] = formatByte;
  header[7] = 0;
  view.setUint32(8, reply.frameId, true);
  view.setUint32(12, reply.faces.length, true);
  view.setFloat64(16, reply.timestamp, true);
  TIMING_KEYS.forEach((key, index) => {
    view.setFloat64(24 + 8 * index, reply.timings[key], true);
  });
  view.setUint32(72, width, true);
  view.setUint32(76, height, true);
  view.setUint32(80, pixels.length, true);
  view.setUint32(84, 0, true);
  let offset = REPLY_HEADER_BYTES;
  reply.faces.forEach((face, index) => {
    view.setInt32(offset, face.x, true);
    view.setInt32(offset + 4, face.y, true);
    view.setInt32(offset + 8, face.w, true);
    view.setInt32(offset + 12, face.h, true);
    view.setFloat64(offset + 16, face.distance, true);
    view.setUint16(offset + 24, labels[index].length, true);
    header.set(labels[index], offset + FACE_RECORD_BYTES);
    offset += FACE_RECORD_BYTES + labels[index].length;
  });
  return [header, pixels];
}

/**
 * Encodes a binary error reply `[header + message, empty]`. A message longer
 * than {@link MAX_ERROR_MESSAGE_BYTES} UTF-8 bytes is cut at a character
 * boundary.
 */
export function encodeError(code: ErrorCode, message: string): Uint8Array[] {
  const byte = ERROR_CODES[code];
  if (byte === undefined) {
    throw new ProtocolError("BAD_HEADER", `unknown error code ${code}`);
  }
  const buffer = new Uint8Array(ERROR_HEADER_BYTES + MAX_ERROR_MESSAGE_BYTES);
  const { written } = encoder.encodeInto(
    String(message),
    buffer.subarray(ERROR_HEADER_BYTES),
  );
  const header = buffer.slice(0, ERROR_HEADER_BYTES + written);
  header.set(MAGIC, 0);
  header[4] = PROTOCOL_VERSION;
  header[5] = MESSAGE_TYPES.error;
  header[6] = byte;
  header[7] = 0;
  viewOf(header).setUint32(8, written, true);
  return [header, new Uint8Array(0)];
}

function decodeText(bytes: Uint8Array, what: string): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new ProtocolError("BAD_HEADER", `${what} is not valid UTF-8`);
  }
}

function decodeErrorMessage(header: Uint8Array): ErrorReply {
  if (header.length < ERROR_HEADER_BYTES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `error header is ${header.length} bytes, shorter than ${ERROR_HEADER_BYTES}`,
    );
  }
  if (header[7] !== 0) {
    throw new ProtocolError(
      "BAD_HEADER",
      "error header reserved byte 7 is set",
    );
  }
  const length = viewOf(header).getUint32(8, true);
  if (length > MAX_ERROR_MESSAGE_BYTES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `error message of ${length} bytes is above the limit of ${MAX_ERROR_MESSAGE_BYTES}`,
    );
  }
  if (header.length !== ERROR_HEADER_BYTES + length) {
    throw new ProtocolError(
      "BAD_HEADER",
      `error header announces a ${length}-byte message but has ${
        header.length - ERROR_HEADER_BYTES
      }`,
    );
  }
  const message = decodeText(
    header.subarray(ERROR_HEADER_BYTES),
    "error message",
  );
  return {
    kind: "error",
    code: CODE_BY_BYTE.get(header[6]) ?? "UNKNOWN",
    message,
  };
}

/**
 * Decodes and validates a binary reply or error reply (client side). Throws
 * {@link ProtocolError} when the message is malformed.
 */
export function decodeReply(
  parts: readonly Uint8Array[],
  limits?: Partial<Limits>,
): FrameReply | ErrorReply {
  checkPartsArray(parts, "reply");
  const header = parts[0];
  if (!hasMagic(header)) {
    throw new ProtocolError(
      "BAD_MAGIC",
      'reply part 0 does not start with the magic "FZMQ"',
    );
  }
  const all = withLimits(limits);
  if (header.length >= PREFIX_BYTES && header[5] === MESSAGE_TYPES.error) {
    checkPrefix(header, MESSAGE_TYPES.error, "error reply");
    checkTwoParts(parts, "error reply", false);
    if (parts[1].length !== 0) {
      throw new ProtocolError(
        "BAD_SIZE",
        `error reply part 1 must be empty, has ${parts[1].length} bytes`,
      );
    }
    return decodeErrorMessage(header);
  }
  checkPrefix(header, MESSAGE_TYPES.reply, "reply");
  checkTwoParts(parts, "reply", false);
  if (header.length < REPLY_HEADER_BYTES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `reply header is ${header.length} bytes, shorter than ${REPLY_HEADER_BYTES}`,
    );
  }
  const view = viewOf(header);
  if (header[7] !== 0 || view.getUint32(84, true) !== 0) {
    throw new ProtocolError("BAD_HEADER", "reply reserved bytes are set");
  }
  const frameId = view.getUint32(8, true);
  const count = view.getUint32(12, true);
  const timestamp = view.getFloat64(16, true);
  if (!Number.isFinite(timestamp)) {
    throw new ProtocolError(
      "BAD_HEADER",
      `timestamp must be finite, got ${timestamp}`,
    );
  }
  const timings = {} as Timings;
  TIMING_KEYS.forEach((key, index) => {
    timings[key] = view.getFloat64(24 + 8 * index, true);
  });
  checkTimings(timings);
  if (count > all.maxFaces) {
    throw new ProtocolError(
      "TOO_LARGE",
      `${count} faces is above the limit of ${all.maxFaces}`,
    );
  }
  if (REPLY_HEADER_BYTES + count * FACE_RECORD_BYTES > header.length) {
    throw new ProtocolError(
      "BAD_HEADER",
      `reply header of ${header.length} bytes is too short for ${count} faces`,
    );
  }
  const faces: Face[] = [];
  let offset = REPLY_HEADER_BYTES;
  for (let index = 0; index < count; index++) {
    if (offset + FACE_RECORD_BYTES > header.length) {
      throw new ProtocolError(
        "BAD_HEADER",
        `reply header ends inside face ${index}`,
      );
    }
    const labelLength = view.getUint16(offset + 24, true);
    const end = offset + FACE_RECORD_BYTES + labelLength;
    if (labelLength < 1 || labelLength > MAX_LABEL_BYTES) {
      throw new ProtocolError(
        "BAD_HEADER",
        `face ${index} label length ${labelLength} is outside 1..${MAX_LABEL_BYTES}`,
      );
    }
    if (end > header.length) {
      throw new ProtocolError(
        "BAD_HEADER",
        `reply header ends inside the label of face ${index}`,
      );
    }
    const face: Face = {
      x: view.getInt32(offset, true),
      y: view.getInt32(offset + 4, true),
      w: view.getInt32(offset + 8, true),
      h: view.getInt32(offset + 12, true),
      label: decodeText(
        header.subarray(offset + FACE_RECORD_BYTES, end),
        `face ${index} label`,
      ),
      distance: view.getFloat64(offset + 16, true),
    };
    checkFace(face, index);
    faces.push(face);
    offset = end;
  }
  if (offset !== header.length) {
    throw new ProtocolError(
      "BAD_HEADER",
      `reply header has ${header.length - offset} bytes after the last face`,
    );
  }
  const result: FrameReply = {
    kind: "reply",
    frameId,
    timestamp,
    faces,
    timings,
  };
  const formatByte = header[6];
  const width = view.getUint32(72, true);
  const height = view.getUint32(76, true);
  const byteCount = view.getUint32(80, true);
  const pixels = plain(parts[1]);
  if (byteCount !== pixels.length) {
    throw new ProtocolError(
      "BAD_SIZE",
      `reply announces ${byteCount} frame bytes but part 1 has ${pixels.length}`,
    );
  }
  if (formatByte === 0) {
    if (width !== 0 || height !== 0 || pixels.length !== 0) {
      throw new ProtocolError(
        "BAD_HEADER",
        "reply without a frame must have zero frame width, height and bytes",
      );
    }
    return result;
  }
  const format = FORMAT_BY_BYTE.get(formatByte);
  if (format !== "rgb24" && format !== "jpeg") {
    throw new ProtocolError(
      "BAD_FORMAT",
      `reply frame format byte ${formatByte} is not rgb24 (2) or jpeg (4)`,
    );
  }
  checkDimensions(width, height, all, false);
  checkPixels(format, width, height, pixels, all);
  result.frame = { format, width, height, pixels };
  return result;
}

/**
 * Encodes what the original Python client sends:
 * `[b'{"dtype": "uint8", "shape": [h, w, 3]}', pixels]` (`shape` is `[h, w]`
 * for grey), byte for byte as pyzmq's `send_json` writes it.
 */
export function encodeLegacyRequest(
  pixels: Uint8Array,
  shape: LegacyShape,
): Uint8Array[] {
  return [legacyHeader(pixels, shape), pixels];
}

function legacyHeader(pixels: Uint8Array, shape: LegacyShape): Uint8Array {
  const channels = shape.channels ?? 3;
  checkU32(shape.width, "width");
  checkU32(shape.height, "height");
  if (channels !== 1 && channels !== 3) {
    throw new ProtocolError(
      "BAD_FORMAT",
      `legacy frames have 3 or 1 channels, got ${channels}`,
      { legacy: true },
    );
  }
  const expected = shape.width * shape.height * channels;
  if (pixels.length !== expected) {
    throw new ProtocolError(
      "BAD_SIZE",
      `legacy ${shape.width}x${shape.height}x${channels} needs ${expected} bytes, got ${pixels.length}`,
      { legacy: true },
    );
  }
  const dims = channels === 3
    ? `${shape.height}, ${shape.width}, 3`
    : `${shape.height}, ${shape.width}`;
  return encoder.encode(`{"dtype": "uint8", "shape": [${dims}]}`);
}

/**
 * Encodes the annotated frame for a legacy client:
 * `[b'{"dtype": "uint8", "shape": [h, w, 3]}', BGR bytes]`, which the Python
 * client reads with `recv_json()` then `recv()`.
 */
export function encodeLegacyReply(
  pixels: Uint8Array,
  shape: LegacyShape,
): Uint8Array[] {
  return [legacyHeader(pixels, shape), pixels];
}

/**
 * Encodes an error for a legacy client:
 * `[b'{"error": message, "code": "BAD_SIZE"}', empty]`. Two parts, like a
 * normal legacy reply, so a `recv_json()` + `recv()` client does not wedge.
 */
export function encodeLegacyError(
  code: ErrorCode,
  message: string,
): Uint8Array[] {
  if (ERROR_CODES[code] === undefined) {
    throw new ProtocolError("BAD_HEADER", `unknown error code ${code}`);
  }
  const buffer = new Uint8Array(MAX_ERROR_MESSAGE_BYTES);
  const { read } = encoder.encodeInto(String(message), buffer);
  const text = String(message).slice(0, read);
  return [
    encoder.encode(JSON.stringify({ error: text, code })),
    new Uint8Array(0),
  ];
}

/**
 * Decodes what a legacy server answers (what the Python client receives): the
 * annotated frame or an error. Throws {@link ProtocolError} when malformed.
 */
export function decodeLegacyReply(
  parts: readonly Uint8Array[],
  limits?: Partial<Limits>,
): LegacyReply | ErrorReply {
  checkPartsArray(parts, "legacy reply");
  const all = withLimits(limits);
  const header = parts[0];
  if (header.length === 0 || header[0] !== OPEN_BRACE) {
    throw new ProtocolError(
      "BAD_MAGIC",
      'legacy reply part 0 does not start with "{"',
      { legacy: true },
    );
  }
  const json = parseLegacyJson(header, {
    ...all,
    // An error's JSON escapes may grow its message up to 6 times.
    maxJsonBytes: Math.max(all.maxJsonBytes, 8 * MAX_ERROR_MESSAGE_BYTES),
  });
  checkTwoParts(parts, "legacy reply", true);
  if (Object.hasOwn(json, "error")) {
    if (typeof json.error !== "string" || typeof json.code !== "string") {
      throw new ProtocolError(
        "BAD_HEADER",
        'legacy error needs string "error" and "code"',
        { legacy: true },
      );
    }
    if (parts[1].length !== 0) {
      throw new ProtocolError(
        "BAD_SIZE",
        `legacy error part 1 must be empty, has ${parts[1].length} bytes`,
        { legacy: true },
      );
    }
    const code = Object.hasOwn(ERROR_CODES, json.code)
      ? json.code as ErrorCode
      : "UNKNOWN";
    return { kind: "error", code, message: json.error };
  }
  return { kind: "legacy-reply", ...legacyFrame(json, parts[1], all) };
}

/** The shape in a legacy JSON header and the pixels part, checked against each other. */
function legacyFrame(
  json: Record<string, unknown>,
  part: Uint8Array,
  limits: Limits,
): { width: number; height: number; channels: 1 | 3; pixels: Uint8Array } {
  const { width, height, channels } = legacyShape(json, limits);
  const pixels = plain(part);
  const expected = width * height * channels;
  if (pixels.length !== expected) {
    throw new ProtocolError(
      "BAD_SIZE",
      `legacy shape [${height}, ${width}, ${channels}] needs ${expected} bytes, got ${pixels.length}`,
      { legacy: true },
    );
  }
  return { width, height, channels, pixels };
}

/** Options of {@link errorReplyFor}. */
export interface ErrorReplyOptions {
  /**
   * Answer in the legacy dialect. Defaults to the error's own `legacy` flag
   * for a {@link ProtocolError}, else false.
   */
  legacy?: boolean;
}

/**
 * Turns anything thrown while handling a request into the error reply to
 * send: a {@link ProtocolError} keeps its code and message; any other error
 * becomes `INTERNAL` with a generic message (no internals leak to clients).
 */
export function errorReplyFor(
  error: unknown,
  options: ErrorReplyOptions = {},
): Uint8Array[] {
  let code: ErrorCode = "INTERNAL";
  let message = "internal server error";
  let legacy = false;
  if (error instanceof ProtocolError) {
    code = error.code;
    message = error.message;
    legacy = error.legacy;
  }
  if (options.legacy !== undefined) legacy = options.legacy;
  return legacy ? encodeLegacyError(code, message) : encodeError(code, message);
}
