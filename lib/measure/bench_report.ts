/**
 * What `deno task bench` measured and how it is shown: the result types,
 * scoring the faces a run found against a clip's truth file, peak memory of
 * a process, and the plain-text report with its tables. The runs themselves
 * are in bench.ts.
 *
 * Longer than most modules: most of it is the report's tables, one function
 * each, kept together so the report reads as one page.
 *
 * @module
 */

import { mean, percentile } from "./stats.ts";

/** A face the clip really shows (one entry of `sample_truth.json`). */
export interface TruthFace {
  /** Expected answer: a trained person's name or `"unknown"`. */
  name: string;
  /** Left edge, pixels. */
  x: number;
  /** Top edge, pixels. */
  y: number;
  /** Width, pixels. */
  w: number;
  /** Height, pixels. */
  h: number;
}

/** The truth of one frame. */
export interface TruthFrame {
  /** Frame number, from 0. */
  frame: number;
  /** The faces in it. */
  faces: TruthFace[];
}

/** A face a run reported. */
export interface SeenFace {
  /** Left edge, pixels. */
  x: number;
  /** Top edge, pixels. */
  y: number;
  /** Width, pixels. */
  w: number;
  /** Height, pixels. */
  h: number;
  /** The name given, or `"unknown"`. */
  label: string;
}

/** What a run reported for one frame. */
export interface SeenFrame {
  /** Frame number, from 0. */
  frame: number;
  /** The faces found. */
  faces: SeenFace[];
}

/** How well a run's faces match the truth. */
export interface Accuracy {
  /** Frames scored (frames of the run that have a truth entry). */
  frames: number;
  /** Faces in the truth of those frames. */
  truthFaces: number;
  /** Truth faces with a found face whose box centre lies inside. */
  found: number;
  /** Found faces whose label equals the truth name. */
  named: number;
  /** Found faces given another trained person's name (not `unknown`). */
  wrongPerson: number;
  /** Found faces that match no truth face. */
  falseFaces: number;
  /** `found / truthFaces` (NaN without truth faces). */
  recall: number;
  /** `named / found`: of the faces found, the share named right (NaN if none found). */
  namedRight: number;
  /** The same counts per truth name, with the labels given to found faces. */
  byName: Record<string, NameScore>;
}

/** Counts for the faces of one truth name. */
export interface NameScore {
  /** Faces with this truth name. */
  faces: number;
  /** Of them, found. */
  found: number;
  /** Of them, found and named right. */
  named: number;
  /** Labels given to the found ones, with counts. */
  labels: Record<string, number>;
}

/**
 * Parses a truth file's text (`[{ frame, faces: [{ name, x, y, w, h }] }]`).
 * Throws an Error naming `source` when the text is not such a list.
 */
