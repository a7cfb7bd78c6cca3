/**
 * Video in and out through the `ffmpeg` program: capture raw frames from a
 * camera, a file or a stream URL ({@link openCapture}), record frames to an
 * H.264 MP4 file ({@link openRecorder}) and show frames in a window through
 * `ffplay` ({@link openViewer}).
 *
 * ffmpeg runs as a child process writing raw `rgb24`/`bgr24`/`gray` frames to
 * its stdout (capture) or reading them from its stdin (recording, viewing).
 * Faults a person can fix (ffmpeg missing, camera missing or busy, file not
 * found or not a video, ffmpeg dying) are reported as {@link CaptureError}
 * with a message meant for that person, including ffmpeg's last error lines.
 *
 * @module
 */

/** Pixel formats a capture can deliver or a recorder can take. */
export type PixelFormat = "rgb24" | "bgr24" | "gray";

/** An error a person can act on: its message says what went wrong and how to fix it. */
export class CaptureError extends Error {
  /** Creates the error with a message meant for a person. */
  constructor(message: string) {
    super(message);
    this.name = "CaptureError";
  }
}

/** Version of the npm package that ships an ffmpeg binary (the fallback). */
const NPM_FFMPEG = "npm:@ffmpeg-installer/ffmpeg@1.1.0";
/** Bare specifier used when deno.json maps it (so `deno install` fetches it). */
const BARE_FFMPEG = "@ffmpeg-installer/ffmpeg";

/** Number of stderr lines kept for error messages. */
const STDERR_LINES = 20;

/** Bytes per pixel of a pixel format. */
export function bytesPerPixel(format: PixelFormat): 1 | 3 {
  return format === "gray" ? 1 : 3;
}

