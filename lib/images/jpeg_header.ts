/**
 * What a JPEG's header says, read without decoding its image data: the one
 * walker over JPEG marker segments. The protocol uses it to learn a frame's
 * size before anything is allocated for it, the decoder to refuse huge or
 * unsupported files before handing them to libjpeg. It imports nothing, so
 * reading a size never loads a codec.
 *
 * @module
 */

/** The start-of-frame fields of a JPEG. */
export interface JpegHeader {
  /** Width in pixels (never 0). */
  width: number;
  /** Height in pixels (never 0). */
  height: number;
  /** Colour components: 1 grey, 3 YCbCr (or RGB), 4 CMYK or YCCK. */
  components: number;
  /** Bits per sample: 8 in nearly every file, 12 or 16 in a few. */
  precision: number;
  /** True for progressive frames (SOF2, SOF6, SOF10, SOF14). */
  progressive: boolean;
}

/** Thrown by {@linkcode jpegHeader} when the bytes do not hold a readable JPEG header. */
export class JpegHeaderError extends Error {
  /** What is wrong, without the leading "JPEG", e.g. "frame header (SOF) is truncated". */
  readonly reason: string;

  /** Creates the error; the message is `JPEG <reason>`. */
  constructor(reason: string) {
    super(`JPEG ${reason}`);
    this.name = "JpegHeaderError";
    this.reason = reason;
  }
}

/** True for the start-of-frame markers, the only segments that carry the size. */
function isStartOfFrame(marker: number): boolean {
  // C4 (DHT), C8 (reserved) and CC (DAC) share the range but are not frames.
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 &&
    marker !== 0xc8 && marker !== 0xcc;
}

/**
 * Reads the first start-of-frame segment of a JPEG: a bounded walk over the
 * marker segments before the first scan, which reads no byte past the end.
 *
 * @throws {JpegHeaderError} when the bytes do not start a JPEG, a segment
 * is malformed, or no frame header comes before the image data.
 */
export function jpegHeader(bytes: Uint8Array): JpegHeader {
  if (bytes.length < 4) {
    throw new JpegHeaderError(`is too short (${bytes.length} bytes)`);
  }
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    throw new JpegHeaderError("does not start with the SOI marker FF D8");
  }
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) {
      throw new JpegHeaderError(`has no marker at byte ${i}`);
    }
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      i += 2; // a marker without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) {
      throw new JpegHeaderError(
        "reaches its image data before any frame header (SOF)",
      );
    }
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    if (length < 2) {
      throw new JpegHeaderError(
        `segment at byte ${i} has invalid length ${length}`,
      );
    }
    if (isStartOfFrame(marker)) {
      if (length < 8 || i + 2 + length > bytes.length) {
        throw new JpegHeaderError("frame header (SOF) is truncated");
      }
      const height = (bytes[i + 5] << 8) | bytes[i + 6];
      const width = (bytes[i + 7] << 8) | bytes[i + 8];
      if (width === 0 || height === 0) {
        throw new JpegHeaderError(
          `frame header gives a size of ${width}x${height}`,
        );
      }
      return {
        width,
        height,
        components: bytes[i + 9],
        precision: bytes[i + 4],
        progressive: (marker & 3) === 2,
      };
    }
    i += 2 + length;
  }
  throw new JpegHeaderError("ends before any frame header (SOF)");
}
