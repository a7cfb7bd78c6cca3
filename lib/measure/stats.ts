/**
 * Small running statistics for the stats lines and end-of-run summaries:
 * frame counts, rates, latency percentiles, and the periodic report the
 * server, remote workers and worker threads make of them.
 *
 * @module
 */

/** Returns the p-th percentile (0..100) of `values` by linear interpolation, or NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (Math.min(Math.max(p, 0), 100) / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

/** Arithmetic mean, or NaN when empty. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/**
 * Collects named per-frame durations (milliseconds) and reports their means
 * since the last reset, plus the frame rate over that window.
 */
export class StageStats {
  #sums = new Map<string, number>();
  #frames = 0;
  #errors = 0;
  #since = performance.now();

  /** Records one frame's durations, e.g. `{ detect: 4.1, recognise: 0.8 }`. */
  add(durations: Record<string, number>): void {
    this.addTotals(1, durations);
  }

  /** Records `frames` frames at once, given their summed durations per stage. */
  addTotals(frames: number, sums: Record<string, number>): void {
    this.#frames += frames;
    for (const [name, ms] of Object.entries(sums)) {
      this.#sums.set(name, (this.#sums.get(name) ?? 0) + ms);
    }
  }

  /** Records `count` refused requests (an error reply, no timings). */
  addErrors(count = 1): void {
    this.#errors += count;
  }

  /** Frames recorded since the last reset. */
  get frames(): number {
    return this.#frames;
  }

  /** Refused requests since the last reset. */
  get errors(): number {
    return this.#errors;
  }

  /** Frames per second since the last reset. */
  fps(now: number = performance.now()): number {
    const seconds = (now - this.#since) / 1000;
    return seconds > 0 ? this.#frames / seconds : 0;
  }

  /** Summed milliseconds per stage since the last reset. */
  totals(): Record<string, number> {
    return Object.fromEntries(this.#sums);
  }

  /** Mean milliseconds per stage since the last reset. */
  means(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, sum] of this.#sums) {
      out[name] = this.#frames > 0 ? sum / this.#frames : 0;
    }
    return out;
  }

  /** One human-readable line: frames, fps and ms per stage. */
  line(): string {
    const stages = Object.entries(this.means())
      .map(([name, ms]) => `${name} ${ms.toFixed(1)}`)
      .join(", ");
    return `${this.#frames} frames, ${this.fps().toFixed(1)} fps` +
      (stages ? `, ms/frame: ${stages}` : "");
  }

  /** Starts a new window. */
  reset(): void {
    this.#sums.clear();
    this.#frames = 0;
    this.#errors = 0;
    this.#since = performance.now();
  }
}

/** Options for {@linkcode reportEvery}. */
export interface ReportOptions {
  /** Milliseconds between reports; 0 or less reports nothing. */
  intervalMs: number;
  /** Gets the window's statistics; the window is reset afterwards. */
  report: (stats: StageStats) => void;
}

/** A running periodic report; dispose of it (or `stop()`) to end it. */
export interface StatsReport extends Disposable {
  /** Ends the report. */
  stop(): void;
}

/**
 * Every `intervalMs`, hands `stats` to `report` if a frame or an error was
 * recorded, then starts a new window: quiet windows print nothing.
 */
export function reportEvery(
  stats: StageStats,
  options: ReportOptions,
): StatsReport {
  const timer = options.intervalMs > 0
    ? setInterval(() => {
      if (stats.frames > 0 || stats.errors > 0) options.report(stats);
      stats.reset();
    }, options.intervalMs)
    : undefined;
  const stop = () => clearInterval(timer);
  return { stop, [Symbol.dispose]: stop };
}
