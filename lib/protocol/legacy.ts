/**
 * The legacy dialect: what the original Python client speaks with pyzmq's
 * `send_json` + `send`, a JSON header `{"dtype": "uint8", "shape": [h, w, 3]}`
 * and then raw BGR (or grey) bytes. The server answers such a client with
 * the annotated frame in the same form, or with `{"error": ..., "code": ...}`
 * and an empty part.
 *
 * Like the binary dialect, every message has exactly two parts and every
 * decoder validates everything (JSON size capped before parsing), throwing
 * {@link ProtocolError} with `legacy` set. `docs/protocol.md`, "Legacy
 * mode", specifies the bytes.
 *
 * @module
 */

import {
  checkDimensions,
  checkPartsArray,
  checkTwoParts,
  checkU32,
  plain,
  withLimits,
} from "./_validate.ts";
import {
  ERROR_CODES,
  type ErrorCode,
  type ErrorReply,
  type Limits,
  MAX_ERROR_MESSAGE_BYTES,
  ProtocolError,
} from "./errors.ts";

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

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });
const OPEN_BRACE = 0x7b; // "{"
const LEGACY = { legacy: true };

/** Whether part 0 starts with `{`, i.e. is a JSON header of this dialect. */
export function isLegacyHeader(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === OPEN_BRACE;
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

function legacyHeader(pixels: Uint8Array, shape: LegacyShape): Uint8Array {
  const channels = shape.channels ?? 3;
  checkU32(shape.width, "width");
  checkU32(shape.height, "height");
  if (channels !== 1 && channels !== 3) {
    throw new ProtocolError(
      "BAD_FORMAT",
      `legacy frames have 3 or 1 channels, got ${channels}`,
      LEGACY,
    );
  }
  const expected = shape.width * shape.height * channels;
  if (pixels.length !== expected) {
    throw new ProtocolError(
      "BAD_SIZE",
      `legacy ${shape.width}x${shape.height}x${channels} needs ${expected} bytes, got ${pixels.length}`,
      LEGACY,
    );
  }
  const dims = channels === 3
    ? `${shape.height}, ${shape.width}, 3`
    : `${shape.height}, ${shape.width}`;
  return encoder.encode(`{"dtype": "uint8", "shape": [${dims}]}`);
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
 * Decodes and validates a legacy request. Returned pixels are views of
 * part 1. Throws {@link ProtocolError} (with `legacy` set once part 0 is
 * known to be JSON) for anything malformed or over `limits`. A server that
 * also serves binary clients calls `decodeRequest` (`dispatch.ts`) instead.
 */
export function decodeLegacyRequest(
  parts: readonly Uint8Array[],
  limits?: Partial<Limits>,
): LegacyRequest {
  checkPartsArray(parts, "legacy request");
  if (!isLegacyHeader(parts[0])) {
    throw new ProtocolError(
      "BAD_MAGIC",
      'legacy request part 0 does not start with "{"',
      LEGACY,
    );
  }
  const all = withLimits(limits);
  const json = parseLegacyJson(parts[0], all);
  checkTwoParts(parts, "legacy request", true);
  return { kind: "legacy", ...legacyFrame(json, parts[1], all) };
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
  if (!isLegacyHeader(header)) {
    throw new ProtocolError(
      "BAD_MAGIC",
      'legacy reply part 0 does not start with "{"',
      LEGACY,
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
        LEGACY,
      );
    }
    if (parts[1].length !== 0) {
      throw new ProtocolError(
        "BAD_SIZE",
        `legacy error part 1 must be empty, has ${parts[1].length} bytes`,
        LEGACY,
      );
    }
    const code = Object.hasOwn(ERROR_CODES, json.code)
      ? json.code as ErrorCode
      : "UNKNOWN";
    return { kind: "error", code, message: json.error };
  }
  return { kind: "legacy-reply", ...legacyFrame(json, parts[1], all) };
}

/** Parses a legacy JSON header: size cap, strict UTF-8, must be an object. */
function parseLegacyJson(
  bytes: Uint8Array,
  limits: Limits,
): Record<string, unknown> {
  if (bytes.length > limits.maxJsonBytes) {
    throw new ProtocolError(
      "TOO_LARGE",
      `legacy JSON header of ${bytes.length} bytes is above the limit of ${limits.maxJsonBytes}`,
      LEGACY,
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
      LEGACY,
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
  if (!Object.hasOwn(json, "dtype") || typeof json.dtype !== "string") {
    throw new ProtocolError(
      "BAD_HEADER",
      'legacy header needs a string "dtype"',
      LEGACY,
    );
  }
  if (json.dtype !== "uint8") {
    throw new ProtocolError(
      "BAD_FORMAT",
      `legacy dtype must be "uint8", got ${JSON.stringify(json.dtype)}`,
      LEGACY,
    );
  }
  const shape = Object.hasOwn(json, "shape") ? json.shape : undefined;
  if (!Array.isArray(shape) || (shape.length !== 2 && shape.length !== 3)) {
    throw new ProtocolError(
      "BAD_HEADER",
      'legacy "shape" must be an array [height, width] or [height, width, channels]',
      LEGACY,
    );
  }
  for (const item of shape) {
    if (typeof item !== "number" || !Number.isInteger(item)) {
      throw new ProtocolError(
        "BAD_HEADER",
        `legacy "shape" must hold integers, got ${JSON.stringify(item)}`,
        LEGACY,
      );
    }
  }
  const channels = shape.length === 3 ? shape[2] : 1;
  if (channels !== 1 && channels !== 3) {
    throw new ProtocolError(
      "BAD_FORMAT",
      `legacy frames have 3 (BGR) or 1 (grey) channels, got ${channels}`,
      LEGACY,
    );
  }
  const height = shape[0] as number;
  const width = shape[1] as number;
  checkDimensions(width, height, limits, true);
  return { width, height, channels };
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
      LEGACY,
    );
  }
  return { width, height, channels, pixels };
}
