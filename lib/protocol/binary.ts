/**
 * The binary dialect of the facezmq protocol: versioned `FZMQ` messages over
 * ZeroMQ REQ/REP. This module turns requests, replies and errors into
 * multipart frames (`Uint8Array[]`) and back; sockets live elsewhere, and a
 * server that also accepts the legacy dialect decodes with `decodeRequest`
 * from `dispatch.ts`.
 *
 * Every message has exactly two parts: part 0 is a header, part 1 is pixels
 * (possibly empty). Decoders validate everything and throw
 * {@link ProtocolError} for anything wrong; they never allocate based on a
 * size field that has not been checked against the bytes actually received.
 * Pixels are returned as views of the received parts (no copy). The byte
 * layout is specified in `docs/protocol.md` and named in `layout.ts`.
 *
 * Longer than most modules on purpose: every encoder and decoder of the
 * frame messages (versions 1 and 2, requests, replies, errors) is here, in
 * the order of docs/protocol.md, so the specification maps to one file.
 *
 * @module
 */

import type { Face } from "../face/face.ts";
import type { Box } from "../images/image.ts";
import {
  PIXEL_FORMATS,
  type PixelFormat,
  pixelFormatOfWireCode,
} from "../images/pixel_format.ts";
import {
  checkDimensions,
  checkFace,
  checkFaceBox,
  checkFinite,
  checkPartsArray,
  checkPixels,
  checkTimings,
  checkTwoParts,
  checkU32,
  plain,
  U32_MAX,
  withLimits,
} from "./_validate.ts";
import {
  DEFAULT_LIMITS,
  ERROR_CODES,
  type ErrorCode,
  type ErrorReply,
  type Limits,
  MAX_ERROR_MESSAGE_BYTES,
  ProtocolError,
} from "./errors.ts";
import {
  ERROR_HEADER_BYTES,
  ERROR_LAYOUT,
  FACE_FLAGS,
  FACE_LAYOUT,
  FACE_RECORD_BYTES,
  FACE_RECORD_V2_BYTES,
  FACE_V2_LAYOUT,
  MAGIC,
  MAX_LABEL_BYTES,
  MESSAGE_TYPES,
  PREFIX_BYTES,
  PREFIX_LAYOUT,
  PROTOCOL_VERSION,
  PROTOCOL_VERSIONS,
  REPLY_HEADER_BYTES,
  REPLY_LAYOUT,
  REPLY_MODES,
  REPLY_V2_HEADER_BYTES,
  REPLY_V2_LAYOUT,
  REQUEST_HEADER_BYTES,
  REQUEST_LAYOUT,
  REQUEST_V2_HEADER_BYTES,
  TIMING_KEYS,
  TRACKS_VERSION,
} from "./layout.ts";
import { decodeHints, encodeHints, type HintsBlock } from "./_hints.ts";

/** Formats the server can send an annotated frame back in. */
export type ReplyFrameFormat = "rgb24" | "jpeg";

/** The versions of the binary dialect: 2 adds track hints. */
export type ProtocolVersion = 1 | 2;

/**
 * A client's track as it expects it in a frame, sent with a version 2
 * request: the server gives a detected face the track id of the hint it
 * overlaps best (IoU at least 0.3, one face per hint), and does not
 * recognise a face whose hint says `skip`.
 */
export interface TrackHint extends Box {
  /** The client's track id, 1..2^32-1, unique within the request. */
  track: number;
  /** The track's name is settled and not due for a re-check. */
  skip: boolean;
}

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
  /**
   * Protocol version; absent means 1, as decoders leave it for version 1.
   * Version 2 carries {@link FrameRequest.hints}.
   */
  version?: ProtocolVersion;
  /**
   * Version 2 only: the client's tracks (at most `maxHints`; decoded version
   * 2 requests always have the array, possibly empty).
   */
  hints?: TrackHint[];
  /**
   * Version 2 only: look for faces only around the hints (at least one),
   * not in the whole frame. Decoders set it only when true; absent or
   * false is a full detection.
   */
  tracksOnly?: boolean;
}

