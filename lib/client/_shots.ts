/**
 * A session's frames as read: copied out of the capture's buffer, read one
 * at a time, and a failed live source reopened when asked to.
 *
 * @module
 */

import type { Image } from "../images/image.ts";
import type { Capture, Frame } from "../video/capture.ts";
import { CaptureError } from "../video/capture_error.ts";

/** A frame as read, copied out of the capture's buffer. */
export interface Shot {
  /** Frames read before it (its index restarts when a source is reopened). */
  seq: number;
  index: number;
  picture: Image;
  /** ms waited for it. */
  waited: number;
  /** `performance.now()` when it came in. */
  at: number;
}

/** Options for {@linkcode Shots}. */
export interface ShotsOptions {
  /** The capture's frames: size, and 1 channel for grey8 or 3 for rgb24. */
  shape: { width: number; height: number; channels: 1 | 3 };
  /** Reopen the source when it fails (only asked of live sources). */
  reconnect: boolean;
  /** A stop: pending and later reads give null. */
  signal?: AbortSignal;
  /** Notices of reconnections. */
  log: (line: string) => void;
}

/** The frames of one source, however often it is reopened. */
export class Shots {
  #open: () => Capture;
  #capture: Capture;
  #options: ShotsOptions;
  /** The capture hands out one frame per call: reads wait their turn. */
  #reads: Promise<unknown> = Promise.resolve();
  #seq = 0;

  /** Opens the source with `open`, again on each reconnection. */
  constructor(open: () => Capture, options: ShotsOptions) {
    this.#open = open;
    this.#capture = open();
    this.#options = options;
  }

  /** The ffmpeg command line of the capture, for logs. */
  get args(): readonly string[] {
    return this.#capture.args;
  }

  /** Frames the current capture read but never delivered. */
  get dropped(): number {
    return this.#capture.dropped;
  }

  /** The next frame, or null when the source ended or the session stops. */
  read(): Promise<Shot | null> {
    const read = this.#reads.then(async (): Promise<Shot | null> => {
      const t0 = performance.now();
      const frame = await this.#next();
      if (frame === null) return null;
      const at = performance.now();
      return {
        seq: this.#seq++,
        index: frame.index,
        picture: this.#copy(frame),
        waited: at - t0,
        at,
      };
    });
    this.#reads = read.catch(() => {});
    return read;
  }

  /** Stops the capture, which also ends a pending read. */
  close(): Promise<void> {
    return this.#capture.close();
  }

  async #next(): Promise<Frame | null> {
    const { signal, log } = this.#options;
    while (true) {
      try {
        return await this.#capture.next();
      } catch (error) {
        if (signal?.aborted) return null;
        if (!(error instanceof CaptureError && this.#options.reconnect)) {
          throw error;
        }
        log(`capture failed: ${error.message}; reconnecting in 1 s`);
        await this.#capture.close();
        await new Promise((r) => setTimeout(r, 1000));
        if (signal?.aborted) return null;
        this.#capture = this.#open();
      }
    }
  }

  // The capture reuses the buffer on the next read, and frames in flight
  // (resent on a retry, drawn on later) outlive it: keep a copy.
  #copy(frame: Frame): Image {
    return { ...this.#options.shape, data: frame.data.slice() };
  }
}
