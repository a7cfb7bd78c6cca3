/**
 * `deno task bench`: measures facezmq end to end on a clip (every frame, as
 * fast as it goes) and, when native OpenCV is at hand, the original Python
 * design on the same clip in the same run.
 *
 * The server runs as a subprocess (`server.ts`); the client loop runs in this
 * process so that each stage can be timed: capture, encode, transfer (round
 * trip minus the server's own time), the server's stages (from the reply),
 * client decode and drawing. Faces found are scored against the clip's truth.
 *
 * ```sh
 * deno task bench [--quick] [--json] [--levers] [--clients 1,2,4] [--workers N]
 * ```
 *
 * @module
 */

import {
  numberFlag,
  parseFlags,
  runMain,
  stringFlag,
  UsageError,
} from "./lib/cli/flags.ts";
import {
  type Accuracy,
  fixed,
  formatTable,
  parseTruth,
  peakMemoryMiB,
  scoreFaces,
  type SeenFace,
  type SeenFrame,
  summarize,
  type Summary,
  type TruthFrame,
} from "./lib/measure/bench_report.ts";
import { SERVER_DETECT_OPTIONS } from "./lib/face/detector.ts";
import { StageStats } from "./lib/measure/stats.ts";
import { drawFaces } from "./lib/images/draw.ts";
import { findFfmpeg, openCapture } from "./lib/video/ffmpeg.ts";
import { FrameClient } from "./lib/client/frame_client.ts";
import { type Image, toGrey } from "./lib/images/image.ts";
import { encodeJpeg } from "./lib/images/image_io.ts";
import { loadOpenCV } from "./lib/face/opencv.ts";
import {
  decodeReply,
  encodeRequest,
  type PixelFormat,
} from "./lib/protocol/protocol.ts";

const HELP =
  `facezmq bench: speed and accuracy on a clip, next to the original design.

Usage: deno task bench [options]

  --input FILE           640x480 clip (default samples/sample.mp4)
  --truth FILE           its faces (default: the clip's name with _truth.json;
                         without one, accuracy is not scored)
  --train DIR            people the server learns (default train)
  --frames N             frames per run (default: the whole clip)
  --clients LIST         concurrent clients, e.g. 1,2,4 (default 1,2,4)
  --workers N            server recognition threads (default: cores)
  --send grey|rgb|jpeg   pixels sent (default grey)
  --draw client|server   who draws the boxes (default client)
  --detect-width N       server detection width (default ${SERVER_DETECT_OPTIONS.maxWidth}; 0 = full size)
  --levers               also run one lever at a time: detect width 0/320/240,
                         send grey/rgb/jpeg, draw client/server, 1 and 2 workers
  --repeat N             run each setting N times, keep the fastest (default 1)
  --quick                a few seconds: 30 frames, 1 client, no comparisons
  --no-original          skip the original Python design
  --python PATH          Python with cv2 (cv2.face) and zmq (default /usr/bin/python3)
  --json                 print one JSON object instead of tables
  -h, --help             this text
`;

const WIDTH = 640;
const HEIGHT = 480;
/** Frames sent before timing starts: JIT and caches warm up. */
const WARMUP_FRAMES = 30;

/** One setting of the system under test. */
interface Setting {
  /** Short name in the tables. */
  name: string;
  workers: number;
  /** Server detection width; 0 = full size. */
  detectWidth: number;
  send: "grey" | "rgb" | "jpeg";
  draw: "client" | "server";
  clients: number;
}

/** Everything measured for one setting. */
interface RunResult {
  setting: Setting;
  frames: number;
  seconds: number;
  /** Frames per second, all clients together. */
  fps: number;
  /** Encode start to a drawn frame, ms (all clients). */
  latency: Summary;
  /** Mean ms per frame of each stage (all clients). */
  stages: Record<string, number>;
  /** Peak resident memory of the server process, MiB. */
  serverPeakMiB: number | null;
  /** Faces of the first client scored against the truth. */
  accuracy: Accuracy;
  /** Mean bytes per request and per reply. */
  requestKiB: number;
  replyKiB: number;
}