export type { Face };

/**
 * A face of a reply. Version 2 replies say which track it matched and
 * whether it was recognised; version 1 replies leave both out.
 */
export interface ReplyFace extends Face {
  /** Version 2: the id of the hint it matched, 0 when none matched. */
  track?: number;
  /**
   * Version 2: false when the server skipped the recogniser because the
   * matched hint said `skip`; `label` is then `""` and `distance` NaN.
   */
  recognised?: boolean;
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
  faces: ReplyFace[];
  /** Server timings. */
  timings: Timings;
  /** The annotated frame, when the request asked for it. */
  frame?: ReplyFrame;
  /** Protocol version, the request's; absent means 1, as decoders leave it. */
  version?: ProtocolVersion;
  /**
   * Version 2 (required there): the recogniser's unknown threshold (>= 0,
   * may be +inf), so that a client can weigh a distance.
   */
  threshold?: number;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });
const EMPTY: Uint8Array = new Uint8Array(0);

const CODE_BY_BYTE: ReadonlyMap<number, ErrorCode> = new Map(
  Object.entries(ERROR_CODES).map(([name, byte]) => [
    byte,
    name as ErrorCode,
  ]),
);

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Whether part 0 starts with the magic `FZMQ`, i.e. speaks this dialect. */
export function isBinaryHeader(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === MAGIC[0] &&
    bytes[1] === MAGIC[1] && bytes[2] === MAGIC[2] && bytes[3] === MAGIC[3];
}

/** Writes the prefix (magic, version, type) at the start of `header`. */
function writePrefix(
  header: Uint8Array,
  type: number,
  version: number = PROTOCOL_VERSION,
): void {
  header.set(MAGIC, PREFIX_LAYOUT.magic);
  header[PREFIX_LAYOUT.version] = version;
  header[PREFIX_LAYOUT.type] = type;
}

/** An encoder's check of a message's `version` field (absent: 1). */
function versionOf(version: unknown): ProtocolVersion {
  if (version === undefined) return PROTOCOL_VERSION;
  if (!PROTOCOL_VERSIONS.includes(version as number)) {
    throw new ProtocolError(
      "BAD_VERSION",
      `protocol version ${version} is not one of ${
        PROTOCOL_VERSIONS.join(", ")
      }`,
    );
  }
  return version as ProtocolVersion;
}

/**
 * Checks magic, version and type of a binary header (the fixed prefix);
 * returns the version.
 */
function checkPrefix(
  header: Uint8Array,
  type: number,
  what: string,
): ProtocolVersion {
  if (header.length < PREFIX_BYTES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `${what} header is ${header.length} bytes, shorter than the ${PREFIX_BYTES}-byte prefix`,
    );
  }
  const version = header[PREFIX_LAYOUT.version];
  if (!PROTOCOL_VERSIONS.includes(version)) {
    throw new ProtocolError(
      "BAD_VERSION",
      `protocol version ${version} is not supported (this side speaks versions ${
        PROTOCOL_VERSIONS.join(" and ")
      })`,
    );
  }
  if (header[PREFIX_LAYOUT.type] !== type) {
    throw new ProtocolError(
      "BAD_TYPE",
      `message type ${
        header[PREFIX_LAYOUT.type]
      } is not a ${what} (type ${type})`,
    );
  }
  return version as ProtocolVersion;
}

function decodeText(bytes: Uint8Array, what: string): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new ProtocolError("BAD_HEADER", `${what} is not valid UTF-8`);
  }
}

// ------------------------------------------------------------- requests

/**
 * Encodes a camera frame as `[header, pixels]`, in version 1 or, with
 * `version: 2`, with its track hints after the header. The pixels part is
 * the caller's array itself (not copied). Throws {@link ProtocolError} when
 * a field is out of range, so that nothing is silently truncated.
 */
