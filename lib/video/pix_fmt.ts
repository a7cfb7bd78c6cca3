/**
 * The pixel formats frames cross the ffmpeg pipes in, and their ffmpeg
 * `-pix_fmt` names: the only place in `lib/video/` that knows either, so that
 * folding them into the project's one pixel-format table
 * (`lib/images/pixel_format.ts`) touches this file and the import lines of
 * its users, nothing else.
 *
 * @module
 */

/** Pixel formats a capture can deliver or a recorder or viewer can take. */
export type PixelFormat = "rgb24" | "bgr24" | "gray";

/** ffmpeg's `-pix_fmt` name of each {@link PixelFormat}. */
const FFMPEG_PIX_FMT: Readonly<Record<PixelFormat, string>> = {
  rgb24: "rgb24",
  bgr24: "bgr24",
  gray: "gray",
};

/** Bytes per pixel of a pixel format. */
export function bytesPerPixel(format: PixelFormat): 1 | 3 {
  return format === "gray" ? 1 : 3;
}

/** The name ffmpeg and ffplay give a pixel format (`-pix_fmt`, `-pixel_format`). */
export function ffmpegPixFmt(format: PixelFormat): string {
  return FFMPEG_PIX_FMT[format];
}
