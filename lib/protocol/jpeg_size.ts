/**
 * A JPEG's width and height read from its header, without decoding it: the
 * server learns how big a frame will be before it allocates for it.
 *
 * @module
 */

import { jpegHeader, JpegHeaderError } from "../images/jpeg_header.ts";
import { ProtocolError } from "./errors.ts";

/**
 * Reads a JPEG's width and height from its start-of-frame segment without
 * decoding it: a bounded walk over the marker segments before the first scan.
 * Throws `CORRUPT_JPEG` when the bytes do not look like a JPEG.
 */
export function jpegSize(jpeg: Uint8Array): { width: number; height: number } {
  try {
    const { width, height } = jpegHeader(jpeg);
    return { width, height };
  } catch (error) {
    if (!(error instanceof JpegHeaderError)) throw error;
    throw new ProtocolError("CORRUPT_JPEG", error.message);
  }
}
