/**
 * Enrolment on the wire: a client sends a person's name and a few face
 * crops (type 4, {@linkcode encodeEnrolRequest}); the server adds them to
 * its live recogniser, saves them, and answers with the person's label and
 * face count (type 5, {@linkcode encodeEnrolReply}) or an error reply
 * (type 3, as every binary message). The byte layout is docs/protocol.md's
 * "Enrolment" section.
 *
 * Like every binary message, an enrol message has two parts: part 0 the
 * header (name and one record per face), part 1 the JPEG crops back to back.
 * Decoders validate everything and throw only {@link ProtocolError}; they
 * check every length against the bytes received before using it, and read a
 * crop's size from its JPEG header without decoding it.
 *
 * @module
 */

import type { Box } from "../images/image.ts";
import {
  checkDimensions,
  checkPartsArray,
  checkTwoParts,
  checkU32,
  plain,
  withLimits,
} from "./_validate.ts";
import { decodeReply } from "./binary.ts";
import { type ErrorReply, type Limits, ProtocolError } from "./errors.ts";
import { jpegSize } from "./jpeg_size.ts";
import {
  MAGIC,
  MESSAGE_TYPES,
  PREFIX_BYTES,
  PREFIX_LAYOUT,
  PROTOCOL_VERSION,
} from "./layout.ts";

/** Most faces in one enrol request. */
export const MAX_ENROL_FACES = 64;

/** Longest person's name, in characters (Unicode code points). */
export const MAX_NAME_CHARS = 64;

/** Longest person's name, in UTF-8 bytes (64 characters of 4 bytes). */
export const MAX_NAME_BYTES = 256;

/** Fixed part of an enrol request header, before the name. */
export const ENROL_REQUEST_HEADER_BYTES = 20;

/** Enrol request header (type 4), after the prefix; the name follows at 20. */
export const ENROL_REQUEST_LAYOUT = {
  /** u8, 1..{@link MAX_ENROL_FACES}. */
  faceCount: 6,
  /** u8, zero. */
  reserved: 7,
  /** u32, echoed in the reply. */
  requestId: 8,
  /** u32, the length of part 1 (all the JPEGs). */
  jpegBytes: 12,
  /** u16, UTF-8 bytes of the name. */
  nameLength: 16,
  /** u16, zero. */
  reserved16: 18,
} as const;

/** One face record of an enrol request, after the name. */
export const ENROL_FACE_BYTES = 20;

/** A face record, relative to its start: the face box in its crop, and the crop's JPEG length. */
export const ENROL_FACE_LAYOUT = {
  /** u32. */
  x: 0,
  /** u32. */
  y: 4,
  /** u32, >= 1. */
  w: 8,
  /** u32, >= 1. */
  h: 12,
  /** u32, bytes of this face's JPEG in part 1. */
  jpegLength: 16,
} as const;

/** Fixed part of an enrol reply header, before the name. */
export const ENROL_REPLY_HEADER_BYTES = 28;

/** Enrol reply header (type 5), after the prefix; the name follows at 28. */
export const ENROL_REPLY_LAYOUT = {
  /** u8, faces added, 1..{@link MAX_ENROL_FACES}. */
  added: 6,
  /** u8, bit 0: the name is new; other bits zero. */
  flags: 7,
  /** u32, echo of the request's. */
  requestId: 8,
  /** i32, the person's label in the recogniser. */
  label: 12,
  /** u32, the person's faces now, these included. */
  faces: 16,
  /** u32, people the recogniser knows now. */
  people: 20,
  /** u16, UTF-8 bytes of the name. */
  nameLength: 24,
  /** u16, zero. */
  reserved16: 26,
} as const;

/**
 * The start of the `ENROL_REFUSED` message of a worker that cannot enrol at
 * all (a remote worker): another worker of the same server may, so a client
 * can try again.
 */
export const ENROL_ELSEWHERE = "this worker cannot enrol";

/** One face to enrol: a JPEG crop of the frame around it, and where it is. */
export interface EnrolFace {
  /** A JPEG of the face with some of the frame around it. */
  jpeg: Uint8Array;
  /** The face in the crop (integers, inside the crop, at least 1x1). */
  box: Box;
}

