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
 * @module
 */

import type { Face } from "../face/face.ts";
import {
  PIXEL_FORMATS,
  type PixelFormat,
  pixelFormatOfWireCode,
} from "../images/pixel_format.ts";
import {
  checkDimensions,
  checkFace,
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
  FACE_LAYOUT,
  FACE_RECORD_BYTES,
  MAGIC,
  MAX_LABEL_BYTES,
  MESSAGE_TYPES,
  PREFIX_BYTES,
  PREFIX_LAYOUT,
  PROTOCOL_VERSION,
  REPLY_HEADER_BYTES,
  REPLY_LAYOUT,
  REPLY_MODES,
  REQUEST_HEADER_BYTES,
  REQUEST_LAYOUT,
  TIMING_KEYS,
} from "./layout.ts";

/** Formats the server can send an annotated frame back in. */
export type ReplyFrameFormat = "rgb24" | "jpeg";

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

export type { Face };

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
function writePrefix(header: Uint8Array, type: number): void {
  header.set(MAGIC, PREFIX_LAYOUT.magic);
  header[PREFIX_LAYOUT.version] = PROTOCOL_VERSION;
  header[PREFIX_LAYOUT.type] = type;
}

/** Checks magic, version and type of a binary header (the fixed prefix). */
function checkPrefix(header: Uint8Array, type: number, what: string): void {
  if (header.length < PREFIX_BYTES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `${what} header is ${header.length} bytes, shorter than the ${PREFIX_BYTES}-byte prefix`,
    );
  }
  const version = header[PREFIX_LAYOUT.version];
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      "BAD_VERSION",
      `protocol version ${version} is not supported (this side speaks version ${PROTOCOL_VERSION})`,
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
 * Encodes a camera frame as `[header, pixels]`. The pixels part is the
 * caller's array itself (not copied). Throws {@link ProtocolError} when a
 * field is out of range, so that nothing is silently truncated.
 */
export function encodeRequest(request: FrameRequest): Uint8Array[] {
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
  const header = new Uint8Array(REQUEST_HEADER_BYTES);
  const view = viewOf(header);
  const at = REQUEST_LAYOUT;
  writePrefix(header, MESSAGE_TYPES.request);
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
  checkPrefix(header, MESSAGE_TYPES.request, "request");
  checkTwoParts(parts, "request", false);
  if (header.length !== REQUEST_HEADER_BYTES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `request header is ${header.length} bytes, version ${PROTOCOL_VERSION} needs exactly ${REQUEST_HEADER_BYTES}`,
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
  return request;
}

// -------------------------------------------------------------- replies

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
    formatByte = PIXEL_FORMATS[frame.format].wireCode;
    width = frame.width;
    height = frame.height;
    pixels = frame.pixels;
  }
  const header = new Uint8Array(size);
  const view = viewOf(header);
  const at = REPLY_LAYOUT;
  writePrefix(header, MESSAGE_TYPES.reply);
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
  let offset = REPLY_HEADER_BYTES;
  reply.faces.forEach((face, index) => {
    view.setInt32(offset + FACE_LAYOUT.x, face.x, true);
    view.setInt32(offset + FACE_LAYOUT.y, face.y, true);
    view.setInt32(offset + FACE_LAYOUT.w, face.w, true);
    view.setInt32(offset + FACE_LAYOUT.h, face.h, true);
    view.setFloat64(offset + FACE_LAYOUT.distance, face.distance, true);
    view.setUint16(
      offset + FACE_LAYOUT.labelLength,
      labels[index].length,
      true,
    );
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

/** Reads and checks the face records that follow the fixed reply header. */
function decodeFaces(
  header: Uint8Array,
  view: DataView,
  count: number,
): Face[] {
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
    const labelLength = view.getUint16(
      offset + FACE_LAYOUT.labelLength,
      true,
    );
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
      x: view.getInt32(offset + FACE_LAYOUT.x, true),
      y: view.getInt32(offset + FACE_LAYOUT.y, true),
      w: view.getInt32(offset + FACE_LAYOUT.w, true),
      h: view.getInt32(offset + FACE_LAYOUT.h, true),
      label: decodeText(
        header.subarray(offset + FACE_RECORD_BYTES, end),
        `face ${index} label`,
      ),
      distance: view.getFloat64(offset + FACE_LAYOUT.distance, true),
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
  checkPrefix(header, MESSAGE_TYPES.reply, "reply");
  checkTwoParts(parts, "reply", false);
  if (header.length < REPLY_HEADER_BYTES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `reply header is ${header.length} bytes, shorter than ${REPLY_HEADER_BYTES}`,
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
  const faces = decodeFaces(header, view, count);
  const result: FrameReply = {
    kind: "reply",
    frameId,
    timestamp,
    faces,
    timings,
  };
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
