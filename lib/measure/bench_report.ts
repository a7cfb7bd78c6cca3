/**
 * What `deno task bench` measured and how it is shown: the result types,
 * scoring the faces a run found against a clip's truth file, peak memory of
 * a process, and the plain-text report with its tables. The runs themselves
 * are in bench.ts.
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
  /** Server detection width; 0 = full size. */
  detectWidth: number;
  /** Pixels sent. */
  send: "grey" | "rgb" | "jpeg";
  /** Who draws the boxes. */
  draw: "client" | "server";
  /** Concurrent clients. */
  clients: number;
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
  /** Peak resident memory of the server process, MiB. */
  serverPeakMiB: number | null;
  /** Faces of the first client scored against the truth. */
  accuracy: Accuracy;
  /** Mean KiB per request. */
  requestKiB: number;
  /** Mean KiB per reply. */
  replyKiB: number;
}

/** What the original design measured. */
export interface OriginalResult {
  /** `original`, or `native, detect ...` with facezmq's detection settings. */
  name: string;
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
  /** Its faces scored against the truth. */
  accuracy: Accuracy;
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
  /** The original design's runs, why they were skipped, or null. */
  original: OriginalResult[] | { skipped: string } | null;
  /** facezmq's main run over the original's: fps and server ms, or null. */
  ratio: { fps: number; serverMs: number } | null;
}

/** `full` for detection width 0. */
export function widthLabel(width: number): string {
  return width === 0 ? "full" : String(width);
}

function percent(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : "-";
}

/** The readable report of a bench. */
export function formatReport(result: BenchResult): string {
  const loads = (values: number[]) => values.map((l) => l.toFixed(2)).join(" ");
  const out: string[] = [
    `facezmq bench: ${result.input} at ${result.width}x${result.height}, ` +
    `every frame; ${result.cores} cores, load ${loads(result.load.before)} ` +
    `(after: ${loads(result.load.after)}); deno ${result.deno}`,
    "",
  ];
  out.push(formatTable(
    result.runs.map((r) => [
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
    `peak memory: server ${fixed(main.serverPeakMiB, 0)} MiB, bench client ${
      fixed(result.clientPeakMiB, 0)
    } MiB (this process, all runs)`,
  );
  const original = result.original;
  if (original && "skipped" in original) {
    out.push("", `original design: skipped (${original.skipped})`);
  } else if (original) {
    out.push(
      "",
      "against the original design (Python, native OpenCV, raw BGR both ways):",
      "",
      comparisonTable(main, original, result.clientPeakMiB),
      "",
      `facezmq / original: ${fixed(result.ratio?.fps, 2)}x fps, ` +
        `server ms ${
          fixed(result.ratio?.serverMs, 2)
        }x (below 1 is faster); facezmq's client MiB is this whole bench process`,
    );
  }
  return out.join("\n");
}

/** facezmq's main run next to the original design's runs. */
function comparisonTable(
  main: RunResult,
  original: OriginalResult[],
  clientPeakMiB: number | null,
): string {
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
  return formatTable(
    [
      row("facezmq (main)", {
        fps: main.fps,
        p50: main.latency.p50,
        p95: main.latency.p95,
        serverMs: main.stages["server total"],
        accuracy: main.accuracy,
        peak: main.serverPeakMiB,
        clientPeak: clientPeakMiB,
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
  );
}