/** A client's request to add faces of one person to the server's recogniser. */
export interface EnrolRequest {
  /** Discriminant. */
  kind: "enrol";
  /** Client-chosen id, an integer 0..2^32-1, echoed in the reply. */
  requestId: number;
  /** The person's name (see {@linkcode checkEnrolName}). */
  name: string;
  /** 1..{@linkcode MAX_ENROL_FACES} faces. */
  faces: EnrolFace[];
}

/** The server's answer to an {@linkcode EnrolRequest}: saved and live. */
export interface EnrolReply {
  /** Discriminant. */
  kind: "enrolled";
  /** Echo of the request's `requestId`. */
  requestId: number;
  /** The person's name. */
  name: string;
  /** The person's label in the recogniser. */
  label: number;
  /** Faces added by this request (crops the recogniser could not describe are left out). */
  added: number;
  /** The person's faces now, these included. */
  faces: number;
  /** People the recogniser knows now. */
  people: number;
  /** True when the name was not known before. */
  newPerson: boolean;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });
const EMPTY = new Uint8Array(0);

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Throws `BAD_ENROL` unless `name` can name a person: 1..64 characters,
 * no path separator (`/`, `\`) or control character, not `unknown` (the
 * label of strangers, in any case) and not starting with `.` or `_` (the
 * training folder skips such names), no space at either end. The name
 * becomes a folder, so these rules keep it one folder inside the training
 * folder.
 */
export function checkEnrolName(name: string): void {
  const problem = nameProblem(name);
  if (problem !== undefined) {
    throw new ProtocolError(
      "BAD_ENROL",
      `the name ${JSON.stringify(name)} ${problem}`,
    );
  }
}

function nameProblem(name: string): string | undefined {
  if (typeof name !== "string") return "is not a string";
  const chars = [...name].length;
  if (chars < 1 || chars > MAX_NAME_CHARS) {
    return `must have 1..${MAX_NAME_CHARS} characters, has ${chars}`;
  }
  if (/[/\\]/.test(name)) return "has a path separator";
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) {
    return "has a control character";
  }
  if (name.toLowerCase() === "unknown") {
    return 'is "unknown", the stranger label';
  }
  if (name.startsWith(".") || name.startsWith("_")) {
    return 'starts with "." or "_"';
  }
  if (name.trim() !== name) return "starts or ends with a space";
  if (encoder.encode(name).length > MAX_NAME_BYTES) {
    return `is over ${MAX_NAME_BYTES} UTF-8 bytes`;
  }
  return undefined;
}

/**
 * Whether `parts` is an enrol request by its prefix (magic, version 1,
 * type 4), to route it before decoding. Another version is left to the
 * frame decoder, which answers `BAD_VERSION` as for any request.
 */
export function isEnrolRequest(parts: readonly Uint8Array[]): boolean {
  if (!Array.isArray(parts) || !(parts[0] instanceof Uint8Array)) return false;
  const header = parts[0];
  return header.length >= PREFIX_BYTES && header[0] === MAGIC[0] &&
    header[1] === MAGIC[1] && header[2] === MAGIC[2] &&
    header[3] === MAGIC[3] &&
    header[PREFIX_LAYOUT.version] === PROTOCOL_VERSION &&
    header[PREFIX_LAYOUT.type] === MESSAGE_TYPES.enrolRequest;
}

function writePrefix(header: Uint8Array, type: number): void {
  header.set(MAGIC, PREFIX_LAYOUT.magic);
  header[PREFIX_LAYOUT.version] = PROTOCOL_VERSION;
  header[PREFIX_LAYOUT.type] = type;
}

/** Magic, version and type, in the order docs/protocol.md's validation gives. */
function checkPrefix(header: Uint8Array, type: number, what: string): void {
  if (
    header.length < 4 || header[0] !== MAGIC[0] || header[1] !== MAGIC[1] ||
    header[2] !== MAGIC[2] || header[3] !== MAGIC[3]
  ) {
    throw new ProtocolError(
      "BAD_MAGIC",
      `${what} part 0 does not start with the magic "FZMQ"`,
    );
  }
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
      } is not an ${what} (type ${type})`,
    );
  }
}

