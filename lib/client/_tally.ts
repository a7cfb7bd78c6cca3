/**
 * The running counts of a session and its summary: frames, latencies, the
 * names seen and, with tracking, who was in view for how long.
 *
 * @module
 */

import { mean, percentile } from "../measure/stats.ts";
import { UNKNOWN } from "../tracking/tracker.ts";
import type { FrameResult, PersonSeen, SessionSummary } from "./session.ts";

/** A stretch of frames in which one track carried one name. */
interface Stretch {
  name: string;
  track: number;
  first: number;
  last: number;
  frames: number;
}

/** The running counts of a session. */
export class Tally {
  frames = 0;
  framesWithFaces = 0;
  started: number | undefined;
  ended: number | undefined;
  #latencies: number[] = [];
  #seen = new Map<string, number>();
  #stretches = new Map<string, Stretch>();
  #tracking: boolean;
  #windowStart = performance.now();
  #windowFrames = 0;
  #windowFps = 0;

  /** `tracking`: the results have tracks; count people. */
  constructor(tracking: boolean) {
    this.#tracking = tracking;
  }

  /** Counts one answered frame. */
  add(result: FrameResult): void {
    this.frames++;
    this.#latencies.push(result.latencyMs);
    if (result.faces.length > 0) this.framesWithFaces++;
    const shown = result.tracked?.map((f) => f.name) ??
      result.faces.map((f) => f.label);
    for (const label of new Set(shown)) {
      this.#seen.set(label, (this.#seen.get(label) ?? 0) + 1);
    }
    const time = result.time ?? 0;
    for (const { track, name } of result.tracked ?? []) {
      const key = `${track} ${name}`;
      const stretch = this.#stretches.get(key);
      if (stretch) {
        stretch.last = time;
        stretch.frames++;
      } else {
        this.#stretches.set(key, {
          name,
          track,
          first: time,
          last: time,
          frames: 1,
        });
      }
    }
    this.#windowFrames++;
    const now = performance.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowFps = (this.#windowFrames * 1000) / (now - this.#windowStart);
      this.#windowStart = now;
      this.#windowFrames = 0;
    }
  }

  /** What the view shows beside `result`: frames so far, recent fps. */
  viewInfo(
    result: FrameResult,
  ): { frames: number; fps: number; latencyMs: number } {
    return {
      frames: this.frames,
      fps: this.#windowFps,
      latencyMs: result.latencyMs,
    };
  }

  /**
   * Who was seen, for how long: a known name over all its tracks; each
   * track that never had a name as an unknown person of its own (a named
   * track's unknown frames are that person not recognised yet). A stretch
   * of n frames from `first` to `last` lasted `(last - first) * n / (n - 1)`:
   * one more frame's time.
   */
  people(): PersonSeen[] {
    const named = new Set<number>();
    for (const { name, track } of this.#stretches.values()) {
      if (name !== UNKNOWN) named.add(track);
    }
    const people = new Map<string, PersonSeen>();
    for (const stretch of this.#stretches.values()) {
      const { name, track, first, last, frames } = stretch;
      if (name === UNKNOWN && named.has(track)) continue;
      const seconds = frames > 1 ? (last - first) * frames / (frames - 1) : 0;
      const key = name === UNKNOWN ? `${name} ${track}` : name;
      const person = people.get(key) ??
        { name, known: name !== UNKNOWN, seconds: 0, tracks: [] };
      person.seconds += seconds;
      if (!person.tracks.includes(track)) person.tracks.push(track);
      people.set(key, person);
    }
    return [...people.values()].sort((a, b) => b.seconds - a.seconds);
  }

  /** The session's summary, with the counts kept elsewhere. */
  summary(
    counts: { dropped: number; reconnects: number },
  ): SessionSummary {
    const ended = this.ended ?? performance.now();
    const started = this.started ?? ended;
    const seconds = (ended - started) / 1000;
    return {
      frames: this.frames,
      framesWithFaces: this.framesWithFaces,
      seconds,
      fps: seconds > 0 ? this.frames / seconds : 0,
      latency: {
        p50: percentile(this.#latencies, 50),
        p95: percentile(this.#latencies, 95),
        mean: mean(this.#latencies),
      },
      ...counts,
      seen: Object.fromEntries(this.#seen),
      ...(this.#tracking ? { people: this.people() } : {}),
      started,
      ended,
    };
  }
}
