/**
 * The field checks of the encoders and decoders, kept apart so that each
 * codec reads as the layout it writes, and so that the checks both dialects
 * make give the same code and message whichever dialect a fault arrived in.
 *
 * @module
 */

import type { Box } from "../images/image.ts";
import { bytesPerPixel, type PixelFormat } from "../images/pixel_format.ts";
import type { Face, Timings } from "./binary.ts";
import { DEFAULT_LIMITS, type Limits, ProtocolError } from "./errors.ts";
import { jpegSize } from "./jpeg_size.ts";
import { TIMING_KEYS } from "./layout.ts";

/** Largest u32, the widest size field on the wire. */
export const U32_MAX = 0xffffffff;
const I32_MIN = -0x80000000;
const I32_MAX = 0x7fffffff;

/** The limits given, completed with {@link DEFAULT_LIMITS}. */
export function withLimits(limits: Partial<Limits> | undefined): Limits {
  return { ...DEFAULT_LIMITS, ...limits };
}

/** A plain Uint8Array view of the same memory (Node Buffers become plain). */
export function plain(bytes: Uint8Array): Uint8Array {
  if (bytes.constructor === Uint8Array) return bytes;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Part 0 exists and is bytes: enough to look at its first bytes. */
export function checkPartsArray(
  parts: readonly Uint8Array[],
  what: string,
): void {
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

/** Exactly a header and a pixels part, as every message of both dialects. */
export function checkTwoParts(
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

/** Width and height within the limits, checked before any size is trusted. */
export function checkDimensions(
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

/** An encoder's check that a number fits a u32 field instead of wrapping. */
export function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw new ProtocolError(
      "BAD_HEADER",
      `${what} must be an integer in 0..${U32_MAX}, got ${value}`,
    );
  }
}

/** Validates pixel bytes against format and dimensions (both directions). */
export function checkPixels(
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

/** An encoder's check that a float field is finite. */
export function checkFinite(value: number, what: string): void {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ProtocolError(
      "BAD_HEADER",
      `${what} must be a finite number, got ${value}`,
    );
  }
}

/** Every reply timing finite and >= 0. */
export function checkTimings(timings: Timings): void {
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

/** A face record's numbers fit their i32 / f64 fields. */
export function checkFace(face: Face, index: number): void {
  checkFaceBox(face, index);
  if (typeof face.distance !== "number" || Number.isNaN(face.distance)) {
    throw new ProtocolError(
      "BAD_HEADER",
      `face ${index} distance must be a number, got ${face.distance}`,
    );
  }
}

/** A face record's box fits its i32 fields, with `w` and `h` >= 0. */
export function checkFaceBox(face: Box, index: number): void {
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
}