function decodeName(bytes: Uint8Array): string {
  let name: string;
  try {
    name = strictDecoder.decode(bytes);
  } catch {
    throw new ProtocolError("BAD_HEADER", "the name is not valid UTF-8");
  }
  checkEnrolName(name);
  return name;
}

/** The name's bytes, checked (encoders). */
function encodeName(name: string): Uint8Array {
  checkEnrolName(name);
  return encoder.encode(name);
}

// ------------------------------------------------------------- requests

/**
 * Encodes an enrol request as `[header, JPEGs]` (the JPEGs copied into one
 * part). Throws {@link ProtocolError} for a bad name, count, box or JPEG, so
 * the server's refusal never comes as a surprise.
 */
export function encodeEnrolRequest(request: EnrolRequest): Uint8Array[] {
  checkU32(request.requestId, "requestId");
  const name = encodeName(request.name);
  const faces = request.faces;
  if (!Array.isArray(faces) || faces.length < 1) {
    throw new ProtocolError("BAD_ENROL", "an enrol request needs a face");
  }
  if (faces.length > MAX_ENROL_FACES) {
    throw new ProtocolError(
      "TOO_LARGE",
      `${faces.length} faces is above the limit of ${MAX_ENROL_FACES}`,
    );
  }
  const limits = withLimits({ maxJpegBytes: 0xffffffff });
  let total = 0;
  faces.forEach((face, index) => {
    if (!(face?.jpeg instanceof Uint8Array)) {
      throw new ProtocolError(
        "BAD_PIXELS",
        `face ${index}: jpeg must be a Uint8Array`,
      );
    }
    checkFaceCrop(face.jpeg, face.box, index, limits);
    total += face.jpeg.length;
  });
  checkU32(total, "total JPEG bytes");
  const header = new Uint8Array(
    ENROL_REQUEST_HEADER_BYTES + name.length + ENROL_FACE_BYTES * faces.length,
  );
  const view = viewOf(header);
  const at = ENROL_REQUEST_LAYOUT;
  writePrefix(header, MESSAGE_TYPES.enrolRequest);
  header[at.faceCount] = faces.length;
  view.setUint32(at.requestId, request.requestId, true);
  view.setUint32(at.jpegBytes, total, true);
  view.setUint16(at.nameLength, name.length, true);
  header.set(name, ENROL_REQUEST_HEADER_BYTES);
  const jpegs = new Uint8Array(total);
  let record = ENROL_REQUEST_HEADER_BYTES + name.length;
  let offset = 0;
  for (const { jpeg, box } of faces) {
    const f = ENROL_FACE_LAYOUT;
    view.setUint32(record + f.x, box.x, true);
    view.setUint32(record + f.y, box.y, true);
    view.setUint32(record + f.w, box.w, true);
    view.setUint32(record + f.h, box.h, true);
    view.setUint32(record + f.jpegLength, jpeg.length, true);
    jpegs.set(jpeg, offset);
    offset += jpeg.length;
    record += ENROL_FACE_BYTES;
  }
  return [header, jpegs];
}

/**
 * Decodes and validates an enrol request (server side). Each face's JPEG is
 * a view of part 1. Throws {@link ProtocolError} for anything malformed or
 * over `limits` (each crop within the frame limits).
 */