export function parseTruth(text: string, source: string): TruthFrame[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `${source} is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (!Array.isArray(data)) {
    throw new Error(`${source} must hold a JSON list of frames`);
  }
  return data.map((entry, index) => {
    const frame = entry?.frame;
    const faces = entry?.faces;
    if (!Number.isInteger(frame) || !Array.isArray(faces)) {
      throw new Error(
        `${source}: entry ${index} needs an integer "frame" and a "faces" list`,
      );
    }
    for (const face of faces) {
      const ok = typeof face?.name === "string" &&
        [face.x, face.y, face.w, face.h].every(Number.isFinite);
      if (!ok) {
        throw new Error(
          `${source}: frame ${frame} has a face without name, x, y, w and h`,
        );
      }
    }
    return { frame, faces } as TruthFrame;
  });
}

/** True when the centre of `face` lies inside `box`. */
function centreInside(face: SeenFace, box: TruthFace): boolean {
  const cx = face.x + face.w / 2;
  const cy = face.y + face.h / 2;
  return cx >= box.x && cx < box.x + box.w && cy >= box.y &&
    cy < box.y + box.h;
}

/**
 * Scores `seen` against `truth`, frame by frame: a truth face is found when
 * an unused seen face has its box centre inside the truth box; it is named
 * right when that face's label equals the truth name (`unknown` for people
 * who are not trained). Seen frames without a truth entry are skipped.
 */
export function scoreFaces(
  seen: readonly SeenFrame[],
  truth: readonly TruthFrame[],
): Accuracy {
  const byFrame = new Map<number, TruthFace[]>();
  for (const entry of truth) byFrame.set(entry.frame, entry.faces);
  let frames = 0;
  let truthFaces = 0;
  let found = 0;
  let named = 0;
  let wrongPerson = 0;
  let falseFaces = 0;
  const byName: Record<string, NameScore> = {};
  for (const entry of seen) {
    const expected = byFrame.get(entry.frame);
    if (expected === undefined) continue;
    frames++;
    truthFaces += expected.length;
    const unused = [...entry.faces];
    for (const box of expected) {
      const score = byName[box.name] ??= {
        faces: 0,
        found: 0,
        named: 0,
        labels: {},
      };
      score.faces++;
      const index = unused.findIndex((face) => centreInside(face, box));
      if (index < 0) continue;
      const [face] = unused.splice(index, 1);
      found++;
      score.found++;
      score.labels[face.label] = (score.labels[face.label] ?? 0) + 1;
      if (face.label === box.name) {
        named++;
        score.named++;
      } else if (face.label !== "unknown") {
        wrongPerson++;
      }
    }
    falseFaces += unused.length;
  }
  return {
    frames,
    truthFaces,
    found,
    named,
    wrongPerson,
    falseFaces,
    recall: truthFaces > 0 ? found / truthFaces : NaN,
    namedRight: found > 0 ? named / found : NaN,
    byName,
  };
}

/**
 * The truth faces `reference` found (as {@linkcode scoreFaces} matches
 * them) that `seen` did not: `frame:index` keys of truth faces, on the
 * frames both answered.
 */
export function missedFaces(
  seen: readonly SeenFrame[],
  options: { reference: readonly SeenFrame[]; truth: readonly TruthFrame[] },
): string[] {
  const ours = new Map(seen.map((entry) => [entry.frame, entry.faces]));
  const theirs = new Map(
    options.reference.map((entry) => [entry.frame, entry.faces]),
  );
  const missed: string[] = [];
  for (const { frame, faces } of options.truth) {
    const a = ours.get(frame);
    const b = theirs.get(frame);
    if (a === undefined || b === undefined) continue;
    const found = foundIn(a, faces);
    foundIn(b, faces).forEach((hit, i) => {
      if (hit && !found[i]) missed.push(`${frame}:${i}`);
    });
  }
  return missed;
}

/** Per truth face, whether `seen` found it (the matching of scoreFaces). */
function foundIn(seen: readonly SeenFace[], truth: readonly TruthFace[]) {
  const unused = [...seen];
  return truth.map((box) => {
    const index = unused.findIndex((face) => centreInside(face, box));
    if (index >= 0) unused.splice(index, 1);
    return index >= 0;
  });
}

/** Mean and percentiles of a list of durations (ms); NaN when empty. */
export interface Summary {
  /** Number of values. */
  count: number;
  /** Arithmetic mean. */
  mean: number;
  /** Median. */
  p50: number;
  /** 95th percentile. */
  p95: number;
}

/** Summarises `values` (mean, p50, p95). */
export function summarize(values: readonly number[]): Summary {
  return {
    count: values.length,
    mean: mean(values),
    p50: percentile(values, 50),
    p95: percentile(values, 95),
  };
}

/**
 * Peak resident memory (`VmHWM` of `/proc/<pid>/status`) in MiB, or null
 * where there is no such file (not Linux, process gone).
 */
export function peakMemoryMiB(pid: number | "self"): number | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/status`);
  } catch {
    return null;
  }
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(text);
  return match ? Number(match[1]) / 1024 : null;
}

/**
 * Starts a new peak for {@linkcode peakMemoryMiB} (Linux: writes 5 to
 * `/proc/<pid>/clear_refs`), so that each run reports its own peak rather
 * than the highest since the process started. False where that fails.
 */
