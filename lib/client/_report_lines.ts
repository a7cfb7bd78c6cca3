/**
 * A session's results as text: the JSON line of each frame and the lines
 * that end a session's log.
 *
 * @module
 */

import type { FrameResult, SessionSummary } from "./session.ts";

/**
 * The end-of-session lines for a log: `done: ...` for people and
 * `summary: {json}` for scripts.
 */
export function summaryLines(summary: SessionSummary): string[] {
  const ms = (value: number) =>
    Number.isFinite(value) ? `${value.toFixed(1)} ms` : "n/a";
  const seen = Object.entries(summary.seen).sort((a, b) => b[1] - a[1]);
  // With tracks: who, and how long; without: labels, in how many frames.
  const who = summary.people
    ? summary.people.map((p) =>
      `${p.known ? p.name : `${p.name} #${p.tracks[0]}`} ${
        p.seconds.toFixed(1)
      } s`
    )
    : seen.map(([label, n]) => `${label} (${n} frames)`);
  return [
    `done: ${summary.frames} frames in ${summary.seconds.toFixed(2)} s, ${
      summary.fps.toFixed(1)
    } fps, latency p50 ${ms(summary.latency.p50)}, p95 ${
      ms(summary.latency.p95)
    }, ${summary.dropped} frames dropped; ` +
    (who.length
      ? `faces in ${summary.framesWithFaces} frames: ${who.join(", ")}`
      : "no faces"),
    `summary: ${
      JSON.stringify({
        frames: summary.frames,
        frames_with_faces: summary.framesWithFaces,
        seconds: round(summary.seconds, 2),
        fps: round(summary.fps, 1),
        latency_p50_ms: round(summary.latency.p50, 1),
        latency_p95_ms: round(summary.latency.p95, 1),
        latency_mean_ms: round(summary.latency.mean, 1),
        dropped: summary.dropped,
        reconnects: summary.reconnects,
        seen: summary.seen,
        ...(summary.people
          ? {
            people: summary.people.map((p) => ({
              ...p,
              seconds: round(p.seconds, 2),
            })),
          }
          : {}),
      })
    }`,
  ];
}

/**
 * One `--json` line: `{"frame":12,"faces":[...],"latency_ms":18.4}`. Each
 * face has the server's `label` and `distance` for this frame (null when
 * the server skipped it) and, with tracking, its `track` and the track's
 * `name`.
 */
export function jsonLine(result: FrameResult): string {
  return JSON.stringify({
    frame: result.frame,
    faces: result.faces.map((f, i) => {
      const tracked = result.tracked?.[i];
      return {
        x: f.x,
        y: f.y,
        w: f.w,
        h: f.h,
        label: f.recognised === false ? null : f.label,
        distance: round(f.distance, 3),
        ...(tracked ? { track: tracked.track, name: tracked.name } : {}),
      };
    }),
    latency_ms: round(result.latencyMs, 2),
  });
}

/** Rounds for JSON; NaN (no frames) becomes null. */
function round(value: number, digits: number): number | null {
  return Number.isFinite(value) ? Number(value.toFixed(digits)) : null;
}