export function decodeEnrolRequest(
  parts: readonly Uint8Array[],
  limits?: Partial<Limits>,
): EnrolRequest {
  checkPartsArray(parts, "enrol request");
  const header = parts[0];
  checkPrefix(header, MESSAGE_TYPES.enrolRequest, "enrol request");
  checkTwoParts(parts, "enrol request", false);
  const all = withLimits(limits);
  if (header.length < ENROL_REQUEST_HEADER_BYTES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `enrol request header is ${header.length} bytes, shorter than ${ENROL_REQUEST_HEADER_BYTES}`,
    );
  }
  const view = viewOf(header);
  const at = ENROL_REQUEST_LAYOUT;
  if (header[at.reserved] !== 0 || view.getUint16(at.reserved16, true) !== 0) {
    throw new ProtocolError(
      "BAD_HEADER",
      "enrol request reserved bytes are set",
    );
  }
  const count = header[at.faceCount];
  if (count < 1) {
    throw new ProtocolError("BAD_ENROL", "the enrol request has no face");
  }
  if (count > MAX_ENROL_FACES) {
    throw new ProtocolError(
      "TOO_LARGE",
      `${count} faces is above the limit of ${MAX_ENROL_FACES}`,
    );
  }
  const nameLength = view.getUint16(at.nameLength, true);
  if (nameLength < 1 || nameLength > MAX_NAME_BYTES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `name length ${nameLength} is outside 1..${MAX_NAME_BYTES}`,
    );
  }
  const expected = ENROL_REQUEST_HEADER_BYTES + nameLength +
    ENROL_FACE_BYTES * count;
  if (header.length !== expected) {
    throw new ProtocolError(
      "BAD_HEADER",
      `enrol request header is ${header.length} bytes, a ${nameLength}-byte name and ${count} faces need exactly ${expected}`,
    );
  }
  const name = decodeName(
    header.subarray(
      ENROL_REQUEST_HEADER_BYTES,
      ENROL_REQUEST_HEADER_BYTES + nameLength,
    ),
  );
  const jpegs = plain(parts[1]);
  const jpegBytes = view.getUint32(at.jpegBytes, true);
  if (jpegBytes !== jpegs.length) {
    throw new ProtocolError(
      "BAD_SIZE",
      `header announces ${jpegBytes} JPEG bytes but part 1 has ${jpegs.length}`,
    );
  }
  const records: { box: Box; length: number }[] = [];
  let sum = 0;
  for (let index = 0; index < count; index++) {
    const record = ENROL_REQUEST_HEADER_BYTES + nameLength +
      ENROL_FACE_BYTES * index;
    const f = ENROL_FACE_LAYOUT;
    const box = {
      x: view.getUint32(record + f.x, true),
      y: view.getUint32(record + f.y, true),
      w: view.getUint32(record + f.w, true),
      h: view.getUint32(record + f.h, true),
    };
    const length = view.getUint32(record + f.jpegLength, true);
    records.push({ box, length });
    sum += length;
  }
  if (sum !== jpegs.length) {
    throw new ProtocolError(
      "BAD_SIZE",
      `the faces' JPEG lengths add up to ${sum} bytes but part 1 has ${jpegs.length}`,
    );
  }
  const faces: EnrolFace[] = [];
  let offset = 0;
  records.forEach(({ box, length }, index) => {
    const jpeg = jpegs.subarray(offset, offset + length);
    offset += length;
    checkFaceCrop(jpeg, box, index, all);
    faces.push({ jpeg, box });
  });
  return {
    kind: "enrol",
    requestId: view.getUint32(at.requestId, true),
    name,
    faces,
  };
}

/** A crop's JPEG within the limits and its face box inside it. */
function checkFaceCrop(
  jpeg: Uint8Array,
  box: Box,
  index: number,
  limits: Limits,
): void {
  if (jpeg.length === 0) {
    throw new ProtocolError("BAD_PIXELS", `face ${index}: the JPEG is empty`);
  }
  if (jpeg.length > limits.maxJpegBytes) {
    throw new ProtocolError(
      "TOO_LARGE",
      `face ${index}: JPEG of ${jpeg.length} bytes is above the limit of ${limits.maxJpegBytes}`,
    );
  }
  let size: { width: number; height: number };
  try {
    size = jpegSize(jpeg);
    checkDimensions(size.width, size.height, limits, false);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    throw new ProtocolError(error.code, `face ${index}: ${error.message}`);
  }
  const ok = box !== null && typeof box === "object" &&
    [box.x, box.y, box.w, box.h].every((v) =>
      Number.isInteger(v) && v >= 0 && v <= 0xffffffff
    ) && box.w >= 1 && box.h >= 1 && box.x + box.w <= size.width &&
    box.y + box.h <= size.height;
  if (!ok) {
    throw new ProtocolError(
      "BAD_ENROL",
      `face ${index}: box ${box?.x},${box?.y} ${box?.w}x${box?.h} is not inside its ${size.width}x${size.height} crop`,
    );
  }
}

// -------------------------------------------------------------- replies