/** Runs `program -version`; true when it starts and exits with status 0. */
export async function runsVersion(program: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(program, {
      args: ["-version"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Options of {@link findFfmpeg}. */
export interface FindFfmpegOptions {
  /** A path given by the user (`--ffmpeg PATH`): it must exist and run. */
  override?: string;
  /** Program name looked up on PATH; default `"ffmpeg"`. */
  name?: string;
  /** Try the binary of the npm package `@ffmpeg-installer/ffmpeg`; default true. */
  npm?: boolean;
}

/** Checks a user-given program path: it must exist and run `-version`. */
async function checkOverride(path: string, what: string): Promise<string> {
  try {
    Deno.statSync(path);
  } catch {
    throw new CaptureError(
      `${what} not found at ${path} (given with --${what}). ` +
        `Pass the path of an existing ${what} program.`,
    );
  }
  if (!(await runsVersion(path))) {
    throw new CaptureError(
      `${path} (given with --${what}) does not run as ${what}: ` +
        `"${path} -version" failed. Pass the path of a working ${what} program.`,
    );
  }
  return path;
}

/** The path of the ffmpeg binary shipped by the npm package, or null. */
async function npmFfmpegPath(): Promise<string | null> {
  for (const spec of [BARE_FFMPEG, NPM_FFMPEG]) {
    let path: string | undefined;
    try {
      const mod = await import(spec);
      path = mod.default?.path ?? mod.path;
    } catch {
      continue;
    }
    if (typeof path !== "string") continue;
    if (Deno.build.os !== "windows") {
      // Deno does not run the package's postinstall `chmod u+x`.
      try {
        const mode = Deno.statSync(path).mode ?? 0o755;
        if ((mode & 0o100) === 0) Deno.chmodSync(path, mode | 0o755);
      } catch {
        continue;
      }
    }
    if (await runsVersion(path)) return path;
  }
  return null;
}

/**
 * Finds an ffmpeg program that runs: the `override` path if given (it must
 * exist and run), else `ffmpeg` on PATH, else the binary shipped inside the
 * npm package `@ffmpeg-installer/ffmpeg`. Throws a {@link CaptureError}
 * saying how to get one when there is none.
 */
export async function findFfmpeg(
  options: FindFfmpegOptions = {},
): Promise<string> {
  if (options.override !== undefined) {
    return await checkOverride(options.override, "ffmpeg");
  }
  const name = options.name ?? "ffmpeg";
  if (await runsVersion(name)) return name;
  if (options.npm ?? true) {
    const path = await npmFfmpegPath();
    if (path !== null) return path;
  }
  throw new CaptureError(
    `ffmpeg was not found: "${name}" is not on PATH and the npm package ` +
      `@ffmpeg-installer/ffmpeg is not installed. Install ffmpeg with your ` +
      `package manager (apt install ffmpeg, brew install ffmpeg, ` +
      `winget install ffmpeg), or run "deno install" so the npm ffmpeg is ` +
      `fetched, or pass --ffmpeg PATH.`,
  );
}

/** Options of {@link findFfplay}. */
export interface FindFfplayOptions {
  /** A path given by the user (`--ffplay PATH`): it must exist and run. */
  override?: string;
  /** Program name looked up on PATH; default `"ffplay"`. */
  name?: string;
}

/**
 * Finds an ffplay program that runs: the `override` path if given, else
 * `ffplay` on PATH. Throws a {@link CaptureError} saying how to get one.
 */
export async function findFfplay(
  options: FindFfplayOptions = {},
): Promise<string> {
  if (options.override !== undefined) {
    return await checkOverride(options.override, "ffplay");
  }
  const name = options.name ?? "ffplay";
  if (await runsVersion(name)) return name;
  throw new CaptureError(
    `ffplay was not found: "${name}" is not on PATH. It comes with ffmpeg: ` +
      `install ffmpeg with your package manager (apt install ffmpeg, ` +
      `brew install ffmpeg, winget install ffmpeg), or pass --ffplay PATH.`,
  );
}

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
  options: { everyFrame?: boolean; loop?: boolean; fps?: number } = {},
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

/** One captured frame. */
export interface Frame {
  /**
   * `width * height * channels` bytes, row-major, no padding. The buffer is
   * reused: the next call of `next()` hands it back to the reader and this
   * array becomes empty (detached); copy it (`data.slice()`) to keep it.
   */
  data: Uint8Array;
  /** Frame number in the source, from 0; gaps are frames dropped in live mode. */
  index: number;
  /** `performance.now()` (ms) when the frame's last byte arrived. */
  time: number;
}

/** Options of {@link openCapture}. */
export interface CaptureOptions {
  /** Camera, file or URL (see {@link resolveInput}); default the machine's camera. */
  input?: string;
  /** Width of delivered frames (the source is scaled to it). */
  width: number;
  /** Height of delivered frames. */
  height: number;
  /** Output frame rate (ffmpeg `fps` filter); default the source's own. */
  fps?: number;
  /** Pixel format of delivered frames; default `rgb24`. */
  pixelFormat?: PixelFormat;
  /**
   * Deliver every frame of a file as fast as the consumer takes them
   * (no `-re`, backpressure on ffmpeg). Default false: live, newest frame only.
   */
  everyFrame?: boolean;
  /** ffmpeg program; default `"ffmpeg"` (see {@link findFfmpeg}). */
  ffmpeg?: string;
  /** Loop a file forever. */
  loop?: boolean;
}

/** A running capture. */
export interface Capture {
  /**
   * The next frame: in live mode the newest complete frame (older ones are
   * dropped), with `everyFrame` the next one in order. Null when the stream
   * ended normally. Rejects with a {@link CaptureError} when ffmpeg fails.
   */
  next(): Promise<Frame | null>;
  /** Frames read from ffmpeg but never delivered (live mode only). */
  readonly dropped: number;
  /** True once the stream ended normally (`next()` gave or will give null). */
  readonly ended: boolean;
  /** Frames read from ffmpeg so far (delivered + dropped + waiting). */
  readonly read: number;
  /** Bytes per frame: `width * height * channels`. */
  readonly frameBytes: number;
  /** Process id of ffmpeg. */
  readonly pid: number;
  /** The ffmpeg command line, for logs. */
  readonly args: readonly string[];
  /** Stops ffmpeg and waits for it to exit; safe to call twice. */
  close(): Promise<void>;
}

/** Keeps the last lines of a text stream. */
class LineTail {
  lines: string[] = [];
  #partial = "";
  push(text: string): void {
    const parts = (this.#partial + text).split(/\r?\n/);
    this.#partial = parts.pop() ?? "";
    for (const line of parts) {
      if (line.trim() !== "") this.lines.push(line);
    }
    if (this.lines.length > STDERR_LINES) {
      this.lines.splice(0, this.lines.length - STDERR_LINES);
    }
  }
  text(): string {
    const all = this.#partial.trim() !== ""
      ? [...this.lines, this.#partial]
      : this.lines;
    return all.join("\n");
  }
}

/** Reads a child's stderr into a tail of lines until it closes. */
async function collectStderr(
  stream: ReadableStream<Uint8Array>,
  tail: LineTail,
): Promise<void> {
  const decoder = new TextDecoder();
  try {
    for await (const chunk of stream) {
      tail.push(decoder.decode(chunk, { stream: true }));
    }
  } catch {
    // Stream cancelled on close.
  }
}

/** The error for a program that is not there. */
function notFoundError(program: string): CaptureError {
  const name = program.replace(/^.*[\\/]/, "");
  const flag = name.startsWith("ffplay") ? "ffplay" : "ffmpeg";
  return new CaptureError(
    `${name} was not found (tried to run "${program}"). Install ffmpeg ` +
      `with your package manager (apt install ffmpeg, brew install ffmpeg, ` +
      `winget install ffmpeg) or pass --${flag} PATH.`,
  );
}

/** Spawns a program, turning "not found" into a CaptureError. */
function spawn(
  program: string,
  args: string[],
  io: { stdin: "piped" | "null"; stdout: "piped" | "null" },
): Deno.ChildProcess {
  try {
    return new Deno.Command(program, {
      args,
      stdin: io.stdin,
      stdout: io.stdout,
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw notFoundError(program);
    throw err;
  }
}

/** Explains a failed capture from ffmpeg's exit and its last stderr lines. */
function captureFailure(
  label: string,
  kind: InputKind,
  code: number,
  stderr: string,
  framesRead: number,
): CaptureError {
  const details = stderr === "" ? "(ffmpeg printed nothing)" : stderr;
  if (/Device or resource busy/i.test(stderr)) {
    return new CaptureError(
      `The ${label} is busy: another program is using it. Close that ` +
        `program or choose another camera with --input.\nffmpeg said:\n${details}`,
    );
  }
  if (/Permission denied/i.test(stderr)) {
    return new CaptureError(
      `Permission denied opening ${label}. On Linux add yourself to the ` +
        `"video" group; on macOS allow camera access for the terminal.\n` +
        `ffmpeg said:\n${details}`,
    );
  }
  if (framesRead === 0 && kind === "file") {
    return new CaptureError(
      `Could not read ${label} as a video (ffmpeg exit code ${code}). Is it ` +
        `a video file?\nffmpeg said:\n${details}`,
    );
  }
  if (framesRead === 0) {
    return new CaptureError(
      `Could not open ${label} (ffmpeg exit code ${code}).\nffmpeg said:\n${details}`,
    );
  }
  return new CaptureError(
    `ffmpeg stopped with exit code ${code} after ${framesRead} frames of ` +
      `${label}.\nffmpeg said:\n${details}`,
  );
}

/**
 * Starts ffmpeg reading a camera, file or URL and delivering raw frames of
 * `width x height` (scaled to fit). In live mode (the default) the reader
 * keeps reading and {@link Capture.next} gives the newest complete frame, so
 * latency never builds up; with `everyFrame` each frame of a file is
 * delivered in order, as fast as the consumer takes them.
 *
 * Throws a {@link CaptureError} at once for a missing camera, file or
 * ffmpeg; later faults reject `next()`.
 */
export function openCapture(options: CaptureOptions): Capture {
  const { width, height } = options;
  if (
    !(Number.isInteger(width) && width > 0 && Number.isInteger(height) &&
      height > 0)
  ) {
    throw new CaptureError(
      `Capture size must be positive whole numbers, got ${width}x${height}.`,
    );
  }
  const pixelFormat = options.pixelFormat ?? "rgb24";
  const everyFrame = options.everyFrame ?? false;
  const frameBytes = width * height * bytesPerPixel(pixelFormat);
  let input = options.input;
  if (input === undefined) {
    const cam = defaultCameraInput({ ffmpeg: options.ffmpeg });
    input = cam.format === "v4l2" ? cam.input : `${cam.format}:${cam.input}`;
  }
  const resolved = resolveInput(input, {
    everyFrame,
    loop: options.loop,
    fps: options.fps,
  });
  const filters = [`scale=${width}:${height}`];
  if (options.fps !== undefined) filters.push(`fps=${options.fps}`);
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-nostdin",
    ...resolved.args,
    "-an",
    "-sn",
    "-vf",
    filters.join(","),
    "-f",
    "rawvideo",
    "-pix_fmt",
    pixelFormat,
    "pipe:1",
  ];
  const program = options.ffmpeg ?? "ffmpeg";
  if (!programExists(program)) throw notFoundError(program);
  return startCaptureWorker({
    program,
    args,
    frameBytes,
    everyFrame,
    label: resolved.label,
    kind: resolved.kind,
  });
}

/** Name under which the capture reader worker runs this module. */
const WORKER_NAME = "facezmq-ffmpeg-capture";

/** Messages from the main thread to the capture worker. */
type ToWorker =
  | {
    type: "start";
    program: string;
    args: string[];
    frameBytes: number;
    everyFrame: boolean;
  }
  | { type: "next" }
  | { type: "give"; buffer: ArrayBuffer }
  | { type: "close" };

/** A frame as it crosses from the worker (time since the epoch, ms). */
interface WireFrame {
  buffer: ArrayBuffer;
  index: number;
  time: number;
  dropped: number;
  read: number;
}

/** Messages from the capture worker to the main thread. */
type FromWorker =
  | { type: "spawned"; pid: number }
  | ({ type: "frame" } & WireFrame)
  | {
    type: "end";
    success: boolean;
    code: number;
    spawnError: string | null;
    stderr: string;
    read: number;
    dropped: number;
    last: WireFrame | null;
  };

/** The part of a worker's global scope this module uses. */
interface WorkerScope {
  name: string;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}

/** True on PATH (or as a path) so that a missing ffmpeg fails at once. */
function programExists(program: string): boolean {
  const candidates: string[] = [];
  if (/[\\/]/.test(program)) {
    candidates.push(program);
  } else {
    const sep = Deno.build.os === "windows" ? ";" : ":";
    const exts = Deno.build.os === "windows"
      ? ["", ...(Deno.env.get("PATHEXT") ?? ".EXE").split(";")]
      : [""];
    for (const dir of (Deno.env.get("PATH") ?? "").split(sep)) {
      if (dir === "") continue;
      for (const ext of exts) candidates.push(`${dir}/${program}${ext}`);
    }
  }
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return true;
    } catch {
      // Not there.
    }
  }
  return false;
}

/**
 * Main-thread side of a capture: ffmpeg is spawned and read by a worker so
 * that reading goes on while this thread is busy (a consumer doing heavy
 * synchronous work still gets the newest frame, not a backlog).
 */
function startCaptureWorker(
  setup: {
    program: string;
    args: string[];
    frameBytes: number;
    everyFrame: boolean;
    label: string;
    kind: InputKind;
  },
): Capture {
  const worker = new Worker(import.meta.url, {
    type: "module",
    name: WORKER_NAME,
  });
  let pid = 0;
  let dropped = 0;
  let read = 0;
  let held: ArrayBuffer | null = null;
  let last: WireFrame | null = null;
  let ended = false;
  let failure: CaptureError | null = null;
  let closing = false;
  let pending: ((message: FromWorker | null) => void) | null = null;
  let endResolve: () => void = () => {};
  const endPromise = new Promise<void>((resolve) => (endResolve = resolve));

  function reply(message: FromWorker | null): void {
    const p = pending;
    pending = null;
    p?.(message);
  }

  function onEnd(message: Extract<FromWorker, { type: "end" }>): void {
    worker.terminate();
    ended = true;
    dropped = message.dropped;
    read = message.read;
    last = message.last;
    if (closing) {
      // Stopped on purpose: no error.
    } else if (message.spawnError !== null) {
      failure = new CaptureError(message.spawnError);
    } else if (!message.success) {
      failure = captureFailure(
        setup.label,
        setup.kind,
        message.code,
        message.stderr,
        message.read,
      );
    } else if (message.read === 0) {
      failure = new CaptureError(
        `${setup.label} has no video frames.` +
          (message.stderr ? `\nffmpeg said:\n${message.stderr}` : ""),
      );
    }
    endResolve();
    reply(null);
  }

  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    const message = event.data;
    if (message.type === "spawned") pid = message.pid;
    else if (message.type === "end") onEnd(message);
    else reply(message);
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    onEnd({
      type: "end",
      success: false,
      code: -1,
      spawnError: `The capture reader failed: ${event.message}`,
      stderr: "",
      read,
      dropped,
      last: null,
    });
  };
  worker.postMessage(
    {
      type: "start",
      program: setup.program,
      args: setup.args,
      frameBytes: setup.frameBytes,
      everyFrame: setup.everyFrame,
    } satisfies ToWorker,
  );

  function toFrame(wire: WireFrame): Frame {
    held = wire.buffer;
    dropped = wire.dropped;
    read = wire.read;
    return {
      data: new Uint8Array(wire.buffer),
      index: wire.index,
      time: wire.time - performance.timeOrigin,
    };
  }

  async function next(): Promise<Frame | null> {
    if (held !== null && !ended) {
      worker.postMessage({ type: "give", buffer: held } satisfies ToWorker, [
        held,
      ]);
    }
    held = null;
    if (!ended && !closing) {
      const message = await new Promise<FromWorker | null>((resolve) => {
        pending = resolve;
        worker.postMessage({ type: "next" } satisfies ToWorker);
      });
      if (message !== null && message.type === "frame") return toFrame(message);
    }
    if (last !== null && !closing) {
      const frame = toFrame(last);
      last = null;
      return frame;
    }
    if (failure !== null) throw failure;
    return null;
  }

  async function close(): Promise<void> {
    if (!closing) {
      closing = true;
      if (!ended) worker.postMessage({ type: "close" } satisfies ToWorker);
    }
    await endPromise;
  }

  return {
    next,
    close,
    get dropped() {
      return dropped;
    },
    get ended() {
      return ended && failure === null;
    },
    get read() {
      return read;
    },
    get pid() {
      return pid;
    },
    frameBytes: setup.frameBytes,
    args: [setup.program, ...setup.args],
  };
}

/**
 * Worker side of a capture: spawns ffmpeg, reads its stdout without pause
 * (live mode keeps only the newest complete frame) or one frame per request
 * (everyFrame), and hands frames over by transferring their buffers.
 */
function runCaptureWorker(scope: WorkerScope): void {
  let child: Deno.ChildProcess | null = null;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let frameBytes = 0;
  let everyFrame = false;
  const free: ArrayBuffer[] = [];
  let ready: WireFrame | null = null;
  let wanted = false;
  let framesRead = 0;
  let dropped = 0;
  let ended = false;
  let closing = false;
  let taken: (() => void) | null = null;

  function send(frame: WireFrame): void {
    frame.dropped = dropped;
    frame.read = framesRead;
    scope.postMessage({ type: "frame", ...frame }, [frame.buffer]);
  }

  function release(): void {
    const t = taken;
    taken = null;
    t?.();
  }

  function complete(buffer: ArrayBuffer): Promise<void> | void {
    const frame: WireFrame = {
      buffer,
      index: framesRead,
      time: performance.timeOrigin + performance.now(),
      dropped: 0,
      read: 0,
    };
    framesRead++;
    if (wanted) {
      wanted = false;
      send(frame);
      return;
    }
    if (ready !== null) {
      dropped++; // live mode only: nobody took the previous frame
      free.push(ready.buffer);
    }
    ready = frame;
    if (everyFrame) return new Promise<void>((resolve) => (taken = resolve));
  }

  async function readAll(stdout: ReadableStream<Uint8Array>): Promise<void> {
    reader = stdout.getReader();
    let filling = new Uint8Array(free.pop() ?? new ArrayBuffer(frameBytes));
    let filled = 0;
    try {
      while (!closing) {
        const { value, done } = await reader.read();
        if (done) break;
        let offset = 0;
        while (offset < value.length) {
          const n = Math.min(frameBytes - filled, value.length - offset);
          filling.set(value.subarray(offset, offset + n), filled);
          filled += n;
          offset += n;
          if (filled === frameBytes) {
            const wait = complete(filling.buffer as ArrayBuffer);
            if (wait) await wait;
            if (closing) return;
            filling = new Uint8Array(free.pop() ?? new ArrayBuffer(frameBytes));
            filled = 0;
          }
        }
      }
    } catch {
      // Cancelled by close.
    }
  }

  async function start(
    message: Extract<ToWorker, { type: "start" }>,
  ): Promise<void> {
    frameBytes = message.frameBytes;
    everyFrame = message.everyFrame;
    let spawnError: string | null = null;
    try {
      child = spawn(message.program, message.args, {
        stdin: "null",
        stdout: "piped",
      });
    } catch (err) {
      spawnError = err instanceof Error ? err.message : String(err);
    }
    if (child === null) {
      ended = true;
      scope.postMessage({
        type: "end",
        success: false,
        code: -1,
        spawnError,
        stderr: "",
        read: 0,
        dropped: 0,
        last: null,
      });
      return;
    }
    scope.postMessage({ type: "spawned", pid: child.pid });
    const tail = new LineTail();
    const stderrDone = collectStderr(child.stderr, tail);
    const readDone = readAll(child.stdout);
    const status = await child.status;
    await readDone;
    await stderrDone;
    ended = true;
    const last: WireFrame | null = ready;
    ready = null;
    if (last !== null) {
      last.dropped = dropped;
      last.read = framesRead;
    }
    scope.postMessage(
      {
        type: "end",
        success: status.success,
        code: status.code,
        spawnError: null,
        stderr: tail.text(),
        read: framesRead,
        dropped,
        last,
      },
      last ? [last.buffer] : [],
    );
  }

  scope.onmessage = (event: MessageEvent<ToWorker>) => {
    const message = event.data;
    if (message.type === "start") {
      start(message);
    } else if (message.type === "give") {
      free.push(message.buffer);
    } else if (message.type === "next") {
      if (ready !== null) {
        const frame = ready;
        ready = null;
        send(frame);
        release();
      } else if (!ended) {
        wanted = true;
      }
    } else if (message.type === "close") {
      closing = true;
      release();
      try {
        child?.kill("SIGKILL");
      } catch {
        // Already exited.
      }
      reader?.cancel().catch(() => {});
    }
  };
}

/** True when this module was loaded as the capture reader worker. */
function isCaptureWorker(): boolean {
  const scope = globalThis as unknown as Partial<WorkerScope>;
  return typeof scope.postMessage === "function" &&
    scope.name === WORKER_NAME && !("document" in globalThis);
}

if (isCaptureWorker()) {
  runCaptureWorker(globalThis as unknown as WorkerScope);
}

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
        `${program.replace(/^.*[\\/]/, "")} said:\n${said}`,
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
    pixelFormat,
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
  /** ffplay program; default `"ffplay"` (see {@link findFfplay}). */
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
    pixelFormat,
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
