/**
 * The runs of `deno task bench`: facezmq end to end on a clip (every frame,
 * as fast as it goes) in each setting, and, when native OpenCV is at hand,
 * the original Python design on the same clip.
 *
 * The server runs as a process (`server.ts`); the clients are sessions in
 * this process (lib/client/session.ts) whose per-frame timings give each
 * stage: capture, encode, transfer (round trip minus the server's own
 * time), the server's stages (from the reply), client decode and drawing.
 * Faces found are scored against the clip's truth.
 *
 * @module
 */

import { runSession } from "../client/session.ts";
import {
  PROJECT_ROOT,
  type ReadyProcess,
  spawnProject,
  spawnUntilReady,
} from "../cli/spawn.ts";
import { SERVER_DETECT_OPTIONS } from "../face/detector.ts";
import {
  type BenchResult,
  fixed,
  type OriginalResult,
  peakMemoryMiB,
  type RunResult,
  scoreFaces,
  type SeenFrame,
  type Setting,
  summarize,
  type TruthFrame,
  widthLabel,
} from "./bench_report.ts";
import { StageStats } from "./stats.ts";

/** Frame size of every run. */
const WIDTH = 640;
const HEIGHT = 480;
/** Frames sent before timing starts: JIT and caches warm up. */
const WARMUP_FRAMES = 30;

/** Options for {@linkcode runBench}. */
export interface BenchOptions {
  /** A 640x480 clip. */
  input: string;
  /** Its faces; empty: accuracy is not scored. */
  truth: TruthFrame[];
  /** People the server learns. */
  train: string;
  /** Frames per run (Infinity: the whole clip). */
  frames: number;
  /** The setting asked for (the "main" run). */
  base: Omit<Setting, "name" | "clients">;
  /** Concurrent clients to compare. */
  clients: number[];
  /** Only the main run. */
  quick: boolean;
  /** Also one lever at a time. */
  levers: boolean;
  /** Run each setting this many times, keep the fastest. */
  repeat: number;
  /** Python with cv2.face and zmq for the original design; null: skip it. */
  python: string | null;
  /** Why the original design is skipped when `python` is null. */
  skipOriginal?: string;
  /** Progress lines. */
  log: (line: string) => void;
}

