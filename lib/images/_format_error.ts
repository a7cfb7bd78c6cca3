/**
 * The errors of the codec modules. A bad file gives a reason only, which
 * `image_io.ts` prefixes with the file name as an `ImageError`; anything
 * else a codec throws (a library's own exception) is reported as "corrupt
 * image", except a codec that cannot start.
 *
 * @module
 */

/** A problem with the bytes of an image file; the message is the reason only. */
export class FormatError extends Error {}

/**
 * A codec that could not start (its WebAssembly unreadable, say): not the
 * file's fault, so it is not reported as a bad image.
 */
export class CodecError extends Error {}

/** The error for an image whose header claims more than `maxPixels` pixels. */
export function tooLarge(
  size: { width: number; height: number },
  maxPixels: number,
): FormatError {
  return new FormatError(
    `image too large (${size.width}x${size.height} is more than ${maxPixels} pixels)`,
  );
}