export function encodeRequest(request: FrameRequest): Uint8Array[] {
  const version = versionOf(request.version);
  if (
    (request.hints !== undefined || request.tracksOnly !== undefined) &&
    version !== TRACKS_VERSION
  ) {
    throw new ProtocolError(
      "BAD_HEADER",
      `track hints need protocol version ${TRACKS_VERSION}`,
    );
  }
  const hints = version === TRACKS_VERSION
    ? encodeHints(request.hints ?? [], {
      maxHints: DEFAULT_LIMITS.maxHints,
      tracksOnly: request.tracksOnly,
    })
    : EMPTY;
  const formatByte = PIXEL_FORMATS[request.format]?.wireCode;
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
  const header = new Uint8Array(REQUEST_HEADER_BYTES + hints.length);
  const view = viewOf(header);
  const at = REQUEST_LAYOUT;
  writePrefix(header, MESSAGE_TYPES.request, version);
  header.set(hints, REQUEST_HEADER_BYTES);
  header[at.format] = formatByte;
  header[at.replyMode] = mode;
  view.setUint32(at.width, request.width, true);
  view.setUint32(at.height, request.height, true);
  view.setUint32(at.frameId, request.frameId, true);
  view.setUint32(at.byteCount, request.pixels.length, true);
  view.setFloat64(at.timestamp, request.timestamp, true);
  return [header, request.pixels];
}

/**
 * Decodes and validates a binary request. Returned pixels are views of
 * part 1. Throws {@link ProtocolError} for anything malformed or over
 * `limits`. A server that also serves legacy clients calls `decodeRequest`
 * (`dispatch.ts`) instead, which picks the dialect.
 */
export function decodeFrameRequest(
  parts: readonly Uint8Array[],
  limits?: Partial<Limits>,
): FrameRequest {
  checkPartsArray(parts, "request");
  const header = parts[0];
  if (!isBinaryHeader(header)) {
    throw new ProtocolError(
      "BAD_MAGIC",
      'request part 0 does not start with the magic "FZMQ"',
    );
  }
  const all = withLimits(limits);
  const version = checkPrefix(header, MESSAGE_TYPES.request, "request");
  checkTwoParts(parts, "request", false);
  let block: HintsBlock | undefined;
  if (version === TRACKS_VERSION) {
    if (header.length < REQUEST_V2_HEADER_BYTES) {
      throw new ProtocolError(
        "BAD_HEADER",
        `request header is ${header.length} bytes, version ${version} needs at least ${REQUEST_V2_HEADER_BYTES}`,
      );
    }
    block = decodeHints(header.subarray(REQUEST_HEADER_BYTES), all.maxHints);
  } else if (header.length !== REQUEST_HEADER_BYTES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `request header is ${header.length} bytes, version ${version} needs exactly ${REQUEST_HEADER_BYTES}`,
    );
  }
  const view = viewOf(header);
  const at = REQUEST_LAYOUT;
  const format = pixelFormatOfWireCode(header[at.format]);
  if (format === undefined) {
    throw new ProtocolError(
      "BAD_FORMAT",
      `unknown pixel format byte ${header[at.format]}`,
    );
  }
  const mode = header[at.replyMode];
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
  const width = view.getUint32(at.width, true);
  const height = view.getUint32(at.height, true);
  const frameId = view.getUint32(at.frameId, true);
  const byteCount = view.getUint32(at.byteCount, true);
  const timestamp = view.getFloat64(at.timestamp, true);
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
  if (block !== undefined) {
    request.version = TRACKS_VERSION;
    request.hints = block.hints;
    if (block.tracksOnly) request.tracksOnly = true;
  }
  return request;
}

// -------------------------------------------------------------- replies