export function resetPeakMemory(pid: number | "self"): boolean {
  try {
    Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Options of {@link formatTable}. */
export interface TableOptions {
  /** Column titles. */
  header: string[];
  /** Columns aligned right (by index); default: every column but the first. */
  right?: number[];
}

/**
 * Lays `rows` out as a Markdown table with padded columns (readable as plain
 * text too). Numbers must be formatted by the caller.
 */
export function formatTable(rows: string[][], options: TableOptions): string {
  const { header } = options;
  const right = new Set(
    options.right ?? header.map((_, index) => index).slice(1),
  );
  const widths = header.map((title, index) =>
    Math.max(title.length, ...rows.map((row) => (row[index] ?? "").length))
  );
  const cell = (text: string, index: number) =>
    right.has(index)
      ? text.padStart(widths[index])
      : text.padEnd(widths[index]);
  const line = (cells: string[]) =>
    `| ${header.map((_, i) => cell(cells[i] ?? "", i)).join(" | ")} |`;
  const rule = `|${
    widths.map((width, i) =>
      right.has(i) ? `${"-".repeat(width + 1)}:` : "-".repeat(width + 2)
    ).join("|")
  }|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** Formats a number with `digits` decimals, or `-` when it is not finite. */
export function fixed(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || !Number.isFinite(value)
    ? "-"
    : value.toFixed(digits);
}

/** One setting of the system under test. */
export interface Setting {
  /** Short name in the tables. */
  name: string;
  /** Server recognition threads. */
  workers: number;
  /** Worker processes on this machine connected to the server's backend. */
  remoteWorkers: number;
  /** The server's recogniser (`--recognizer`). */
  recognizer: string;
  /** Frames each client keeps at the server (`--in-flight`). */
  inFlight: number;
  /** Server detection width; 0 = full size. */
  detectWidth: number;
  /** Pixels sent. */
  send: "grey" | "rgb" | "jpeg";
  /** Who draws the boxes. */
  draw: "client" | "server";
  /** Concurrent clients. */
  clients: number;
  /**
   * The clients follow faces (the client's default): version 2 requests
   * with track hints, so the server skips the recogniser for settled faces
   * and, between full scans, looks for faces only around the tracks. False:
   * version 1, every frame detected whole and every face recognised.
   */
  tracks: boolean;
  /**
   * The clip is played at its own rate (30 fps) as a camera would deliver
   * it, the session keeping only the newest frame; false: every frame, as
   * fast as answers come.
   */
  live: boolean;
}

/** Everything measured for one setting. */
export interface RunResult {
  /** The setting. */
  setting: Setting;
  /** Frames answered, all clients together. */
  frames: number;
  /** First frame in to last frame done, any client. */
  seconds: number;
  /** Frames per second, all clients together. */
  fps: number;
  /** Encode start to a drawn frame, ms (all clients). */
  latency: Summary;
  /** Mean ms per frame of each stage (all clients). */
  stages: Record<string, number>;
  /** Each client's frames per second (its own first to last frame). */
  clientFps: number[];
  /** Peak resident memory of the server (and its remote workers), MiB, this run. */
  serverPeakMiB: number | null;
  /** Peak resident memory of the bench process (its clients), MiB, this run. */
  clientPeakMiB: number | null;
  /** Faces of the first client scored against the truth. */
  accuracy: Accuracy;
  /** Mean KiB per request. */
  requestKiB: number;
  /** Mean KiB per reply. */
  replyKiB: number;
  /**
   * Frames of a live run never sent or never shown (the clients were too
   * slow for the clip's rate); 0 for every-frame runs.
   */
  dropped: number;
  /** Faces the server recognised, per frame (all clients). */
  recognisedPerFrame: number;
  /** Server recognise ms per recognised face (NaN when none was). */
  recogniseMsPerFace: number;
}

/** What the original design measured. */
export interface OriginalResult {
  /**
   * `the original design`, or `native OpenCV at facezmq's detection
   * settings` (original_server.py with `--facezmq-detection`).
   */
  name: string;
  /** True for the original itself, the yardstick of every ratio. */
  faithful: boolean;
  /** Extra flags given to original_server.py. */
  serverArgs: string[];
  /** Frames answered. */
  frames: number;
  /** Frames per second. */
  fps: number;
  /** Median latency, ms. */
  latencyP50: number;
  /** 95th percentile latency, ms. */
  latencyP95: number;
  /** Server ms per frame. */
  serverMs: number;
  /** Client capture ms per frame. */
  captureMs: number;
  /** Peak resident memory of the server, MiB. */
  serverPeakMiB: number | null;
  /** Peak resident memory of the client, MiB. */
  clientPeakMiB: number;
  /** Its faces scored against the truth, on the frames every design answered. */
  accuracy: Accuracy;
}

/** A run that could not be measured. */
export interface SkippedRun {
  /** The run's name. */
  name: string;
  /** Why, in one line. */
  reason: string;
}

/** A whole bench: the machine, the runs and the comparison. */
export interface BenchResult {
  /** The clip. */
  input: string;
  /** Frame width. */
  width: number;
  /** Frame height. */
  height: number;
  /** CPU cores. */
  cores: number;
  /** Load averages before and after. */
  load: { before: number[]; after: number[] };
  /** Deno's version. */
  deno: string;
  /** Peak memory of the bench process (all clients of all runs), MiB. */
  clientPeakMiB: number | null;
  /** The runs, the requested setting first. */
  runs: RunResult[];
  /** Runs that failed (e.g. a recogniser that does not work yet). */
  skipped: SkippedRun[];
  /** The original design's runs, why they were skipped, or null. */
  original: OriginalResult[] | { skipped: string } | null;
  /**
   * facezmq's main run scored on the same frames as the original's runs
   * (null without them).
   */
  mainOnSameFrames: Accuracy | null;
  /** facezmq's main run over the faithful original: fps and server ms, or null. */
  ratio: { fps: number; serverMs: number } | null;
  /**
   * Truth faces the faithful original found and facezmq's main run did not
   * (`frame:index`), or null without the original.
   */
  missedOfOriginal?: string[] | null;
}

/** `full` for detection width 0. */
export function widthLabel(width: number): string {
  return width === 0 ? "full" : String(width);
}

function percent(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : "-";
}

/** The faithful original's run, when it ran. */
function faithfulOriginal(result: BenchResult): OriginalResult | undefined {
  return Array.isArray(result.original)
    ? result.original.find((o) => o.faithful)
    : undefined;
}

/** `3.1x`, or `-` without a yardstick. */
function times(value: number, yardstick: number | undefined): string {
  return yardstick ? `${fixed(value / yardstick, 2)}x` : "-";
}

/** Workers of a setting: threads, or remote worker processes. */
function workersLabel(setting: Setting): string {
  const remote = setting.remoteWorkers > 0
    ? `${setting.remoteWorkers} remote`
    : "";
  if (setting.workers === 0) return remote;
  return remote ? `${setting.workers} + ${remote}` : String(setting.workers);
}

/** The slowest and fastest client of a run, when it had several. */
function clientSpread(run: RunResult): string {
  if (run.clientFps.length < 2) return "-";
  return `${fixed(Math.min(...run.clientFps))}-${
    fixed(Math.max(...run.clientFps))
  }`;
}

/** The readable report of a bench. */
export function formatReport(result: BenchResult): string {
  const loads = (values: number[]) => values.map((l) => l.toFixed(2)).join(" ");
  const original = faithfulOriginal(result);
  const out: string[] = [
    `facezmq bench: ${result.input} at ${result.width}x${result.height}, ` +
    `every frame unless live; ${result.cores} cores, load ${
      loads(result.load.before)
    } ` +
    `(after: ${loads(result.load.after)}); deno ${result.deno}`,
    "",
  ];
  out.push(formatTable(
    result.runs.map((r) => [
      r.setting.name,
      workersLabel(r.setting),
      r.setting.recognizer,
      widthLabel(r.setting.detectWidth),
      r.setting.send,
      r.setting.draw,
      String(r.setting.inFlight),
      String(r.setting.clients),
      r.setting.tracks ? "yes" : "no",
      r.setting.live ? "live" : "every",
      String(r.frames),
      fixed(r.fps),
      times(r.fps, original?.fps),
      clientSpread(r),
      fixed(r.latency.p50),
      fixed(r.latency.p95),
      fixed(r.stages["server total"]),
      percent(r.accuracy.recall),
      percent(r.accuracy.namedRight),
      String(r.accuracy.falseFaces),
      fixed(r.requestKiB, 0),
      fixed(r.replyKiB, 0),
      fixed(r.serverPeakMiB, 0),
      fixed(r.clientPeakMiB, 0),
    ]),
    {
      header: [
        "run",
        "workers",
        "recogniser",
        "detect",
        "send",
        "draw",
        "in flight",
        "clients",
        "tracks",
        "frames of",
        "frames",
        "fps",
        "x original",
        "fps/client",
        "p50 ms",
        "p95 ms",
        "server ms",
        "recall",
        "named right",
        "false",
        "KiB/req",
        "KiB/reply",
        "server MiB",
        "client MiB",
      ],
      right: [3, 6, 7, ...Array.from({ length: 14 }, (_, i) => i + 10)],
    },
  ));
  out.push(
    "",
    "fps: all clients together; fps/client: slowest-fastest client; " +
      "x original: fps over the original design's; tracks: the clients " +
      "follow faces (version 2 hints: settled faces are not recognised, " +
      "and between full scans faces are looked for only around the tracks); " +
      "frames of: every frame as fast as answers come, or live at the " +
      "clip's rate (newest frame only); named right: the name shown " +
      "(the track's, with tracks); server MiB: peak of the " +
      "server process (with its remote workers), client MiB: peak of the " +
      "bench process running the clients, both for that run only.",
    "",
    formatTable(
      result.runs.map((r) => [
        r.setting.name,
        fixed(r.stages.detect, 2),
        fixed(r.stages.recognise, 2),
        fixed(r.recognisedPerFrame, 2),
        fixed(r.recogniseMsPerFace, 2),
        fixed(r.stages["server total"], 2),
        String(r.dropped),
      ]),
      {
        header: [
          "run",
          "detect ms/frame",
          "recognise ms/frame",
          "faces recognised/frame",
          "recognise ms/face",
          "server ms/frame",
          "dropped",
        ],
      },
    ),
  );
  for (const run of result.runs.filter((r) => r.clientFps.length > 1)) {
    const slowest = Math.min(...run.clientFps);
    const fastest = Math.max(...run.clientFps);
    const spread = fastest > 0 ? 1 - slowest / fastest : NaN;
    out.push(
      `${run.setting.name}: each client ${
        run.clientFps.map((fps) => fixed(fps)).join(", ")
      } fps; the slowest ${percent(spread)} below the fastest (${
        spread <= 0.2 ? "fair: within 20%" : "NOT within 20%"
      })`,
    );
  }
  for (const skipped of result.skipped) {
    out.push(`${skipped.name}: skipped (${skipped.reason})`);
  }
  const main = result.runs[0];
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
    `peak memory of the bench process over all runs: ${
      fixed(result.clientPeakMiB, 0)
    } MiB`,
  );
  if (result.original && "skipped" in result.original) {
    out.push("", `original design: skipped (${result.original.skipped})`);
  } else if (Array.isArray(result.original)) {
    const scored = result.original[0]?.accuracy.frames ?? 0;
    out.push(
      "",
      "against the original design (Python, native OpenCV, pyzmq REQ/REP, raw BGR both ways):",
      "",
      comparisonTable(main, result),
      "",
      `recall: faces of the clip's truth found, every design scored on the same ${scored} frames.`,
      "Equal work: the original design names only the first face it finds " +
        "in a frame (haarcascade_frontalface_alt, 1.2/5, full frame), so it " +
        "does less per frame than facezmq when a frame shows two people, and " +
        "its recall is capped there. The native OpenCV row detects with " +
        "facezmq's settings and names every face: the same work as facezmq.",
      ...(result.missedOfOriginal
        ? [
          `faces the original design found and facezmq (${main.setting.name}) did not: ${result.missedOfOriginal.length}` +
          (result.missedOfOriginal.length > 0
            ? ` (frame:face ${result.missedOfOriginal.join(" ")})`
            : ""),
        ]
        : []),
      `facezmq / the original design: ${fixed(result.ratio?.fps, 2)}x fps, ` +
        `server ms ${
          fixed(result.ratio?.serverMs, 2)
        }x (below 1 is faster). Every "x" is against the original design.`,
    );
  }
  return out.join("\n");
}

