/**
 * Test support for video: {@link probeVideo} checks what a recording holds
 * by decoding it with ffmpeg, and {@link running} tells whether a child
 * (ffmpeg, ffplay) is still alive after a close.
 *
 * @module
 */

import { CaptureError } from "../../lib/video/capture_error.ts";

/** Number of ffmpeg's last stderr lines quoted when a video cannot be read. */
const STDERR_LINES = 20;

/** True while a process with this id exists and is not a zombie (Linux /proc). */
export function running(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \([^)]*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** Facts about a video file, from ffprobe-like `ffmpeg` output. */
export interface VideoInfo {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Codec name, e.g. `h264`. */
  codec: string;
  /** Pixel format, e.g. `yuv420p`. */
  pixelFormat: string;
  /** Frames decoded (counted by decoding the whole file). */
  frames: number;
}

/**
 * Decodes a whole video with ffmpeg and reports its size, codec, pixel
 * format and decoded frame count. Throws a {@link CaptureError} if ffmpeg
 * cannot read it.
 */
export async function probeVideo(
  path: string,
  options: { ffmpeg?: string } = {},
): Promise<VideoInfo> {
  const program = options.ffmpeg ?? "ffmpeg";
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(program, {
      args: [
        "-hide_banner",
        "-nostdin",
        "-i",
        path,
        "-map",
        "0:v:0",
        "-f",
        "null",
        "-",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CaptureError(`ffmpeg was not found (tried "${program}").`);
    }
    throw err;
  }
  const text = new TextDecoder().decode(out.stderr);
  const stream = text.match(
    /Stream #0:\d+[^:]*: Video: (\w+)[^,]*, (\w+)[^,]*?(?:\([^)]*\))?, (\d+)x(\d+)/,
  );
  const counts = [...text.matchAll(/frame=\s*(\d+)/g)];
  if (!out.success || !stream) {
    throw new CaptureError(
      `Could not read ${path} as a video.\nffmpeg said:\n${
        text.split(/\r?\n/).slice(-STDERR_LINES).join("\n")
      }`,
    );
  }
  return {
    codec: stream[1],
    pixelFormat: stream[2],
    width: Number(stream[3]),
    height: Number(stream[4]),
    frames: counts.length > 0 ? Number(counts[counts.length - 1][1]) : 0,
  };
}
