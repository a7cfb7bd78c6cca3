/**
 * Image files in and out: JPEG, PNG and PGM/PPM (P2, P3, P5, P6). Formats
 * are recognised by their magic bytes, never by the file name, and decoded
 * to exactly the pixels `cv2.imread` gives (tests/images/image_io_test.ts
 * compares with its output). Every problem with an input file (corrupt,
 * truncated, unsupported, too large) becomes an {@linkcode ImageError} whose
 * message starts with the file name and states the reason.
 *
 * The codecs live in private modules, each saying why it is a library or
 * hand-written: `_jpeg_decoder.ts` (libjpeg-turbo in WebAssembly),
 * `_jpeg_encoder.ts` (hand-written, for speed), `_png.ts` (pngjs) and
 * `_pnm.ts` (hand-written). A JPEG's size without decoding it is
 * `jpeg_header.ts`; pixel layout conversions are `image.ts`.
 *
 * @module
 */

import { type Image, toGrey } from "./image.ts";
import { decodeJpeg } from "./_jpeg_decoder.ts";
import { CodecError, FormatError } from "./_format_error.ts";
import { decodePng } from "./_png.ts";
import { decodePnm, encodePnm, isPnm } from "./_pnm.ts";

export { encodeJpeg, type EncodeJpegOptions } from "./_jpeg_encoder.ts";
export { encodePng } from "./_png.ts";
export { encodePnm };

/** Default upper bound on `width * height` of a decoded image (40 megapixels). */
export const DEFAULT_MAX_PIXELS = 40_000_000;

/** Options for {@linkcode decodeImage}. */
export interface DecodeOptions {
  /** Name used in error messages (usually the file path). Default "image". */
  name?: string;
  /**
   * Return a 1-channel image, converted like `cv2.cvtColor(RGB2GRAY)`
   * (bit-exact).
   */
  grey?: boolean;
  /** Refuse images with more pixels than this. Default 40 000 000. */
  maxPixels?: number;
  /**
   * Keep a JPEG's pixels as stored instead of turning them upright by its
   * EXIF orientation tag (which `cv2.imread` and this module do by default).
   */
  ignoreOrientation?: boolean;
}

/** Options for {@linkcode readImage}: those of {@linkcode decodeImage} but the name. */
export type ReadOptions = Omit<DecodeOptions, "name">;

/** Thrown for every unreadable image; the message names the file and reason. */
export class ImageError extends Error {
  /** Creates the error; `name` is the file name, `reason` what is wrong. */
  constructor(fileName: string, reason: string) {
    super(`${fileName}: ${reason}`);
    this.name = "ImageError";
  }
}

/**
 * Decodes a JPEG, PNG, PGM or PPM file held in memory. Grey sources give a
 * 1-channel image, colour sources a 3-channel RGB image; alpha is dropped
 * (as `cv2.imread(..., IMREAD_COLOR)` does) and 16-bit samples keep their
 * high byte. With `grey: true` the result is always 1-channel.
 *
 * @throws {ImageError} when the bytes are not a supported, intact image.
 * @throws {Error} when a codec cannot start (e.g. no read permission for
 * the JPEG decoder's WebAssembly in node_modules).
 */
export function decodeImage(
  bytes: Uint8Array,
  options: DecodeOptions = {},
): Image {
  const name = options.name ?? "image";
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  let image: Image;
  try {
    image = decodeByMagic(bytes, { ...options, maxPixels });
  } catch (err) {
    if (err instanceof FormatError) throw new ImageError(name, err.message);
    if (err instanceof CodecError) throw err;
    // Anything a codec library throws on hostile input.
    const reason = err instanceof Error ? err.message : String(err);
    throw new ImageError(name, `corrupt image (${reason})`);
  }
  return options.grey ? toGrey(image) : image;
}

/**
 * Reads and decodes an image file (see {@linkcode decodeImage}).
 *
 * @throws {ImageError} when the file is missing, unreadable or not an image.
 */
export async function readImage(
  path: string,
  options: ReadOptions = {},
): Promise<Image> {
  let bytes: Uint8Array;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new ImageError(path, "not a regular file");
    if (info.size > 512 * 1024 * 1024) {
      throw new ImageError(path, `file too large (${info.size} bytes)`);
    }
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof ImageError) throw err;
    if (err instanceof Deno.errors.NotFound) {
      throw new ImageError(path, "file not found");
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new ImageError(path, "permission denied");
    }
    const reason = err instanceof Error ? err.message : String(err);
    throw new ImageError(path, `cannot read file (${reason})`);
  }
  return decodeImage(bytes, { ...options, name: path });
}

/** Encodes an image as binary PGM (P5); RGB is converted to grey first. */
export function encodePgm(image: Image): Uint8Array {
  return encodePnm(toGrey(image));
}

function decodeByMagic(
  bytes: Uint8Array,
  options: DecodeOptions & { maxPixels: number },
): Image {
  if (bytes.length === 0) throw new FormatError("empty file");
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    return decodeJpeg(bytes, options);
  }
  if (
    bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 &&
    bytes[2] === 0x4e && bytes[3] === 0x47
  ) {
    return decodePng(bytes, options.maxPixels);
  }
  if (isPnm(bytes)) return decodePnm(bytes, options.maxPixels);
  throw new FormatError("unsupported image format (not JPEG, PNG, PGM or PPM)");
}