/** facezmq's main run next to the original design's runs. */
function comparisonTable(main: RunResult, result: BenchResult): string {
  const originals = Array.isArray(result.original) ? result.original : [];
  const yardstick = faithfulOriginal(result);
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
    String(r.accuracy.frames),
    fixed(r.fps),
    times(r.fps, yardstick?.fps),
    fixed(r.p50),
    fixed(r.p95),
    fixed(r.serverMs),
    times(r.serverMs, yardstick?.serverMs),
    `${r.accuracy.found}/${r.accuracy.truthFaces}`,
    percent(r.accuracy.recall),
    percent(r.accuracy.namedRight),
    fixed(r.peak, 0),
    fixed(r.clientPeak, 0),
  ];
  return formatTable(
    [
      ...originals.map((o) =>
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
      row(`facezmq (${main.setting.name})`, {
        fps: main.fps,
        p50: main.latency.p50,
        p95: main.latency.p95,
        serverMs: main.stages["server total"],
        accuracy: result.mainOnSameFrames ?? main.accuracy,
        peak: main.serverPeakMiB,
        clientPeak: main.clientPeakMiB,
      }),
    ],
    {
      header: [
        "design",
        "frames",
        "fps",
        "x fps",
        "p50 ms",
        "p95 ms",
        "server ms",
        "x server ms",
        "faces found",
        "recall",
        "named right",
        "server MiB",
        "client MiB",
      ],
    },
  );
}
