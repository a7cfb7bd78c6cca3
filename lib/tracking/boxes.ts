/**
 * How boxes overlap and which belong together: intersection over union and
 * the one-to-one greedy matching that both the server (detected faces to a
 * request's track hints, docs/protocol.md "Version 2") and the client's
 * tracker (detected faces to predicted tracks) use, so that both sides pair
 * boxes by the same rule.
 *
 * @module
 */

import type { Box } from "../images/image.ts";

/**
 * Boxes overlapping less than this (IoU) are not the same face. At 0.3 a
 * face may move by about a third of its width between the prediction and
 * the detection and still match, while two faces side by side never do.
 */
export const MIN_IOU = 0.3;

/** Intersection area over union area of two boxes, 0..1 (0 for empty boxes). */
export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/** Options of {@linkcode matchBoxes}. */
export interface MatchOptions {
  /** Smallest IoU of a match. Default {@linkcode MIN_IOU}. */
  minIou?: number;
  /** Leave these targets out (already taken). */
  taken?: ReadonlySet<number>;
}

/**
 * Pairs each box with at most one target and each target with at most one
 * box: every pair with IoU at least `minIou` is a candidate, and candidates
 * are taken highest IoU first (ties: earlier box, then earlier target).
 * Returns, per box, the index of its target or -1.
 */
export function matchBoxes(
  boxes: readonly Box[],
  targets: readonly Box[],
  options: MatchOptions = {},
): number[] {
  const minIou = options.minIou ?? MIN_IOU;
  const candidates: { box: number; target: number; overlap: number }[] = [];
  boxes.forEach((box, b) => {
    targets.forEach((target, t) => {
      if (options.taken?.has(t)) return;
      const overlap = iou(box, target);
      if (overlap >= minIou) candidates.push({ box: b, target: t, overlap });
    });
  });
  // Array.prototype.sort is stable: equal overlaps keep box, target order.
  candidates.sort((p, q) => q.overlap - p.overlap);
  const match = new Array<number>(boxes.length).fill(-1);
  const used = new Set<number>();
  for (const { box, target } of candidates) {
    if (match[box] !== -1 || used.has(target)) continue;
    match[box] = target;
    used.add(target);
  }
  return match;
}
