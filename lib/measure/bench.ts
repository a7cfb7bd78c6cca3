/**
 * The runs of `deno task bench`: facezmq end to end on a clip (every frame,
 * as fast as it goes, or live at the clip's rate) in each setting, and,
 * when native OpenCV is at hand, the original Python design on the same
 * clip.
 *
 * The server runs as a process (`server.ts`, and `worker.ts` processes for
 * the remote-workers run); the clients are sessions in this process
 * (lib/client/session.ts) whose per-frame timings give each stage: capture,
 * encode, transfer (round trip minus the server's own time), the server's
 * stages (from the reply), client decode and drawing. Faces found are scored
 * against the clip's truth.
 *
 * @module
 */

import { runSession } from "../client/session.ts";
import { PROJECT_ROOT, spawnProject, spawnUntilReady } from "../cli/spawn.ts";
import { type DetectOptions, SERVER_DETECT_OPTIONS } from "../face/detector.ts";
import {
  type Accuracy,
  type BenchResult,
  fixed,
  missedFaces,
  type OriginalResult,
  peakMemoryMiB,
  resetPeakMemory,
  type RunResult,
  scoreFaces,
  type SeenFrame,
  type Setting,
  type SkippedRun,
  summarize,
  type TruthFrame,
} from "./bench_report.ts";
import { StageStats } from "./stats.ts";

/** Frame size of every run. */
const WIDTH = 640;
const HEIGHT = 480;
/** Frames sent before timing starts: JIT and caches warm up. */
const WARMUP_FRAMES = 30;
/** Worker processes of the remote-workers run. */
const REMOTE_WORKERS = 2;

/** What a setting of the bench's command line fixes for every run. */
export type BaseSetting = Pick<
  Setting,
  "workers" | "detectWidth" | "send" | "draw" | "inFlight"
>;

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
  base: BaseSetting;
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

/** A run and the faces its first client saw. */
interface Measured {
  result: RunResult;
  seen: SeenFrame[];
}

/** A setting of the plan; an optional one is skipped, not fatal, when it fails. */
type Planned = Setting & { optional?: boolean };

/**
 * The bench process's peak memory over all runs, kept across the resets
 * that give each run its own peak.
 */