/** Where the faces start and how long a record is before its label, per version. */
const FACE_RECORDS = {
  1: { faces: REPLY_HEADER_BYTES, bytes: FACE_RECORD_BYTES, at: FACE_LAYOUT },
  2: {
    faces: REPLY_V2_HEADER_BYTES,
    bytes: FACE_RECORD_V2_BYTES,
    at: FACE_V2_LAYOUT,
  },
} as const;

/**
 * Encodes a reply as `[header + faces, frame pixels or empty]`, in the
 * reply's `version` (absent: 1; version 2 needs `threshold`, and a face
 * with `recognised: false` needs label `""` and distance NaN). The frame
 * pixels are the caller's array itself. Throws {@link ProtocolError} when a
 * field is out of range or the frame bytes disagree with its dimensions.
 */
export function encodeReply(reply: FrameReply): Uint8Array[] {
  const version = versionOf(reply.version);
  const records = FACE_RECORDS[version];
  checkU32(reply.frameId, "frameId");
  checkFinite(reply.timestamp, "timestamp");
  checkTimings(reply.timings);
  if (version === TRACKS_VERSION) checkThreshold(reply.threshold);
  if (reply.faces.length > DEFAULT_LIMITS.maxFaces) {
    throw new ProtocolError(
      "TOO_LARGE",
      `${reply.faces.length} faces is above the limit of ${DEFAULT_LIMITS.maxFaces}`,
    );
  }
  const labels: Uint8Array[] = [];
  let size: number = records.faces;
  reply.faces.forEach((face, index) => {
    const recognised = version === PROTOCOL_VERSION ||
      checkTrackFields(face, index);
    const label = encoder.encode(face.label);
    if (recognised) {
      checkFace(face, index);
      checkLabelLength(label.length, index);
    } else {
      checkFaceBox(face, index);
      if (label.length !== 0 || !Number.isNaN(face.distance)) {
        throw new ProtocolError(
          "BAD_HEADER",
          `face ${index} was not recognised: its label must be "" and its distance NaN`,
        );
      }
    }
    labels.push(label);
    size += records.bytes + label.length;
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
    formatByte = PIXEL_FORMATS[frame.format].wireCode;
    width = frame.width;
    height = frame.height;
    pixels = frame.pixels;
  }
  const header = new Uint8Array(size);
  const view = viewOf(header);
  const at = REPLY_LAYOUT;
  writePrefix(header, MESSAGE_TYPES.reply, version);
  header[at.frameFormat] = formatByte;
  header[at.reserved] = 0;
  view.setUint32(at.frameId, reply.frameId, true);
  view.setUint32(at.faceCount, reply.faces.length, true);
  view.setFloat64(at.timestamp, reply.timestamp, true);
  TIMING_KEYS.forEach((key, index) => {
    view.setFloat64(at.timings + 8 * index, reply.timings[key], true);
  });
  view.setUint32(at.frameWidth, width, true);
  view.setUint32(at.frameHeight, height, true);
  view.setUint32(at.frameBytes, pixels.length, true);
  view.setUint32(at.reserved32, 0, true);
  if (version === TRACKS_VERSION) {
    view.setFloat64(REPLY_V2_LAYOUT.threshold, reply.threshold!, true);
  }
  let offset: number = records.faces;
  reply.faces.forEach((face, index) => {
    const field = records.at;
    view.setInt32(offset + field.x, face.x, true);
    view.setInt32(offset + field.y, face.y, true);
    view.setInt32(offset + field.w, face.w, true);
    view.setInt32(offset + field.h, face.h, true);
    view.setFloat64(offset + field.distance, face.distance, true);
    view.setUint16(offset + field.labelLength, labels[index].length, true);
    if (version === TRACKS_VERSION) {
      view.setUint32(offset + FACE_V2_LAYOUT.track, face.track ?? 0, true);
      header[offset + FACE_V2_LAYOUT.flags] = face.recognised === false
        ? 0
        : FACE_FLAGS.recognised;
    }
    header.set(labels[index], offset + records.bytes);
    offset += records.bytes + labels[index].length;
  });
  return [header, pixels];
}

/** A version 2 threshold: a number >= 0, not NaN (+inf allowed). */
function checkThreshold(threshold: unknown): void {
  if (typeof threshold !== "number" || !(threshold >= 0)) {
    throw new ProtocolError(
      "BAD_HEADER",
      `threshold must be a number >= 0, got ${threshold}`,
    );
  }
}

/** A face's label length on the wire when it was recognised. */
function checkLabelLength(length: number, index: number): void {
  if (length < 1 || length > MAX_LABEL_BYTES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `face ${index} label must be 1..${MAX_LABEL_BYTES} UTF-8 bytes, got ${length}`,
    );
  }
}

