/**
 * Netpbm PGM and PPM (P2, P3, P5, P6), hand-written: the formats are a text
 * header and raw samples, simpler to read here than any library's API, and
 * the project's oracle files (`cv2.imwrite` output) are in them.
 *
 * @module
 */

import { checkImage, type Image } from "./image.ts";
import { FormatError, tooLarge } from "./_format_error.ts";

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b ||
    c === 0x0c;
}

/** Reads whitespace/comment separated decimal tokens of a Netpbm file. */
class PnmReader {
  at = 2;
  constructor(readonly bytes: Uint8Array) {}

  skipSpace(): void {
    const b = this.bytes;
    while (this.at < b.length) {
      if (isSpace(b[this.at])) {
        this.at++;
      } else if (b[this.at] === 0x23) { // '#': comment to end of line
        while (this.at < b.length && b[this.at] !== 0x0a) this.at++;
      } else {
        break;
      }
    }
  }

  number(what: string): number {
    this.skipSpace();
    const b = this.bytes;
    if (this.at >= b.length) {
      throw new FormatError(`truncated PGM/PPM (missing ${what})`);
    }
    let value = 0;
    let digits = 0;
    while (this.at < b.length && b[this.at] >= 0x30 && b[this.at] <= 0x39) {
      value = value * 10 + b[this.at] - 0x30;
      this.at++;
      digits++;
      if (digits > 9) {
        throw new FormatError(`corrupt PGM/PPM (${what} too big)`);
      }
    }
    if (digits === 0) throw new FormatError(`corrupt PGM/PPM (bad ${what})`);
    return value;
  }
}

/** True when the bytes start like a Netpbm file ("P1" to "P7"). */
export function isPnm(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x50 && bytes[1] >= 0x31 &&
    bytes[1] <= 0x37;
}

/**
 * Decodes a PGM (grey) or PPM (RGB), scaling samples to 0..255 when the
 * file's maxval is not 255.
 *
 * @throws {FormatError} for other Netpbm variants and damaged or too large files.
 */
export function decodePnm(bytes: Uint8Array, maxPixels: number): Image {
  const kind = bytes[1] - 0x30;
  if (kind !== 2 && kind !== 3 && kind !== 5 && kind !== 6) {
    throw new FormatError(
      `unsupported Netpbm variant P${kind} (only P2, P3, P5, P6)`,
    );
  }
  const reader = new PnmReader(bytes);
  const width = reader.number("width");
  const height = reader.number("height");
  const maxval = reader.number("maxval");
  if (width === 0 || height === 0) {
    throw new FormatError("corrupt PGM/PPM (zero width or height)");
  }
  if (maxval === 0 || maxval > 65535) {
    throw new FormatError(`corrupt PGM/PPM (maxval ${maxval})`);
  }
  if (width * height > maxPixels) throw tooLarge({ width, height }, maxPixels);
  const channels = kind === 3 || kind === 6 ? 3 : 1;
  const count = width * height * channels;
  const out = new Uint8Array(count);
  const scale = (v: number) =>
    maxval === 255 ? v : Math.floor((v * 255 + (maxval >> 1)) / maxval);
  if (kind === 5 || kind === 6) {
    // Exactly one whitespace byte separates the header from the raster.
    if (reader.at >= bytes.length || !isSpace(bytes[reader.at])) {
      throw new FormatError("truncated PGM/PPM (no pixel data)");
    }
    const start = reader.at + 1;
    const bytesPerSample = maxval > 255 ? 2 : 1;
    if (bytes.length - start < count * bytesPerSample) {
      throw new FormatError(
        `truncated PGM/PPM (pixel data has ${bytes.length - start} of ${
          count * bytesPerSample
        } bytes)`,
      );
    }
    if (bytesPerSample === 1) {
      for (let i = 0; i < count; i++) {
        const v = bytes[start + i];
        if (v > maxval) {
          throw new FormatError("corrupt PGM/PPM (value > maxval)");
        }
        out[i] = scale(v);
      }
    } else {
      for (let i = 0; i < count; i++) {
        const v = (bytes[start + 2 * i] << 8) | bytes[start + 2 * i + 1];
        if (v > maxval) {
          throw new FormatError("corrupt PGM/PPM (value > maxval)");
        }
        out[i] = scale(v);
      }
    }
  } else {
    for (let i = 0; i < count; i++) {
      const v = reader.number("pixel value");
      if (v > maxval) throw new FormatError("corrupt PGM/PPM (value > maxval)");
      out[i] = scale(v);
    }
  }
  return { width, height, channels, data: out };
}

/** Encodes an image as binary PGM (P5, grey) or PPM (P6, RGB). */
export function encodePnm(image: Image): Uint8Array {
  checkImage(image);
  const magic = image.channels === 1 ? "P5" : "P6";
  const header = new TextEncoder().encode(
    `${magic}\n${image.width} ${image.height}\n255\n`,
  );
  const out = new Uint8Array(header.length + image.data.length);
  out.set(header);
  out.set(image.data, header.length);
  return out;
}