class SelfPeak {
  #max = 0;
  /** Notes the peak so far and starts a new one. */
  reset(): void {
    this.#max = Math.max(this.#max, peakMemoryMiB("self") ?? 0);
    resetPeakMemory("self");
  }
  /** The highest peak seen, or null where peaks cannot be read. */
  get max(): number | null {
    const now = peakMemoryMiB("self");
    return now === null ? null : Math.max(this.#max, now);
  }
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
  let variants: Variant[] = [];
  const skipped: SkippedRun[] = [];
  const selfPeak = new SelfPeak();
  if (options.python === null) {
    original = { skipped: options.skipOriginal ?? "not asked for" };
  } else {
    const missing = await originalMissing(options.python);
    if (missing) original = { skipped: missing };
    else {
      variants = originalVariants(options.base.detectWidth);
      for (const variant of variants) {
        if (variant.skip) {
          skipped.push({ name: variant.name, reason: variant.skip });
        }
      }
      variants = variants.filter((variant) => !variant.skip);
    }
  }
  // Whole passes, repeated: load from other work spreads over all settings
  // instead of favouring whichever ran in a quiet moment.
  let runs: Measured[] = [];
  let failed: SkippedRun[] = [];
  let originals: (OriginalResult & { seen: SeenFrame[] })[] = [];
  for (let pass = 1; pass <= options.repeat; pass++) {
    if (options.repeat > 1) log(`pass ${pass} of ${options.repeat}`);
    const done = await measurePass(settings, { ...options, selfPeak });
    runs = faster(runs, done.runs, (m) => m.result.fps);
    failed = done.skipped;
    const native: (OriginalResult & { seen: SeenFrame[] })[] = [];
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
      native.push(result);
    }
    originals = faster(originals, native, (o) => o.fps);
  }
  const main = runs[0];
  let mainOnSameFrames: Accuracy | null = null;
  let missedOfOriginal: string[] | null = null;
  if (originals.length > 0) {
    // Every design scored on the frames all of them answered.
    const common = new Set(main.seen.map((f) => f.frame));
    for (const o of originals) {
      const theirs = new Set(o.seen.map((f) => f.frame));
      for (const frame of common) if (!theirs.has(frame)) common.delete(frame);
    }
    const truth = options.truth.filter((t) => common.has(t.frame));
    mainOnSameFrames = scoreFaces(main.seen, truth);
    const faithful = originals.find((o) => o.faithful);
    if (faithful) {
      missedOfOriginal = missedFaces(main.seen, {
        reference: faithful.seen,
        truth,
      });
    }
    original = originals.map(({ seen, ...o }) => ({
      ...o,
      accuracy: scoreFaces(seen, truth),
    }));
  }
  const yardstick = Array.isArray(original)
    ? original.find((o) => o.faithful)
    : undefined;
  return {
    input: options.input,
    width: WIDTH,
    height: HEIGHT,
    cores,
    load: { before, after: loadAverage() },
    deno: Deno.version.deno,
    clientPeakMiB: selfPeak.max,
    runs: runs.map((m) => m.result),
    skipped: [...failed, ...skipped],
    original,
    mainOnSameFrames,
    missedOfOriginal,
    ratio: yardstick
      ? {
        fps: main.result.fps / yardstick.fps,
        serverMs: main.result.stages["server total"] / yardstick.serverMs,
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
function plan(options: BenchOptions): Planned[] {
  const base: Omit<Setting, "name"> = {
    ...options.base,
    clients: 1,
    remoteWorkers: 0,
    recognizer: "lbph",
    // The client's defaults: it follows faces; a file goes every frame.
    tracks: true,
    live: false,
  };
  const settings: Planned[] = [{ ...base, name: "main" }];
  const keyOf = ({ name: _, optional: __, ...setting }: Partial<Planned>) =>
    JSON.stringify(setting);
  const seen = new Set([keyOf(base)]);
  const add = (name: string, change: Partial<Planned>) => {
    const setting = { ...base, ...change };
    if (seen.has(keyOf(setting))) return;
    seen.add(keyOf(setting));
    settings.push({ ...setting, name });
  };
  if (options.quick) return settings;
  // The client that waits for each answer, as the original does.
  add("in-flight 1", { inFlight: 1 });
  // Every frame detected whole and every face recognised (version 1).
  add("no tracks", { tracks: false });
  // A camera's pace: what a live client sees.
  add("live", { live: true });
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
  add(`${REMOTE_WORKERS} remote workers`, {
    workers: 0,
    remoteWorkers: REMOTE_WORKERS,
  });
  // Reported as skipped when lib/face/resnet.ts cannot load its networks.
  add("resnet", { recognizer: "resnet", optional: true });
  add("resnet live", { recognizer: "resnet", live: true, optional: true });
  return settings;
}

/** A server (and its remote workers) serving one kind of setting. */
interface Serving {
  endpoint: string;
  pids: number[];
  stop(): Promise<void>;
}

/**
 * Runs each setting once, in order, reusing a server while its flags stay
 * the same.
 */
async function measurePass(
  settings: Planned[],
  options: BenchOptions & { selfPeak: SelfPeak },
): Promise<{ runs: Measured[]; skipped: SkippedRun[] }> {
  const runs: Measured[] = [];
  const skipped: SkippedRun[] = [];
  let server: Serving | undefined;
  let serverKey = "";
  try {
    for (const setting of settings) {
      const key =
        `${setting.workers}/${setting.remoteWorkers}/${setting.detectWidth}/${setting.recognizer}`;
      let measured: Measured;
      try {
        if (server === undefined || key !== serverKey) {
          await server?.stop();
          server = undefined;
          server = await serve(setting, options.train);
          serverKey = key;
        }
        measured = await measure(server, setting, options);
      } catch (error) {
        if (!setting.optional) throw error;
        const reason = oneLine(error);
        options.log(`${setting.name}: skipped (${reason})`);
        skipped.push({ name: setting.name, reason });
        await server?.stop();
        server = undefined;
        continue;
      }
      const result = measured.result;
      options.log(
        `${setting.name}: ${fixed(result.fps)} fps, p95 ${
          fixed(result.latency.p95)
        } ms, server ${fixed(result.stages["server total"])} ms/frame`,
      );
      runs.push(measured);
    }
  } finally {
    await server?.stop();
  }
  return { runs, skipped };
}

/** Starts the server of `setting`, and its remote workers. */
async function serve(setting: Setting, train: string): Promise<Serving> {
  const model = [
    "--train",
    train,
    "--detect-width",
    String(setting.detectWidth),
    ...(setting.recognizer === "lbph"
      ? []
      : ["--recognizer", setting.recognizer]),
  ];
  const backend = setting.remoteWorkers > 0
    ? `tcp://127.0.0.1:${freePort()}`
    : undefined;
  const server = await spawnProject("server", [
    ...model,
    "--workers",
    String(setting.workers),
    ...(backend ? ["--backend", backend] : []),
    "--stats",
    "0",
  ]);
  const started = [server];
  const stop = async () => {
    await Promise.all(started.map((process) => process.stop()));
  };
  try {
    const workers = await Promise.allSettled(
      Array.from(
        { length: setting.remoteWorkers },
        () =>
          spawnProject("worker", [
            "--connect",
            backend!,
            ...model,
            "--stats",
            "0",
          ]),
      ),
    );
    for (const worker of workers) {
      if (worker.status === "fulfilled") started.push(worker.value);
    }
    const failed = workers.find((w) => w.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    endpoint: server.endpoint,
    pids: started.map((process) => process.pid),
    stop,
  };
}

/** A loopback port that was free a moment ago (for the workers' backend). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The gist of an error in one line: its `error:` line, else its last line. */
function oneLine(error: unknown): string {
  const lines = String((error as Error)?.message ?? error).split("\n")
    .map((line) => line.trim()).filter((line) => line.length > 0);
  const line = lines.find((l) => /^error:/i.test(l)) ?? lines.at(-1) ?? "";
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** Runs a setting against a running server: warm-up, then its clients at once. */
async function measure(
  server: Serving,
  setting: Setting,
  options: BenchOptions & { selfPeak: SelfPeak },
): Promise<Measured> {
  const client = { endpoint: server.endpoint, setting, input: options.input };
  // Each run's own peaks: not the server's training, not earlier runs.
  for (const pid of server.pids) resetPeakMemory(pid);
  options.selfPeak.reset();
  await runClient({
    ...client,
    setting: { ...setting, live: false },
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
  const recognised = runs.reduce((sum, run) => sum + run.recognised, 0);
  const recogniseMs = runs.reduce((sum, run) => sum + run.recogniseMs, 0);
  const serverPeaks = server.pids.map((pid) => peakMemoryMiB(pid));
  return {
    result: {
      setting,
      frames,
      seconds,
      fps: frames / seconds,
      clientFps: runs.map((run) =>
        run.frames / Math.max(1e-9, (run.ended - run.started) / 1000)
      ),
      latency: summarize(runs.flatMap((run) => run.latencies)),
      dropped: runs.reduce((sum, run) => sum + run.dropped, 0),
      recognisedPerFrame: recognised / frames,
      recogniseMsPerFace: recognised > 0 ? recogniseMs / recognised : NaN,
      requestKiB: runs.reduce((sum, run) => sum + run.requestBytes, 0) /
        frames / 1024,
      replyKiB: runs.reduce((sum, run) => sum + run.replyBytes, 0) / frames /
        1024,
      stages: stages.means(),
      serverPeakMiB: serverPeaks.includes(null)
        ? null
        : serverPeaks.reduce((sum: number, peak) => sum + peak!, 0),
      clientPeakMiB: peakMemoryMiB("self"),
      accuracy: scoreFaces(runs[0].seen, options.truth),
    },
    seen: runs[0].seen,
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
  /** Faces the server recognised, and its recognise ms over all frames. */
  recognised: number;
  recogniseMs: number;
  dropped: number;
  started: number;
  ended: number;
}

/**
 * One client session: every frame of the clip (up to `frames`) through the
 * server, as fast as replies come, `inFlight` at a time; or, `live`, the
 * clip at its own rate, the newest frame whenever a slot is free. It draws
 * every frame, as a camera client that shows the picture would, and with
 * tracks reports the names it shows (its tracks').
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
    recognised: 0,
    recogniseMs: 0,
  };
  const summary = await runSession({
    connect: options.endpoint,
    input: options.input,
    width: WIDTH,
    height: HEIGHT,
    everyFrame: !setting.live,
    frames: options.frames,
    inFlight: setting.inFlight,
    send: setting.send,
    draw: setting.draw,
    timeout: 30_000,
    retries: 1,
    track: setting.tracks,
    onPicture: () => {},
    onFrame: ({ timings: t, server, ...result }) => {
      run.recognised += result.faces.filter((f) => f.recognised !== false)
        .length;
      run.recogniseMs += server.recognise;
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
        // What the client shows: with tracks, the track's name (a skipped
        // face has no label of its own).
        faces: result.faces.map(({ x, y, w, h, label }, i) => ({
          x,
          y,
          w,
          h,
          label: result.tracked?.[i]?.name ?? label,
        })),
      });
    },
    // Nothing to tell: a fault rejects with its reason.
    log: () => {},
  });
  return {
    ...run,
    frames: summary.frames,
    dropped: summary.dropped,
    started: summary.started,
    ended: summary.ended,
  };
}

/** Keeps, index by index, the faster of two lists of results. */
function faster<T>(best: T[], next: T[], fps: (result: T) => number): T[] {
  return next.map((result, i) =>
    best[i] === undefined || fps(result) > fps(best[i]) ? result : best[i]
  );
}

/** A way to run original_server.py. */
interface Variant {
  name: string;
  serverArgs: string[];
  faithful: boolean;
  /** Why it cannot run, if it cannot. */
  skip?: string;
}

/** Cascades original_server.py knows by name. */
const PYTHON_CASCADES = ["default", "alt"];

/**
 * The original design exactly as it was (no flags), and native OpenCV doing
 * facezmq's detection work: facezmq's detection settings, read now (they
 * change), with the bench's detection width.
 */
function originalVariants(detectWidth: number): Variant[] {
  const detect: DetectOptions = SERVER_DETECT_OPTIONS;
  // Not every version of the detector names its cascade: "default" then.
  const cascade = (detect as { cascade?: string }).cascade ?? "default";
  return [
    { name: "the original design", serverArgs: [], faithful: true },
    {
      name: "native OpenCV at facezmq's detection settings",
      faithful: false,
      serverArgs: [
        "--facezmq-detection",
        "--cascade",
        cascade,
        "--scale-factor",
        String(detect.scaleFactor ?? 1.1),
        "--min-neighbors",
        String(detect.minNeighbors ?? 3),
        "--detect-width",
        String(detectWidth),
        "--min-size",
        String(detect.minSize ?? 0),
      ],
      skip: PYTHON_CASCADES.includes(cascade)
        ? undefined
        : `facezmq's cascade ${cascade} is not one original_server.py knows (${
          PYTHON_CASCADES.join(", ")
        })`,
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
  options: Variant & {
    input: string;
    frames: number;
    train: string;
    truth: TruthFrame[];
  },
): Promise<OriginalResult & { seen: SeenFrame[] }> {
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
    // Serving only, as for facezmq's runs: training is not counted.
    resetPeakMemory(server.pid);
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
    faithful: options.faithful,
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
    seen,
  };
}