/** What the original design measured. */
interface OriginalResult {
  /** `original`, or `native, detect ...` with facezmq's detection settings. */
  name: string;
  /** Extra flags given to original_server.py. */
  serverArgs: string[];
  frames: number;
  fps: number;
  latencyP50: number;
  latencyP95: number;
  serverMs: number;
  captureMs: number;
  serverPeakMiB: number | null;
  clientPeakMiB: number;
  accuracy: Accuracy;
}

/** A server subprocess. */
interface ServerProcess {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

/** Reads a child's output into `sink` until it ends. */
async function drain(
  stream: ReadableStream<Uint8Array>,
  sink: string[],
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    sink.push(decoder.decode(chunk, { stream: true }));
  }
}

/**
 * Starts a program and waits for `ready` in its output to give the endpoint.
 * Throws with the program's output when it exits or stays silent.
 */
async function startProcess(
  program: string,
  args: string[],
  ready: RegExp,
  what: string,
): Promise<ServerProcess> {
  const child = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const chunks: string[] = [];
  const drained = Promise.all([
    drain(child.stdout, chunks),
    drain(child.stderr, chunks),
  ]);
  let exited = false;
  child.status.then(() => exited = true);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 3000);
    await child.status;
    clearTimeout(timer);
    await drained;
  };
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !exited) {
    const match = ready.exec(chunks.join(""));
    if (match) return { endpoint: match[1], pid: child.pid, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(
    `${what} did not start (${program} ${args.join(" ")}):\n${
      chunks.join("").trim().split("\n").slice(-10).join("\n")
    }`,
  );
}

/** Starts `server.ts` for a setting on a free loopback port. */
function startServer(
  setting: Setting,
  train: string,
): Promise<ServerProcess> {
  const root = new URL(".", import.meta.url).pathname;
  return startProcess(
    Deno.execPath(),
    [
      "run",
      "-A",
      `${root}server.ts`,
      "--bind",
      "tcp://127.0.0.1:*",
      "--train",
      train,
      "--workers",
      String(setting.workers),
      "--detect-width",
      String(setting.detectWidth),
      "--stats",
      "0",
    ],
    /ready: serving on (\S+)/,
    "the server",
  );
}

/** The request pixels in the chosen format. */
function pixelsFor(
  picture: Image,
  send: Setting["send"],
): { format: PixelFormat; pixels: Uint8Array } {
  if (send === "jpeg") {
    return { format: "jpeg", pixels: encodeJpeg(picture, { quality: 85 }) };
  }
  if (send === "rgb") return { format: "rgb24", pixels: picture.data };
  return { format: "grey8", pixels: toGrey(picture).data };
}

/** What one client loop measured. */
interface ClientRun {
  frames: number;
  seen: SeenFrame[];
  latencies: number[];
  /** Bytes of all requests and of all replies sent. */
  requestBytes: number;
  replyBytes: number;
  stages: StageStats;
  started: number;
  ended: number;
}

/**
 * One client: every frame of the clip (up to `frames`) through the server,
 * as fast as replies come, with each stage timed. The picture is kept in RGB
 * as a camera client that shows it would.
 */
async function runClient(
  endpoint: string,
  options: {
    setting: Setting;
    input: string;
    frames: number;
    ffmpeg: string;
  },
): Promise<ClientRun> {
  const { setting } = options;
  const capture = openCapture({
    input: options.input,
    width: WIDTH,
    height: HEIGHT,
    pixelFormat: "rgb24",
    everyFrame: true,
    ffmpeg: options.ffmpeg,
  });
  const client = new FrameClient(endpoint, {
    timeout: 30_000,
    retries: 1,
    log: (line) => console.error(line),
  });
  const run: ClientRun = {
    frames: 0,
    seen: [],
    latencies: [],
    requestBytes: 0,
    replyBytes: 0,
    stages: new StageStats(),
    started: performance.now(),
    ended: 0,
  };
  try {
    // ffmpeg's start-up is not a per-frame cost: the clock starts once the
    // first frame is in.
    let pending = await capture.next();
    run.started = performance.now();
    while (run.frames < options.frames) {
      const t0 = performance.now();
      const frame = pending ?? await capture.next();
      pending = null;
      if (frame === null) break;
      const picture: Image = {
        width: WIDTH,
        height: HEIGHT,
        channels: 3,
        data: frame.data.slice(),
      };
      const t1 = performance.now();
      const parts = encodeRequest({
        kind: "frame",
        ...pixelsFor(picture, setting.send),
        width: WIDTH,
        height: HEIGHT,
        frameId: run.frames,
        timestamp: t1,
        reply: setting.draw === "server" ? "faces+frame" : "faces",
        frameFormat: setting.draw === "server" ? "rgb24" : undefined,
      });
      const t2 = performance.now();
      const replyParts = await client.exchange(() => parts);
      const t3 = performance.now();
      const reply = decodeReply(replyParts);
      const t4 = performance.now();
      if (reply.kind === "error") {
        throw new Error(
          `the server refused frame ${frame.index}: ${reply.code}: ${reply.message}`,
        );
      }
      if (reply.frameId !== run.frames) {
        throw new Error(
          `the reply to frame ${run.frames} carries frame id ${reply.frameId}`,
        );
      }
      let canvas: Image;
      if (setting.draw === "server" && reply.frame?.format === "rgb24") {
        canvas = {
          width: WIDTH,
          height: HEIGHT,
          channels: 3,
          data: reply.frame.pixels,
        };
      } else {
        canvas = picture;
        drawFaces(canvas, reply.faces);
      }
      const t5 = performance.now();
      if (canvas.data.length !== WIDTH * HEIGHT * 3) {
        throw new Error(
          `the server sent a frame of ${canvas.data.length} bytes`,
        );
      }
      const server = reply.timings;
      run.stages.add({
        capture: t1 - t0,
        encode: t2 - t1,
        transfer: Math.max(0, t3 - t2 - server.total),
        "server decode": server.decode,
        detect: server.detect,
        recognise: server.recognise,
        "server draw": server.draw,
        "server encode": server.encode,
        "server total": server.total,
        "client decode": t4 - t3,
        "client draw": setting.draw === "client" ? t5 - t4 : 0,
      });
      run.latencies.push(t5 - t1);
      run.requestBytes += parts.reduce((sum, part) => sum + part.length, 0);
      run.replyBytes += replyParts.reduce((sum, part) => sum + part.length, 0);
      run.seen.push({
        frame: frame.index,
        faces: reply.faces.map((f): SeenFace => ({
          x: f.x,
          y: f.y,
          w: f.w,
          h: f.h,
          label: f.label,
        })),
      });
      run.frames++;
    }
  } finally {
    run.ended = performance.now();
    await capture.close();
    await client.close();
  }
  return run;
}

/** Runs a setting against a running server: warm-up, then its clients at once. */
async function measure(
  server: ServerProcess,
  setting: Setting,
  options: {
    input: string;
    frames: number;
    ffmpeg: string;
    truth: TruthFrame[];
  },
): Promise<RunResult> {
  await runClient(server.endpoint, {
    ...options,
    setting,
    frames: Math.min(WARMUP_FRAMES, options.frames),
  });
  const runs = await Promise.all(
    Array.from(
      { length: setting.clients },
      () => runClient(server.endpoint, { ...options, setting }),
    ),
  );
  const frames = runs.reduce((sum, run) => sum + run.frames, 0);
  const seconds = (Math.max(...runs.map((r) => r.ended)) -
    Math.min(...runs.map((r) => r.started))) / 1000;
  const stages = new StageStats();
  for (const run of runs) {
    stages.addTotals(run.stages.frames, run.stages.totals());
  }
  return {
    setting,
    frames,
    seconds,
    fps: frames / seconds,
    latency: summarize(runs.flatMap((run) => run.latencies)),
    requestKiB: runs.reduce((sum, run) => sum + run.requestBytes, 0) /
      frames / 1024,
    replyKiB: runs.reduce((sum, run) => sum + run.replyBytes, 0) / frames /
      1024,
    stages: stages.means(),
    serverPeakMiB: peakMemoryMiB(server.pid),
    accuracy: scoreFaces(runs[0].seen, options.truth),
  };
}

/**
 * Runs each setting once, in order, reusing a server while its flags stay
 * the same.
 */
async function measurePass(
  settings: Setting[],
  options: {
    input: string;
    frames: number;
    ffmpeg: string;
    truth: TruthFrame[];
    train: string;
    log: (line: string) => void;
  },
): Promise<RunResult[]> {
  const results: RunResult[] = [];
  let server: ServerProcess | undefined;
  let serverKey = "";
  try {
    for (const setting of settings) {
      const key = `${setting.workers}/${setting.detectWidth}`;
      if (server === undefined || key !== serverKey) {
        await server?.stop();
        server = undefined;
        server = await startServer(setting, options.train);
        serverKey = key;
      }
      const result = await measure(server, setting, options);
      options.log(
        `${setting.name}: ${fixed(result.fps)} fps, p95 ${
          fixed(result.latency.p95)
        } ms, server ${fixed(result.stages["server total"])} ms/frame`,
      );
      results.push(result);
    }
  } finally {
    await server?.stop();
  }
  return results;
}

/** Keeps, index by index, the faster of two lists of results. */
function faster<T extends { fps: number }>(best: T[], next: T[]): T[] {
  return next.map((result, i) =>
    best[i] === undefined || result.fps > best[i].fps ? result : best[i]
  );
}

/** Why the original design cannot run, or null when it can. */
async function originalMissing(python: string): Promise<string | null> {
  try {
    const out = await new Deno.Command(python, {
      args: [
        "-c",
        "import cv2, zmq; cv2.face.LBPHFaceRecognizer_create()",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success) return null;
    const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
    return `${python} lacks cv2 (with cv2.face) or zmq: ${lines.at(-1)}`;
  } catch {
    return `${python} was not found`;
  }
}

/** Runs original_server.py + original_client.py on the clip. */
async function runOriginal(
  python: string,
  options: {
    name: string;
    serverArgs: string[];
    input: string;
    frames: number;
    train: string;
    truth: TruthFrame[];
  },
): Promise<OriginalResult> {
  const root = new URL(".", import.meta.url).pathname;
  const server = await startProcess(
    python,
    [
      `${root}bench/original_server.py`,
      "--bind",
      "tcp://127.0.0.1:*",
      "--train",
      options.train,
      ...options.serverArgs,
    ],
    /^ready (\S+)/m,
    "the original server",
  );
  let peak: number | null = null;
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(python, {
      args: [
        `${root}bench/original_client.py`,
        "--connect",
        server.endpoint,
        "--input",
        options.input,
        "--frames",
        String(Number.isFinite(options.frames) ? options.frames : 0),
        "--server-stats",
        "--faces",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    peak = peakMemoryMiB(server.pid);
  } finally {
    await server.stop();
  }
  const decoder = new TextDecoder();
  const lines = decoder.decode(out.stdout).trim().split("\n");
  if (!out.success) {
    throw new Error(
      `the original client failed: ${decoder.decode(out.stderr).trim()}`,
    );
  }
  const data = JSON.parse(lines.at(-1)!);
  const seen: SeenFrame[] = (data.faces as [
    number,
    number,
    number,
    number,
    string,
  ][][]).map((faces, frame) => ({
    frame,
    faces: faces.map(([x, y, w, h, label]) => ({ x, y, w, h, label })),
  }));
  return {
    name: options.name,
    serverArgs: options.serverArgs,
    frames: data.frames,
    fps: data.fps,
    latencyP50: data.latency_p50_ms,
    latencyP95: data.latency_p95_ms,
    serverMs: data.server.server_ms,
    captureMs: data.capture_ms,
    serverPeakMiB: peak,
    clientPeakMiB: data.peak_rss_mb,
    accuracy: scoreFaces(seen, options.truth),
  };
}

/** `a/b` of the detection width for tables. */
function widthLabel(width: number): string {
  return width === 0 ? "full" : String(width);
}

function percent(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : "-";
}

/** The readable report. */
function report(
  data: {
    header: string;
    runs: RunResult[];
    original: OriginalResult[] | { skipped: string } | null;
    clientPeakMiB: number | null;
  },
): string {
  const out: string[] = [data.header, ""];
  out.push(formatTable(
    data.runs.map((r) => [
      r.setting.name,
      String(r.setting.workers),
      widthLabel(r.setting.detectWidth),
      r.setting.send,
      r.setting.draw,
      String(r.setting.clients),
      String(r.frames),
      fixed(r.fps),
      fixed(r.latency.p50),
      fixed(r.latency.p95),
      fixed(r.stages["server total"]),
      percent(r.accuracy.recall),
      percent(r.accuracy.namedRight),
      String(r.accuracy.falseFaces),
      fixed(r.requestKiB, 0),
      fixed(r.replyKiB, 0),
      fixed(r.serverPeakMiB, 0),
    ]),
    {
      header: [
        "run",
        "workers",
        "detect",
        "send",
        "draw",
        "clients",
        "frames",
        "fps",
        "p50 ms",
        "p95 ms",
        "server ms",
        "recall",
        "named right",
        "false",
        "KiB/req",
        "KiB/reply",
        "server MiB",
      ],
      right: [1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
    },
  ));
  const main = data.runs[0];
  out.push("", `ms per frame, run "${main.setting.name}":`, "");
  out.push(formatTable(
    Object.entries(main.stages).map(([stage, ms]) => [stage, fixed(ms, 2)]),
    { header: ["stage", "ms/frame"] },
  ));
  out.push(
    "",
    `faces of run "${main.setting.name}" by person (found/in clip, named right, labels given):`,
  );
  for (const [name, score] of Object.entries(main.accuracy.byName)) {
    const labels = Object.entries(score.labels)
      .map(([label, count]) => `${label} ${count}`)
      .join(", ");
    out.push(
      `  ${name}: ${score.found}/${score.faces} found, ${score.named} named right` +
        (labels ? ` (${labels})` : ""),
    );
  }
  out.push(
    "",
    `peak memory: server ${fixed(main.serverPeakMiB, 0)} MiB, bench client ${
      fixed(data.clientPeakMiB, 0)
    } MiB (this process, all runs)`,
  );
  const original = data.original;
  if (original && "skipped" in original) {
    out.push("", `original design: skipped (${original.skipped})`);
  } else if (original) {
    out.push(
      "",
      "against the original design (Python, native OpenCV, raw BGR both ways):",
      "",
    );
    const row = (
      name: string,
      r: {
        fps: number;
        p50: number;
        p95: number;
        serverMs: number;
        accuracy: Accuracy;
        peak: number | null;
        clientPeak: number | null;
      },
    ) => [
      name,
      fixed(r.fps),
      fixed(r.p50),
      fixed(r.p95),
      fixed(r.serverMs),
      percent(r.accuracy.recall),
      percent(r.accuracy.namedRight),
      fixed(r.peak, 0),
      fixed(r.clientPeak, 0),
    ];
    out.push(formatTable(
      [
        row("facezmq (main)", {
          fps: main.fps,
          p50: main.latency.p50,
          p95: main.latency.p95,
          serverMs: main.stages["server total"],
          accuracy: main.accuracy,
          peak: main.serverPeakMiB,
          clientPeak: data.clientPeakMiB,
        }),
        ...original.map((o) =>
          row(o.name, {
            fps: o.fps,
            p50: o.latencyP50,
            p95: o.latencyP95,
            serverMs: o.serverMs,
            accuracy: o.accuracy,
            peak: o.serverPeakMiB,
            clientPeak: o.clientPeakMiB,
          })
        ),
      ],
      {
        header: [
          "design",
          "fps",
          "p50 ms",
          "p95 ms",
          "server ms",
          "recall",
          "named right",
          "server MiB",
          "client MiB",
        ],
      },
    ));
    const design = original[0];
    out.push(
      "",
      `facezmq / original: ${fixed(main.fps / design.fps, 2)}x fps, ` +
        `server ms ${
          fixed(main.stages["server total"] / design.serverMs, 2)
        }x (below 1 is faster); facezmq's client MiB is this whole bench process`,
    );
  }
  return out.join("\n");
}

/** Parses `1,2,4`. */
function parseClients(text: string): number[] {
  const list = text.split(",").map((part) => Number(part.trim()));
  if (
    list.length === 0 ||
    list.some((n) => !Number.isInteger(n) || n < 1 || n > 64)
  ) {
    throw new UsageError(
      `--clients needs whole numbers from 1 to 64 separated by commas, e.g. 1,2,4, not "${text}"`,
    );
  }
  return list;
}

/** The settings to run, the requested one first. */
function plan(
  base: Omit<Setting, "name" | "clients">,
  options: { quick: boolean; clients: number[]; levers: boolean },
): Setting[] {
  const settings: Setting[] = [{ ...base, name: "main", clients: 1 }];
  const seen = new Set([JSON.stringify({ ...base, clients: 1 })]);
  const add = (name: string, change: Partial<Setting>) => {
    const setting = { ...base, clients: 1, ...change };
    const key = JSON.stringify({ ...setting, name: undefined });
    if (seen.has(key)) return;
    seen.add(key);
    settings.push({ ...setting, name });
  };
  if (options.quick) return settings;
  // Detection at full size against the downscaled default: speed and accuracy.
  add("detect full", { detectWidth: 0 });
  add(`detect ${SERVER_DETECT_OPTIONS.maxWidth}`, {
    detectWidth: SERVER_DETECT_OPTIONS.maxWidth,
  });
  if (options.levers) {
    add("detect 240", { detectWidth: 240 });
    add("send grey", { send: "grey" });
    add("send rgb", { send: "rgb" });
    add("send jpeg", { send: "jpeg" });
    add("draw client", { draw: "client" });
    add("draw server", { draw: "server" });
    add("1 worker", { workers: 1 });
    add("2 workers", { workers: 2 });
  }
  for (const clients of options.clients) {
    add(`${clients} client${clients > 1 ? "s" : ""}`, { clients });
  }
  return settings;
}

async function main(): Promise<number> {
  const { values } = parseFlags(Deno.args, {
    flags: {
      input: { type: "string", default: "samples/sample.mp4" },
      truth: { type: "string" },
      train: { type: "string", default: "train" },
      frames: { type: "string" },
      clients: { type: "string" },
      workers: { type: "string" },
      send: { type: "string", default: "grey" },
      draw: { type: "string", default: "client" },
      "detect-width": { type: "string" },
      levers: { type: "boolean" },
      repeat: { type: "string", default: "1" },
      quick: { type: "boolean" },
      "no-original": { type: "boolean" },
      python: { type: "string", default: "/usr/bin/python3" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const quick = values.quick === true;
  const input = stringFlag(values, "input")!;
  const truthPath = stringFlag(values, "truth") ??
    input.replace(/\.[^./]+$/, "") + "_truth.json";
  const train = stringFlag(values, "train")!;
  const send = stringFlag(values, "send")!;
  if (send !== "grey" && send !== "rgb" && send !== "jpeg") {
    throw new UsageError(`--send must be grey, rgb or jpeg, not "${send}"`);
  }
  const draw = stringFlag(values, "draw")!;
  if (draw !== "client" && draw !== "server") {
    throw new UsageError(`--draw must be client or server, not "${draw}"`);
  }
  const frames = numberFlag(values, "frames", { min: 1, integer: true }) ??
    (quick ? 30 : Infinity);
  const clientList = parseClients(stringFlag(values, "clients") ?? "1,2,4");
  const clients = quick ? [1] : clientList;
  const cores = Math.max(1, navigator.hardwareConcurrency || 1);
  const workers = numberFlag(values, "workers", {
    min: 1,
    max: 64,
    integer: true,
  }) ?? cores;
  const detectWidth = numberFlag(values, "detect-width", {
    min: 0,
    max: 4096,
    integer: true,
  }) ?? SERVER_DETECT_OPTIONS.maxWidth;
  const repeat = numberFlag(values, "repeat", {
    min: 1,
    max: 20,
    integer: true,
  })!;
  const json = values.json === true;
  const log = (line: string) => console.error(line);

  for (const [path, what] of [[input, "--input"], [train, "--train"]]) {
    try {
      Deno.statSync(path);
    } catch {
      throw new UsageError(`${what} ${path} does not exist`);
    }
  }
  // Without a truth file (a clip of your own) speed is still measured.
  let truth: TruthFrame[] = [];
  const givenTruth = stringFlag(values, "truth") !== undefined;
  let truthText: string | undefined;
  try {
    truthText = await Deno.readTextFile(truthPath);
  } catch (error) {
    if (givenTruth || !(error instanceof Deno.errors.NotFound)) {
      throw new UsageError(
        `cannot read the clip's truth ${truthPath}: ${
          (error as Error).message
        }`,
      );
    }
    log(`no ${truthPath}: accuracy is not scored (give a truth with --truth)`);
  }
  if (truthText !== undefined) truth = parseTruth(truthText, truthPath);
  const ffmpeg = await findFfmpeg();
  await loadOpenCV();

  const load = (() => {
    try {
      return Deno.loadavg();
    } catch {
      return [NaN, NaN, NaN];
    }
  })();
  const settings = plan({ workers, detectWidth, send, draw }, {
    quick,
    clients,
    levers: values.levers === true,
  });
  log(
    `bench: ${settings.length} run${
      settings.length > 1 ? "s" : ""
    } on ${input}` +
      `${
        Number.isFinite(frames) ? ` (${frames} frames)` : ""
      }, ${cores} cores, ` +
      `load ${load.map((l) => l.toFixed(2)).join(" ")}`,
  );
  let original: OriginalResult[] | { skipped: string } | null = null;
  const python = stringFlag(values, "python")!;
  let variants: { name: string; serverArgs: string[] }[] = [];
  if (quick || values["no-original"]) {
    original = { skipped: quick ? "--quick" : "--no-original" };
  } else {
    const missing = await originalMissing(python);
    if (missing) {
      original = { skipped: missing };
    } else {
      variants = [
        { name: "original", serverArgs: [] },
        {
          // Native OpenCV doing the same detection work as facezmq's server.
          name: `native, detect ${
            widthLabel(detectWidth)
          }, min ${SERVER_DETECT_OPTIONS.minSize}`,
          serverArgs: [
            "--detect-width",
            String(detectWidth),
            "--min-size",
            String(SERVER_DETECT_OPTIONS.minSize),
          ],
        },
      ];
    }
  }
  // Whole passes, repeated: load from other work spreads over all settings
  // instead of favouring whichever ran in a quiet moment.
  let runs: RunResult[] = [];
  let originals: OriginalResult[] = [];
  for (let pass = 1; pass <= repeat; pass++) {
    if (repeat > 1) log(`pass ${pass} of ${repeat}`);
    runs = faster(
      runs,
      await measurePass(settings, { input, frames, ffmpeg, truth, train, log }),
    );
    const done: OriginalResult[] = [];
    for (const variant of variants) {
      const result = await runOriginal(python, {
        ...variant,
        input,
        frames,
        train,
        truth,
      });
      log(
        `${variant.name}: ${fixed(result.fps)} fps, server ${
          fixed(result.serverMs)
        } ms/frame`,
      );
      done.push(result);
    }
    originals = faster(originals, done);
  }
  if (variants.length > 0) original = originals;

  const loadAfter = (() => {
    try {
      return Deno.loadavg();
    } catch {
      return [NaN, NaN, NaN];
    }
  })();
  const clientPeakMiB = peakMemoryMiB("self");
  const main = runs[0];

  if (json) {
    const ratio = Array.isArray(original)
      ? {
        fps: main.fps / original[0].fps,
        serverMs: main.stages["server total"] / original[0].serverMs,
      }
      : null;
    console.log(JSON.stringify({
      input,
      width: WIDTH,
      height: HEIGHT,
      cores,
      load: { before: load, after: loadAfter },
      deno: Deno.version.deno,
      clientPeakMiB,
      runs,
      original,
      ratio,
    }));
  } else {
    console.log(report({
      header: `facezmq bench: ${input} at ${WIDTH}x${HEIGHT}, every frame; ` +
        `${cores} cores, load ${load.map((l) => l.toFixed(2)).join(" ")} ` +
        `(after: ${
          loadAfter.map((l) => l.toFixed(2)).join(" ")
        }); deno ${Deno.version.deno}`,
      runs,
      original,
      clientPeakMiB,
    }));
  }
  return 0;
}

if (import.meta.main) runMain(main);
