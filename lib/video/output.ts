/**
 * Video out through child programs: {@link openRecorder} encodes raw frames
 * to an H.264 MP4 file with ffmpeg, {@link openViewer} shows them in an
 * ffplay window. Both read frames from the child's stdin; a failure of the
 * recorder is reported as a {@link CaptureError} with ffmpeg's last lines,
 * while a viewer whose window was closed quietly ignores later frames.
 *
 * @module
 */

import { CaptureError } from "./capture_error.ts";
import {
  bytesPerPixel,
  ffmpegPixFmt,
  type RawPixelFormat as PixelFormat,
} from "../images/pixel_format.ts";
import { collectStderr, LineTail, programName, spawn } from "./_process.ts";

/** Options of {@link openRecorder}. */
export interface RecorderOptions {
  /** Frame width in pixels (even numbers suit H.264 yuv420p). */
  width: number;
  /** Frame height in pixels. */
  height: number;
  /** Frames per second of the recording. */
  fps: number;
  /** ffmpeg program; default `"ffmpeg"`. */
  ffmpeg?: string;
  /** Pixel format of written frames; default `rgb24`. */
  pixelFormat?: PixelFormat;
  /**
   * Fragmented MP4 (default true): a recording cut short (ffmpeg killed,
   * power loss) still plays up to its last fragment (one per keyframe, every
   * 2 s). False writes a classic MP4 with `+faststart` that is only playable
   * after {@link Recorder.close}.
   */
  fragmented?: boolean;
  /** x264 constant rate factor (quality, lower is better); default 23. */
  crf?: number;
  /** x264 preset; default `veryfast`. */
  preset?: string;
  /** Extra ffmpeg output arguments placed before the path (e.g. metadata). */
  extraArgs?: string[];
}

/** A running recording or viewer: write frames, then close. */
export interface Recorder {
  /** Writes one frame of exactly `width * height * channels` bytes. */
  write(frame: Uint8Array): Promise<void>;
  /** Frames written so far. */
  readonly frames: number;
  /** Process id of ffmpeg (or ffplay). */
  readonly pid: number;
  /** Ends the input and waits for ffmpeg to finish the file. Safe to call twice. */
  close(): Promise<void>;
}

/** A frame sink over a child's stdin, shared by recorder and viewer. */
function openSink(
  program: string,
  args: string[],
  frameBytes: number,
  what: string,
  quietWhenGone: boolean,
): Recorder & { readonly closed: boolean } {
  const child = spawn(program, args, { stdin: "piped", stdout: "null" });
  const tail = new LineTail();
  const stderrDone = collectStderr(child.stderr, tail);
  const writer = child.stdin.getWriter();
  let frames = 0;
  let gone = false;
  let closed: Promise<void> | null = null;
  const status = child.status.then((s) => {
    gone = true;
    return s;
  });

  function failure(status: Deno.CommandStatus): CaptureError {
    const said = tail.text() || "(ffmpeg printed nothing)";
    const how = status.signal !== null
      ? `was killed by ${status.signal}`
      : `stopped (exit code ${status.code})`;
    return new CaptureError(
      `${what} ${how} after ${frames} frames.\n` +
        `${programName(program)} said:\n${said}`,
    );
  }

  async function write(frame: Uint8Array): Promise<void> {
    if (frame.length !== frameBytes) {
      throw new CaptureError(
        `${what}: a frame must have ${frameBytes} bytes, got ${frame.length}.`,
      );
    }
    if (closed !== null) throw new CaptureError(`${what} is already closed.`);
    if (gone && quietWhenGone) return;
    try {
      await writer.write(frame);
      frames++;
    } catch {
      const s = await status;
      await stderrDone;
      if (quietWhenGone) return;
      throw failure(s);
    }
  }

  function close(): Promise<void> {
    if (closed === null) {
      closed = (async () => {
        try {
          await writer.close();
        } catch {
          // The program already exited.
        }
        const s = await status;
        await stderrDone;
        // 255 is ffmpeg's code after a SIGINT it handled by finishing the file.
        if (!s.success && !quietWhenGone && s.code !== 255) {
          throw failure(s);
        }
      })();
    }
    return closed;
  }

  return {
    write,
    close,
    get frames() {
      return frames;
    },
    pid: child.pid,
    get closed() {
      return gone;
    },
  };
}

