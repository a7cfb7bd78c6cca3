/**
 * Helpers of `deno task bench`: scoring the faces a run found against a
 * clip's truth file, per-stage timing sums, peak memory of a process, and a
 * plain-text table.
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
