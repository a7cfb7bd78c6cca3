/**
 * The one table of pixel formats: for each, its byte in the binary protocol
 * (docs/protocol.md, "Pixel formats"), its bytes per pixel and its name in
 * ffmpeg's `-pix_fmt`. The protocol and the ffmpeg pipes both read it, so a
 * format means the same thing on the wire and in a pipe.
 *
 * @module
 */

/** How the pixels of a frame are encoded. `bgr24` is OpenCV's byte order; `jpeg` is a whole JPEG file. */
export type PixelFormat = "grey8" | "rgb24" | "bgr24" | "jpeg";

/** The uncompressed formats: a fixed number of bytes per pixel, rows back to back. */
export type RawPixelFormat = Exclude<PixelFormat, "jpeg">;

/** One row of {@link PIXEL_FORMATS}. */
export interface PixelFormatInfo {
  /** The format's byte on the wire (request and reply header offset 6). */
  wireCode: number;
  /** Bytes per pixel; 0 for `jpeg`, whose size is not a function of its pixel count. */
  bytesPerPixel: 0 | 1 | 3;
  /** ffmpeg's `-pix_fmt` name, or null when a raw-video pipe cannot carry it. */
  ffmpeg: string | null;
}

/** Every pixel format and what it is, by name. */
export const PIXEL_FORMATS: Readonly<
  Record<PixelFormat, Readonly<PixelFormatInfo>>
> = {
  grey8: { wireCode: 1, bytesPerPixel: 1, ffmpeg: "gray" },
  rgb24: { wireCode: 2, bytesPerPixel: 3, ffmpeg: "rgb24" },
  bgr24: { wireCode: 3, bytesPerPixel: 3, ffmpeg: "bgr24" },
  jpeg: { wireCode: 4, bytesPerPixel: 0, ffmpeg: null },
};

const BY_WIRE_CODE: ReadonlyMap<number, PixelFormat> = new Map(
  (Object.keys(PIXEL_FORMATS) as PixelFormat[]).map((
    format,
  ) => [PIXEL_FORMATS[format].wireCode, format]),
);

/** Bytes per pixel of `format`: 1 or 3, or 0 for `jpeg`. */
export function bytesPerPixel(format: RawPixelFormat): 1 | 3;
/** Bytes per pixel of `format`: 1 or 3, or 0 for `jpeg`. */
export function bytesPerPixel(format: PixelFormat): 0 | 1 | 3;
export function bytesPerPixel(format: PixelFormat): 0 | 1 | 3 {
  return PIXEL_FORMATS[format].bytesPerPixel;
}

/** The format whose wire byte is `code`, or undefined for a byte no format has. */
export function pixelFormatOfWireCode(code: number): PixelFormat | undefined {
  return BY_WIRE_CODE.get(code);
}

/** The name ffmpeg and ffplay give a raw format (`-pix_fmt`, `-pixel_format`). */
export function ffmpegPixFmt(format: RawPixelFormat): string {
  // Every raw format has an ffmpeg name; only jpeg lacks one.
  return PIXEL_FORMATS[format].ffmpeg!;
}