/** An encoder's check of a version 2 face's track and flag; returns the flag. */
function checkTrackFields(face: ReplyFace, index: number): boolean {
  const track = face.track ?? 0;
  if (!Number.isInteger(track) || track < 0 || track > U32_MAX) {
    throw new ProtocolError(
      "BAD_HEADER",
      `face ${index} track must be an integer in 0..${U32_MAX}, got ${track}`,
    );
  }
  const recognised = face.recognised ?? true;
  if (typeof recognised !== "boolean") {
    throw new ProtocolError(
      "BAD_HEADER",
      `face ${index} recognised must be a boolean`,
    );
  }
  return recognised;
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
  writePrefix(header, MESSAGE_TYPES.error);
  header[ERROR_LAYOUT.code] = byte;
  header[ERROR_LAYOUT.reserved] = 0;
  viewOf(header).setUint32(ERROR_LAYOUT.messageLength, written, true);
  return [header, new Uint8Array(0)];
}

function decodeErrorMessage(header: Uint8Array): ErrorReply {
  if (header.length < ERROR_HEADER_BYTES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `error header is ${header.length} bytes, shorter than ${ERROR_HEADER_BYTES}`,
    );
  }
  if (header[ERROR_LAYOUT.reserved] !== 0) {
    throw new ProtocolError(
      "BAD_HEADER",
      "error header reserved byte 7 is set",
    );
  }
  const length = viewOf(header).getUint32(ERROR_LAYOUT.messageLength, true);
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
    code: CODE_BY_BYTE.get(header[ERROR_LAYOUT.code]) ?? "UNKNOWN",
    message,
  };
}

/**
 * Reads and checks the face records that follow the fixed reply header, in
 * the layout of `version`.
 */
