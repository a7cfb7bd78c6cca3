/**
 * The session's loop: up to `inFlight` frames at the server at once, their
 * answers finished in the order the frames were sent, so that results stay
 * in frame order. A new frame is read only when a slot is free: live, that
 * is the newest one, and none waits in a queue.
 *
 * @module
 */

import type { SentRequest } from "./_request.ts";
import type { Shot } from "./_shots.ts";

/** A frame's request and the reply to it. */
export interface Answer {
  shot: Shot;
  sent: SentRequest;
  parts: Uint8Array[];
  receivedAt: number;
}

/** What the loop does with a frame at each step. */
export interface InFlightSteps {
  /** The next frame, or null when the source ended. */
  read(): Promise<Shot | null>;
  /** Sends a frame (or a newer one in its place) and waits for the reply. */
  send(shot: Shot): Promise<Answer>;
  /** Decodes, shows and reports an answer, in frame order. */
  finish(answer: Answer): Promise<void>;
  /** Called with each frame read, before it is sent. */
  onRead?(shot: Shot): void;
}

/** How the loop ended. */
export interface InFlightEnd {
  /** Answers not finished because a newer frame's had been. */
  stale: number;
  /** What went wrong, if anything (undefined after a normal end or a stop). */
  failure: unknown;
}

/**
 * Runs the steps until the source ends, `limit` frames are sent and
 * answered, `signal` aborts or a step fails.
 */
export async function runInFlight(
  steps: InFlightSteps,
  options: { inFlight: number; limit: number; signal?: AbortSignal },
): Promise<InFlightEnd> {
  const { inFlight, limit, signal } = options;
  const waiting: Promise<Answer>[] = [];
  let reading: Promise<Shot | null> | null = null;
  let sourceEnded = false;
  let sentFrames = 0;
  let lastShown = -1; // seq of the last frame shown
  let stale = 0;
  let failure: unknown;
  try {
    while (!signal?.aborted) {
      if (
        reading === null && !sourceEnded && waiting.length < inFlight &&
        sentFrames < limit
      ) {
        reading = steps.read();
      }
      if (reading === null && waiting.length === 0) break;
      const next = await Promise.race<{ read: Shot | null } | Answer>([
        ...(reading ? [reading.then((read) => ({ read }))] : []),
        ...(waiting.length ? [waiting[0]] : []),
      ]);
      if ("read" in next) {
        reading = null;
        if (next.read === null) {
          sourceEnded = true;
          continue;
        }
        steps.onRead?.(next.read);
        const answer = steps.send(next.read);
        answer.catch(() => {}); // observed in turn, or left by a stop
        waiting.push(answer);
        sentFrames++;
        continue;
      }
      waiting.shift();
      // Live, a retry may have swapped in a newer frame than a later
      // request's: an answer older than one shown is never shown.
      if (next.shot.seq <= lastShown) {
        stale++;
        continue;
      }
      lastShown = next.shot.seq;
      await steps.finish(next);
    }
  } catch (error) {
    if (!signal?.aborted) failure = error;
  }
  return { stale, failure };
}
