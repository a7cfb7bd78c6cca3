/**
 * A JPEG's width and height read from its header, without decoding it: the
 * server learns how big a frame will be before it allocates for it.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";

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