/** Checks a frame size for recording/viewing. */
function checkSize(
  what: string,
  width: number,
  height: number,
  fps: number,
): void {
  if (
    !(Number.isInteger(width) && width > 0 && Number.isInteger(height) &&
      height > 0 && fps > 0)
  ) {
    throw new CaptureError(
      `${what}: size must be positive whole numbers and fps positive, got ` +
        `${width}x${height} at ${fps} fps.`,
    );
  }
}

/**
 * Starts ffmpeg encoding raw frames written with {@link Recorder.write} to
 * an H.264 (yuv420p) MP4 file at `path`. Call {@link Recorder.close} (also on
 * SIGINT) so the file is complete; with the default fragmented MP4 a
 * recording cut short still plays up to its last 2-second fragment.
 */
export function openRecorder(path: string, options: RecorderOptions): Recorder {
  const { width, height, fps } = options;
  checkSize("Recorder", width, height, fps);
  const pixelFormat = options.pixelFormat ?? "rgb24";
  const fragmented = options.fragmented ?? true;
  // yuv420p needs even sizes: pad odd ones by one pixel.
  const pad = width % 2 === 1 || height % 2 === 1
    ? ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"]
    : [];
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-f",
    "rawvideo",
    "-pix_fmt",
    ffmpegPixFmt(pixelFormat),
    "-s",
    `${width}x${height}`,
    "-r",
    String(fps),
    "-i",
    "pipe:0",
    ...pad,
    "-an",
    "-c:v",
    "libx264",
    "-preset",
    options.preset ?? "veryfast",
    "-crf",
    String(options.crf ?? 23),
    "-pix_fmt",
    "yuv420p",
    "-g",
    String(Math.max(1, Math.round(fps * 2))),
    ...(fragmented ? ["-flush_packets", "1"] : []),
    "-movflags",
    fragmented ? "+frag_keyframe+empty_moov+default_base_moof" : "+faststart",
    ...(options.extraArgs ?? []),
    path,
  ];
  return openSink(
    options.ffmpeg ?? "ffmpeg",
    args,
    width * height * bytesPerPixel(pixelFormat),
    `Recording to ${path}`,
    false,
  );
}

/** Options of {@link openViewer}. */
export interface ViewerOptions {
  /** Frame width in pixels. */
  width: number;
  /** Frame height in pixels. */
  height: number;
  /** Frames per second shown. */
  fps: number;
  /** Window title. */
  title?: string;
  /** ffplay program; default `"ffplay"` (see `findFfplay` in `find_ffmpeg.ts`). */
  ffplay?: string;
  /** Pixel format of written frames; default `rgb24`. */
  pixelFormat?: PixelFormat;
}

/** A window showing frames; `closed` turns true when the person closes it. */
export interface Viewer extends Recorder {
  /** True once ffplay exited (window closed); writes are then ignored. */
  readonly closed: boolean;
}

/**
 * Opens an ffplay window showing raw frames written with
 * {@link Viewer.write}. Closing the window does not throw: `closed` turns
 * true and later writes are ignored.
 */
export function openViewer(options: ViewerOptions): Viewer {
  const { width, height, fps } = options;
  checkSize("Viewer", width, height, fps);
  const pixelFormat = options.pixelFormat ?? "rgb24";
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-fflags",
    "nobuffer",
    "-flags",
    "low_delay",
    "-framedrop",
    "-autoexit",
    "-an",
    "-window_title",
    options.title ?? "facezmq",
    "-f",
    "rawvideo",
    "-pixel_format",
    ffmpegPixFmt(pixelFormat),
    "-video_size",
    `${width}x${height}`,
    "-framerate",
    String(fps),
    "-i",
    "pipe:0",
  ];
  return openSink(
    options.ffplay ?? "ffplay",
    args,
    width * height * bytesPerPixel(pixelFormat),
    "Viewer",
    true,
  );
}
