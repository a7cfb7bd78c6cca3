/**
 * Test support: the client runs of the end-to-end tests, which stream the
 * fixture clip to a server, and readers of the client's `--json` output.
 *
 * @module
 */

import type { TruthFace, TruthFrame } from "../../lib/measure/bench_report.ts";

export type { TruthFace };

/** The fixture clip (relative to the project root, where tests run). */
export const CLIP = "tests/fixtures/clip/clip.mp4";

/** Frames in {@linkcode CLIP}. */
export const CLIP_FRAMES = 60;

/** The faces of every frame of {@linkcode CLIP} (clip_truth.json). */
export function clipTruth(): TruthFrame[] {
  return JSON.parse(
    Deno.readTextFileSync(
      new URL("../fixtures/clip/clip_truth.json", import.meta.url),
    ),
  );
}

/**
 * Client arguments that send every frame of {@linkcode CLIP} to `endpoint`
 * as fast as it answers, print one JSON line each and show nothing; `extra`
 * goes after them.
 */
export function clipClientArgs(
  endpoint: string,
  extra: string[] = [],
): string[] {
  return [
    "--connect",
    endpoint,
    "--input",
    CLIP,
    "--every-frame",
    "--json",
    "--view",
    "none",
    ...extra,
  ];
}

/** The client's JSON lines, parsed (blank lines skipped). */
// deno-lint-ignore no-explicit-any
export function jsonResults(stdout: string): any[] {
  return stdout.trim().split("\n").filter((line) => line.length > 0).map((
    line,
  ) => JSON.parse(line));
}

/** The frame numbers of the client's JSON lines. */
export function framesOf(stdout: string): number[] {
  return jsonResults(stdout).map((result) => result.frame);
}

/** The faces of each JSON line, without the latency. */
export function facesByFrame(stdout: string): unknown[] {
  return jsonResults(stdout).map((result) => result.faces);
}

/** How many times `pattern` occurs in `text`. */
export function countMatches(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, "g"))?.length ?? 0;
}
