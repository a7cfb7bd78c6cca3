/**
 * What to capture from: turns an input string (a camera device, a file, a URL
 * or a synthetic lavfi graph) into ffmpeg input arguments, and knows each
 * operating system's default camera. A missing camera or file is reported
 * here, before ffmpeg starts, as a {@link CaptureError}.
 *
 * @module
 */

import { CaptureError } from "./capture_error.ts";

/** Options of {@link defaultCameraInput}. */
export interface DefaultCameraOptions {
  /** Operating system; default `Deno.build.os`. */
  os?: typeof Deno.build.os;
  /** ffmpeg program used to list DirectShow devices on Windows. */
  ffmpeg?: string;
}

/** A camera input: ffmpeg's `-f` format and its `-i` argument. */
export interface CameraInput {
  /** ffmpeg input format: `v4l2`, `avfoundation` or `dshow`. */
  format: string;
  /** ffmpeg input: `/dev/video0`, `0` or `video=NAME`. */
  input: string;
}

/** Parses the first video device of `ffmpeg -list_devices true -f dshow` output. */
export function firstDshowVideo(listing: string): string | null {
  for (const line of listing.split(/\r?\n/)) {
    const m = line.match(/"([^"]+)"\s*\(video\)/);
    if (m) return m[1];
  }
  // Older ffmpeg: a "DirectShow video devices" header, then quoted names.
  let inVideo = false;
  for (const line of listing.split(/\r?\n/)) {
    if (/DirectShow video devices/.test(line)) inVideo = true;
    else if (/DirectShow audio devices/.test(line)) inVideo = false;
    else if (inVideo && !/Alternative name/.test(line)) {
      const m = line.match(/"([^"]+)"/);
      if (m) return m[1];
    }
  }
  return null;
}

/**
 * The default camera of this machine: v4l2 `/dev/video0` on Linux,
 * avfoundation `0` on macOS, and on Windows the first DirectShow video device
 * (`video=NAME`, found with `ffmpeg -list_devices true -f dshow -i dummy`).
 */
export function defaultCameraInput(
  options: DefaultCameraOptions = {},
): CameraInput {
  const os = options.os ?? Deno.build.os;
  if (os === "darwin") return { format: "avfoundation", input: "0" };
  if (os === "windows") {
    let name: string | null = null;
    try {
      const out = new Deno.Command(options.ffmpeg ?? "ffmpeg", {
        args: [
          "-hide_banner",
          "-list_devices",
          "true",
          "-f",
          "dshow",
          "-i",
          "dummy",
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      const text = new TextDecoder().decode(out.stderr) +
        new TextDecoder().decode(out.stdout);
      name = firstDshowVideo(text);
    } catch {
      name = null;
    }
    if (name === null) {
      throw new CaptureError(
        "No camera found: ffmpeg lists no DirectShow video device. Connect a " +
          'camera or choose an input with --input (a file, a URL or "dshow:video=NAME").',
      );
    }
    return { format: "dshow", input: `video=${name}` };
  }
  return { format: "v4l2", input: "/dev/video0" };
}

/** What kind of source an input string names. */
export type InputKind = "camera" | "file" | "url" | "lavfi";

/** An input string resolved into ffmpeg arguments. */
export interface ResolvedInput {
  /** Camera, file, URL or lavfi (synthetic source, behaves like a file). */
  kind: InputKind;
  /** Arguments placed before and including `-i INPUT`. */
  args: string[];
  /** The input as a person would name it, for messages. */
  label: string;
}

/** Options of {@link resolveInput}. */
export interface ResolveInputOptions {
  /** Read files and lavfi graphs as fast as possible instead of at their own rate. */
  everyFrame?: boolean;
  /** Loop a file forever. */
  loop?: boolean;
  /** Frame rate asked of an avfoundation camera; default 30. */
  fps?: number;
}

const DEVICE_PREFIX = /^(v4l2|avfoundation|dshow|lavfi|gdigrab|x11grab):(.*)$/s;
const URL_PREFIX = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;

/** Names of video devices under /dev (Linux), for "camera missing" messages. */
function listVideoDevices(): string[] {
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync("/dev")) {
      if (/^video\d+$/.test(entry.name)) names.push(`/dev/${entry.name}`);
    }
  } catch {
    // No /dev: nothing to list.
  }
  return names.sort();
}

/**
 * Resolves an input string into ffmpeg input arguments: a device under
 * `/dev/` (v4l2), `avfoundation:0`, `dshow:video=NAME`, `lavfi:GRAPH`, a URL
 * (`rtsp://`, `http://`, `udp://`...) or a file path. Files and lavfi graphs
 * are read at their own rate (`-re`) unless `everyFrame`. Throws a
 * {@link CaptureError} for a missing camera or file.
 */
export function resolveInput(
  input: string,
  options: ResolveInputOptions = {},
): ResolvedInput {
  const rate = options.everyFrame ? [] : ["-re"];
  const loop = options.loop ? ["-stream_loop", "-1"] : [];
  const prefixed = input.match(DEVICE_PREFIX);
  if (prefixed) {
    const [, format, device] = prefixed;
    if (format === "lavfi") {
      return {
        kind: "lavfi",
        args: [...rate, "-f", "lavfi", "-i", device],
        label: input,
      };
    }
    if (format === "v4l2") return resolveInput(device, options);
    const framerate = format === "avfoundation"
      ? ["-framerate", String(options.fps ?? 30)]
      : [];
    return {
      kind: "camera",
      args: ["-f", format, ...framerate, "-i", device],
      label: input,
    };
  }
  if (input.startsWith("/dev/")) {
    try {
      Deno.statSync(input);
    } catch {
      const devices = listVideoDevices();
      const present = devices.length > 0
        ? `Video devices present: ${devices.join(", ")}.`
        : "No video device is present (/dev/video* is empty).";
      throw new CaptureError(
        `Camera ${input} not found. ${present} Choose a camera with ` +
          `--input /dev/videoN, or a video file or URL with --input.`,
      );
    }
    return {
      kind: "camera",
      args: ["-f", "v4l2", "-i", input],
      label: `camera ${input}`,
    };
  }
  if (URL_PREFIX.test(input)) {
    const low = input.startsWith("rtsp://") ? ["-rtsp_transport", "tcp"] : [];
    return {
      kind: "url",
      args: ["-flags", "low_delay", ...low, "-i", input],
      label: input,
    };
  }
  let stat: Deno.FileInfo;
  try {
    stat = Deno.statSync(input);
  } catch {
    throw new CaptureError(
      `Video file not found: ${input}. Give an existing video file, a URL ` +
        `or a camera with --input.`,
    );
  }
  if (!stat.isFile) {
    throw new CaptureError(`Not a video file: ${input} is a directory.`);
  }
  return {
    kind: "file",
    args: [...rate, ...loop, "-i", input],
    label: `file ${input}`,
  };
}