/** Encodes an enrol reply as `[header + name, empty]`. */
export function encodeEnrolReply(reply: EnrolReply): Uint8Array[] {
  checkU32(reply.requestId, "requestId");
  checkU32(reply.faces, "faces");
  checkU32(reply.people, "people");
  if (
    !Number.isInteger(reply.added) || reply.added < 1 ||
    reply.added > MAX_ENROL_FACES
  ) {
    throw new ProtocolError(
      "BAD_HEADER",
      `added must be an integer in 1..${MAX_ENROL_FACES}, got ${reply.added}`,
    );
  }
  if (
    !Number.isInteger(reply.label) || reply.label < -0x80000000 ||
    reply.label > 0x7fffffff
  ) {
    throw new ProtocolError(
      "BAD_HEADER",
      `label must be a 32-bit integer, got ${reply.label}`,
    );
  }
  const name = encodeName(reply.name);
  const header = new Uint8Array(ENROL_REPLY_HEADER_BYTES + name.length);
  const view = viewOf(header);
  const at = ENROL_REPLY_LAYOUT;
  writePrefix(header, MESSAGE_TYPES.enrolReply);
  header[at.added] = reply.added;
  header[at.flags] = reply.newPerson ? 1 : 0;
  view.setUint32(at.requestId, reply.requestId, true);
  view.setInt32(at.label, reply.label, true);
  view.setUint32(at.faces, reply.faces, true);
  view.setUint32(at.people, reply.people, true);
  view.setUint16(at.nameLength, name.length, true);
  header.set(name, ENROL_REPLY_HEADER_BYTES);
  return [header, EMPTY];
}

/**
 * Decodes the answer to an enrol request (client side): an enrol reply or
 * an error reply. Throws {@link ProtocolError} when it is malformed.
 */
export function decodeEnrolReply(
  parts: readonly Uint8Array[],
): EnrolReply | ErrorReply {
  checkPartsArray(parts, "enrol reply");
  const header = parts[0];
  if (
    header.length >= PREFIX_BYTES &&
    header[PREFIX_LAYOUT.type] === MESSAGE_TYPES.error
  ) {
    const reply = decodeReply(parts);
    if (reply.kind !== "error") {
      throw new ProtocolError("BAD_TYPE", "not an error reply");
    }
    return reply;
  }
  checkPrefix(header, MESSAGE_TYPES.enrolReply, "enrol reply");
  checkTwoParts(parts, "enrol reply", false);
  if (parts[1].length !== 0) {
    throw new ProtocolError(
      "BAD_SIZE",
      `enrol reply part 1 must be empty, has ${parts[1].length} bytes`,
    );
  }
  if (header.length < ENROL_REPLY_HEADER_BYTES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `enrol reply header is ${header.length} bytes, shorter than ${ENROL_REPLY_HEADER_BYTES}`,
    );
  }
  const view = viewOf(header);
  const at = ENROL_REPLY_LAYOUT;
  const flags = header[at.flags];
  if ((flags & ~1) !== 0 || view.getUint16(at.reserved16, true) !== 0) {
    throw new ProtocolError("BAD_HEADER", "enrol reply reserved bits are set");
  }
  const added = header[at.added];
  if (added < 1 || added > MAX_ENROL_FACES) {
    throw new ProtocolError(
      "BAD_HEADER",
      `enrol reply says ${added} faces added, outside 1..${MAX_ENROL_FACES}`,
    );
  }
  const nameLength = view.getUint16(at.nameLength, true);
  if (header.length !== ENROL_REPLY_HEADER_BYTES + nameLength) {
    throw new ProtocolError(
      "BAD_HEADER",
      `enrol reply header is ${header.length} bytes, a ${nameLength}-byte name needs ${
        ENROL_REPLY_HEADER_BYTES + nameLength
      }`,
    );
  }
  return {
    kind: "enrolled",
    requestId: view.getUint32(at.requestId, true),
    name: decodeName(header.subarray(ENROL_REPLY_HEADER_BYTES)),
    label: view.getInt32(at.label, true),
    added,
    faces: view.getUint32(at.faces, true),
    people: view.getUint32(at.people, true),
    newPerson: (flags & 1) === 1,
  };
}