/** Runs the bench; see the module documentation. */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const { log } = options;
  const cores = Math.max(1, navigator.hardwareConcurrency || 1);
  const before = loadAverage();
  const settings = plan(options);
  log(
    `bench: ${settings.length} run${
      settings.length > 1 ? "s" : ""
    } on ${options.input}` +
      `${
        Number.isFinite(options.frames) ? ` (${options.frames} frames)` : ""
      }, ` +
      `${cores} cores, load ${before.map((l) => l.toFixed(2)).join(" ")}`,
  );
  let original: OriginalResult[] | { skipped: string } | null = null;
  let variants: { name: string; serverArgs: string[] }[] = [];
  if (options.python === null) {
    original = { skipped: options.skipOriginal ?? "not asked for" };
  } else {
    const missing = await originalMissing(options.python);
    if (missing) original = { skipped: missing };
    else variants = originalVariants(options.base.detectWidth);
  }
  // Whole passes, repeated: load from other work spreads over all settings
  // instead of favouring whichever ran in a quiet moment.
  let runs: RunResult[] = [];
  let originals: OriginalResult[] = [];
  for (let pass = 1; pass <= options.repeat; pass++) {
    if (options.repeat > 1) log(`pass ${pass} of ${options.repeat}`);
    runs = faster(runs, await measurePass(settings, options));
    const done: OriginalResult[] = [];
    for (const variant of variants) {
      const result = await runOriginal(options.python!, {
        ...variant,
        ...options,
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
  const main = runs[0];
  return {
    input: options.input,
    width: WIDTH,
    height: HEIGHT,
    cores,
    load: { before, after: loadAverage() },
    deno: Deno.version.deno,
    clientPeakMiB: peakMemoryMiB("self"),
    runs,
    original,
    ratio: Array.isArray(original)
      ? {
        fps: main.fps / original[0].fps,
        serverMs: main.stages["server total"] / original[0].serverMs,
      }
      : null,
  };
}

function loadAverage(): number[] {
  try {
    return Deno.loadavg();
  } catch {
    return [NaN, NaN, NaN];
  }
}

/** The settings to run, the requested one first. */
function plan(options: BenchOptions): Setting[] {
  const base = options.base;
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

/**
 * Runs each setting once, in order, reusing a server while its flags stay
 * the same.
 */
async function measurePass(
  settings: Setting[],
  options: BenchOptions,
): Promise<RunResult[]> {
  const results: RunResult[] = [];
  let server: ReadyProcess | undefined;
  let serverKey = "";
  try {
    for (const setting of settings) {
      const key = `${setting.workers}/${setting.detectWidth}`;
      if (server === undefined || key !== serverKey) {
        await server?.stop();
        server = undefined;
        server = await spawnProject("server", [
          "--train",
          options.train,
          "--workers",
          String(setting.workers),
          "--detect-width",
          String(setting.detectWidth),
          "--stats",
          "0",
        ]);
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

/** Runs a setting against a running server: warm-up, then its clients at once. */
async function measure(
  server: ReadyProcess,
  setting: Setting,
  options: BenchOptions,
): Promise<RunResult> {
  const client = { endpoint: server.endpoint, setting, input: options.input };
  await runClient({
    ...client,
    frames: Math.min(WARMUP_FRAMES, options.frames),
  });
  const runs = await Promise.all(
    Array.from(
      { length: setting.clients },
      () => runClient({ ...client, frames: options.frames }),
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

/** What one client measured. */
interface ClientRun {
  frames: number;
  seen: SeenFrame[];
  latencies: number[];
  requestBytes: number;
  replyBytes: number;
  stages: StageStats;
  started: number;
  ended: number;
}

/**
 * One client session: every frame of the clip (up to `frames`) through the
 * server, as fast as replies come. It draws every frame, as a camera client
 * that shows the picture would.
 */
async function runClient(options: {
  endpoint: string;
  setting: Setting;
  input: string;
  frames: number;
}): Promise<ClientRun> {
  const { setting } = options;
  const run = {
    seen: [] as SeenFrame[],
    latencies: [] as number[],
    requestBytes: 0,
    replyBytes: 0,
    stages: new StageStats(),
  };
  const summary = await runSession({
    connect: options.endpoint,
    input: options.input,
    width: WIDTH,
    height: HEIGHT,
    everyFrame: true,
    frames: options.frames,
    send: setting.send,
    draw: setting.draw,
    timeout: 30_000,
    retries: 1,
    onPicture: () => {},
    onFrame: ({ timings: t, server, ...result }) => {
      run.stages.add({
        capture: t.capture,
        encode: t.encode,
        transfer: Math.max(0, t.exchange - server.total),
        "server decode": server.decode,
        detect: server.detect,
        recognise: server.recognise,
        "server draw": server.draw,
        "server encode": server.encode,
        "server total": server.total,
        "client decode": t.decode,
        "client draw": t.draw,
      });
      run.latencies.push(t.encode + t.exchange + t.decode + t.draw);
      run.requestBytes += result.requestBytes;
      run.replyBytes += result.replyBytes;
      run.seen.push({
        frame: result.frame,
        faces: result.faces.map(({ x, y, w, h, label }) => ({
          x,
          y,
          w,
          h,
          label,
        })),
      });
    },
    // Nothing to tell: a fault rejects with its reason.
    log: () => {},
  });
  return {
    ...run,
    frames: summary.frames,
    started: summary.started,
    ended: summary.ended,
  };
}

/** Keeps, index by index, the faster of two lists of results. */
function faster<T extends { fps: number }>(best: T[], next: T[]): T[] {
  return next.map((result, i) =>
    best[i] === undefined || result.fps > best[i].fps ? result : best[i]
  );
}

/** The original design as it is, and with facezmq's detection settings. */
function originalVariants(
  detectWidth: number,
): { name: string; serverArgs: string[] }[] {
  return [
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
  const server = await spawnUntilReady(python, [
    `${PROJECT_ROOT}bench/original_server.py`,
    "--bind",
    "tcp://127.0.0.1:*",
    "--train",
    options.train,
    ...options.serverArgs,
  ], { ready: /^ready (\S+)/m, what: "the original server" });
  let peak: number | null = null;
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(python, {
      args: [
        `${PROJECT_ROOT}bench/original_client.py`,
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
