/**
 * How the detection tools score a detector against annotated photos:
 * dlib's XML annotations, and one-to-one matching of detections to truth
 * boxes.
 *
 * @module
 */

import { iou } from "../lib/tracking/boxes.ts";
import type { Box } from "../lib/images/image.ts";

/** Parses `<image file=...><box top left width height/>...</image>`. */
export function parseAnnotations(xml: string): Map<string, Box[]> {
  const result = new Map<string, Box[]>();
  const imageRe = /<image\s+file='([^']+)'[^>]*>([\s\S]*?)<\/image>/g;
  const boxRe =
    /<box\s+top='(\d+)'\s+left='(\d+)'\s+width='(\d+)'\s+height='(\d+)'/g;
  for (const m of xml.matchAll(imageRe)) {
    const boxes: Box[] = [];
    for (const b of m[2].matchAll(boxRe)) {
      boxes.push({ x: +b[2], y: +b[1], w: +b[3], h: +b[4] });
    }
    result.set(m[1], boxes);
  }
  return result;
}

export { iou };

/** Whether the centre of `inner` is inside `outer`. */
export function centreInside(outer: Box, inner: Box): boolean {
  const cx = inner.x + inner.w / 2;
  const cy = inner.y + inner.h / 2;
  return cx >= outer.x && cx <= outer.x + outer.w && cy >= outer.y &&
    cy <= outer.y + outer.h;
}

/**
 * Whether `found` finds `truth`: its centre inside the truth box, or IoU at
 * least 0.3 (dlib's boxes are tighter than Haar's).
 */
export function matches(truth: Box, found: Box): boolean {
  return centreInside(truth, found) || iou(truth, found) >= 0.3;
}

/** What {@linkcode score} found of one photo or frame. */
export interface Score {
  /** Whether each truth box was found. */
  hit: boolean[];
  /** Detections matching neither a truth box nor a "don't care" one. */
  fp: number;
}

/**
 * Greedy one-to-one matching of detections to truth boxes; `ignore` holds
 * "don't care" faces, whose detections are not false.
 */
export function score(
  truths: Box[],
  found: Box[],
  options: { ignore?: Box[] } = {},
): Score {
  const ignore = options.ignore ?? [];
  const used = new Set<number>();
  const hit = truths.map((t) => {
    let best = -1;
    let bestIou = -1;
    found.forEach((f, i) => {
      if (used.has(i) || !matches(t, f)) return;
      const v = iou(t, f);
      if (v > bestIou) {
        bestIou = v;
        best = i;
      }
    });
    if (best >= 0) used.add(best);
    return best >= 0;
  });
  let fp = 0;
  found.forEach((f, i) => {
    if (!used.has(i) && !ignore.some((g) => matches(g, f))) fp++;
  });
  return { hit, fp };
}

/** How many of `hit` are true. */
export function hits(hit: boolean[]): number {
  return hit.filter((h) => h).length;
}

/** The median of `values` (the upper one of an even count). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