function decodeFaces(
  header: Uint8Array,
  count: number,
  version: ProtocolVersion,
): ReplyFace[] {
  const view = viewOf(header);
  const records = FACE_RECORDS[version];
  const field = records.at;
  if (records.faces + count * records.bytes > header.length) {
    throw new ProtocolError(
      "BAD_HEADER",
      `reply header of ${header.length} bytes is too short for ${count} faces`,
    );
  }
  const faces: ReplyFace[] = [];
  let offset: number = records.faces;
  for (let index = 0; index < count; index++) {
    if (offset + records.bytes > header.length) {
      throw new ProtocolError(
        "BAD_HEADER",
        `reply header ends inside face ${index}`,
      );
    }
    const labelLength = view.getUint16(offset + field.labelLength, true);
    const end = offset + records.bytes + labelLength;
    let recognised = true;
    if (version === TRACKS_VERSION) {
      const flags = header[offset + FACE_V2_LAYOUT.flags];
      if (
        (flags & ~FACE_FLAGS.recognised) !== 0 ||
        header[offset + FACE_V2_LAYOUT.reserved] !== 0
      ) {
        throw new ProtocolError(
          "BAD_HEADER",
          `face ${index} has unknown flags or a reserved byte set`,
        );
      }
      recognised = (flags & FACE_FLAGS.recognised) !== 0;
    }
    if (recognised) checkLabelLength(labelLength, index);
    else if (labelLength !== 0) {
      throw new ProtocolError(
        "BAD_HEADER",
        `face ${index} was not recognised but has a ${labelLength}-byte label`,
      );
    }
    if (end > header.length) {
      throw new ProtocolError(
        "BAD_HEADER",
        `reply header ends inside the label of face ${index}`,
      );
    }
    const face: ReplyFace = {
      x: view.getInt32(offset + field.x, true),
      y: view.getInt32(offset + field.y, true),
      w: view.getInt32(offset + field.w, true),
      h: view.getInt32(offset + field.h, true),
      label: decodeText(
        header.subarray(offset + records.bytes, end),
        `face ${index} label`,
      ),
      distance: view.getFloat64(offset + field.distance, true),
    };
    if (version === TRACKS_VERSION) {
      face.track = view.getUint32(offset + FACE_V2_LAYOUT.track, true);
      face.recognised = recognised;
    }
    if (recognised) checkFace(face, index);
    else if (!Number.isNaN(face.distance)) {
      throw new ProtocolError(
        "BAD_HEADER",
        `face ${index} was not recognised but has distance ${face.distance}`,
      );
    } else checkFaceBox(face, index);
    faces.push(face);
    offset = end;
  }
  if (offset !== header.length) {
    throw new ProtocolError(
      "BAD_HEADER",
      `reply header has ${header.length - offset} bytes after the last face`,
    );
  }
  return faces;
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
  if (!isBinaryHeader(header)) {
    throw new ProtocolError(
      "BAD_MAGIC",
      'reply part 0 does not start with the magic "FZMQ"',
    );
  }
  const all = withLimits(limits);
  if (
    header.length >= PREFIX_BYTES &&
    header[PREFIX_LAYOUT.type] === MESSAGE_TYPES.error
  ) {
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
  const version = checkPrefix(header, MESSAGE_TYPES.reply, "reply");
  checkTwoParts(parts, "reply", false);
  const fixed = FACE_RECORDS[version].faces;
  if (header.length < fixed) {
    throw new ProtocolError(
      "BAD_HEADER",
      `version ${version} reply header is ${header.length} bytes, shorter than ${fixed}`,
    );
  }
  const view = viewOf(header);
  const at = REPLY_LAYOUT;
  if (header[at.reserved] !== 0 || view.getUint32(at.reserved32, true) !== 0) {
    throw new ProtocolError("BAD_HEADER", "reply reserved bytes are set");
  }
  const frameId = view.getUint32(at.frameId, true);
  const count = view.getUint32(at.faceCount, true);
  const timestamp = view.getFloat64(at.timestamp, true);
  if (!Number.isFinite(timestamp)) {
    throw new ProtocolError(
      "BAD_HEADER",
      `timestamp must be finite, got ${timestamp}`,
    );
  }
  const timings = {} as Timings;
  TIMING_KEYS.forEach((key, index) => {
    timings[key] = view.getFloat64(at.timings + 8 * index, true);
  });
  checkTimings(timings);
  if (count > all.maxFaces) {
    throw new ProtocolError(
      "TOO_LARGE",
      `${count} faces is above the limit of ${all.maxFaces}`,
    );
  }
  let threshold: number | undefined;
  if (version === TRACKS_VERSION) {
    threshold = view.getFloat64(REPLY_V2_LAYOUT.threshold, true);
    checkThreshold(threshold);
  }
  const faces = decodeFaces(header, count, version);
  const result: FrameReply = {
    kind: "reply",
    frameId,
    timestamp,
    faces,
    timings,
  };
  if (version === TRACKS_VERSION) {
    result.version = version;
    result.threshold = threshold;
  }
  const formatByte = header[at.frameFormat];
  const width = view.getUint32(at.frameWidth, true);
  const height = view.getUint32(at.frameHeight, true);
  const byteCount = view.getUint32(at.frameBytes, true);
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
  const format = pixelFormatOfWireCode(formatByte);
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
