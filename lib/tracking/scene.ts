/**
 * Whether something changed in view where a search around the tracks does
 * not look: a new face may have come, which that search would not find
 * until the next full scan (lib/tracking/tracker.ts `fullScan`). A frame
 * is summed in blocks of 16x16 pixels (every other pixel of every other
 * row: with a camera's noise a block's mean moves by well under a grey
 * level, by tens where a face comes) and compared with the last frame
 * scanned whole whose answer is in, leaving out each track's search window
 * (its box grown by half its size on each side, what the server searches
 * between full scans).
 *
 * Leaving aside the server's own full scans (when a hint finds no face),
 * it takes samples/sample.mp4 from 337 to 342 of its 343 faces found for 2
 * more full scans in 300 frames, and moving faces of 30-90 px from 772 to
 * 792 of 798 for 20 more (tools/eval_track_scan.ts, 2 frames in flight). A camera
 * that sees people move (arms, bodies) gets more full scans: never more
 * than one a frame, never fewer faces.
 *
 * About 0.3 ms a 640x480 frame. Pure: pictures come from the caller.
 *
 * @module
 */

import type { Box, Image } from "../images/image.ts";

/** Side of a block, pixels. */
const BLOCK = 16;
/** A block whose mean grey moved by more than this has changed. */
const MIN_CHANGE = 12;
/** Changed blocks outside the tracks' regions that make a change. */
const MIN_BLOCKS = 2;

/**
 * Block means of frames; see the module doc. A session feeds it every
 * frame it sends ({@linkcode SceneWatch.changedAway}) and each frame
 * scanned whole once its answer is in ({@linkcode SceneWatch.scanned}).
 */
export class SceneWatch {
  #reference: Float32Array | undefined;
  #picture: Image | undefined;
  #means: Float32Array | undefined;
  #cols = 0;
  #rows = 0;

  /**
   * Whether `picture` differs from the last frame given to
   * {@linkcode SceneWatch.scanned} anywhere outside the search windows of
   * `boxes` (the tracks, where they are now); true before any frame was
   * scanned or when the frame size changed.
   */
  changedAway(picture: Image, boxes: readonly Box[]): boolean {
    const means = this.#meansOf(picture);
    const reference = this.#reference;
    if (reference === undefined || reference.length !== means.length) {
      return true;
    }
    const cols = this.#cols;
    const rows = this.#rows;
    const searched = new Uint8Array(means.length);
    for (const b of boxes) {
      const x0 = Math.max(0, Math.floor((b.x - b.w / 2) / BLOCK));
      const x1 = Math.min(cols - 1, Math.floor((b.x + 1.5 * b.w) / BLOCK));
      const y0 = Math.max(0, Math.floor((b.y - b.h / 2) / BLOCK));
      const y1 = Math.min(rows - 1, Math.floor((b.y + 1.5 * b.h) / BLOCK));
      for (let y = y0; y <= y1; y++) {
        searched.fill(1, y * cols + x0, y * cols + x1 + 1);
      }
    }
    let changed = 0;
    for (let i = 0; i < means.length; i++) {
      if (searched[i] === 0 && Math.abs(means[i] - reference[i]) > MIN_CHANGE) {
        if (++changed >= MIN_BLOCKS) return true;
      }
    }
    return false;
  }

  /**
   * `picture` was scanned whole and the tracks hold what it found: later
   * frames are compared with it. (Taken when its answer comes, not when it
   * is sent, so that the frames sent in between still see the change.)
   */
  scanned(picture: Image): void {
    this.#reference = this.#meansOf(picture);
  }

  /** Mean grey of each block (green for RGB), kept for the last picture. */
  #meansOf(picture: Image): Float32Array {
    if (picture === this.#picture && this.#means) return this.#means;
    const { width, height, channels, data } = picture;
    const cols = Math.floor(width / BLOCK);
    const rows = Math.floor(height / BLOCK);
    const sums = new Float32Array(cols * rows);
    const offset = channels === 3 ? 1 : 0;
    for (let y = 0; y < rows * BLOCK; y += 2) {
      const row = (y / BLOCK | 0) * cols;
      let at = (y * width) * channels + offset;
      for (let x = 0; x < cols * BLOCK; x += 2, at += 2 * channels) {
        sums[row + (x / BLOCK | 0)] += data[at];
      }
    }
    const samples = (BLOCK / 2) * (BLOCK / 2);
    for (let i = 0; i < sums.length; i++) sums[i] /= samples;
    this.#picture = picture;
    this.#means = sums;
    this.#cols = cols;
    this.#rows = rows;
    return sums;
  }
}
