/**
 * Who came and who went, from a camera's tracks: a person `appeared` once
 * their track's name is settled (or the track has lasted a second without
 * settling), and `left` when the track ends. A settled track that changes
 * name (somebody else now stands there) leaves under the old name and
 * appears under the new one. Tracks that never last long enough to be
 * announced (a false detection, a face passing through the edge of the
 * picture) make no events.
 *
 * Pure: {@linkcode TrackEvents} turns the tracker's updates into events;
 * `publisher.ts` sends them.
 *
 * @module
 */

import type { Box } from "../images/image.ts";
import {
  type LostTrack,
  type TrackedFace,
  type TrackUpdate,
  UNKNOWN,
} from "../tracking/tracker.ts";

/** The kinds of event, also the topic (first message part) they are sent under. */
export type TrackEventKind = "appeared" | "left";

/** One event, as published (JSON). */
export interface TrackEvent {
  /** What happened. */
  event: TrackEventKind;
  /** The person's name, or `unknown`. */
  name: string;
  /** False for an unknown person. */
  known: boolean;
  /** The camera (client) that saw it. */
  camera: string;
  /** The track: the same number in a person's `appeared` and `left`. */
  track: number;
  /** When it was seen, ISO 8601 (UTC). */
  time: string;
  /** Where the face was (pixels of the frame sent). */
  box: Box;
}

/**
 * A track is announced at the latest after this many seconds, settled or
 * not, with the name it has then.
 */
export const ANNOUNCE_AFTER_SECONDS = 1;

/** Options of {@linkcode TrackEvents}. */
export interface TrackEventsOptions {
  /** The camera's name, in every event. */
  camera: string;
  /** The wall clock for `time`. Default `() => new Date()`. */
  clock?: () => Date;
}

interface Announced {
  /** The name announced, if any yet. */
  name?: string;
  /** The track's time (tracker seconds) when first seen here. */
  since: number;
}

/** Turns tracker updates into `appeared` / `left` events. */
export class TrackEvents {
  #camera: string;
  #clock: () => Date;
  #tracks = new Map<number, Announced>();

  /** Events for the camera `options.camera`. */
  constructor(options: TrackEventsOptions) {
    this.#camera = options.camera;
    this.#clock = options.clock ?? (() => new Date());
  }

  /**
   * The events of one tracker update at tracker time `time` (seconds):
   * appearances of tracks that may now be announced, renamings, and
   * departures of lost tracks that had been announced.
   */
  frame(update: TrackUpdate, time: number): TrackEvent[] {
    const now = this.#clock().toISOString();
    const events: TrackEvent[] = [];
    for (const face of update.faces) {
      let state = this.#tracks.get(face.track);
      if (!state) {
        state = { since: time };
        this.#tracks.set(face.track, state);
      }
      const due = state.name === undefined
        ? face.settled || time - state.since >= ANNOUNCE_AFTER_SECONDS
        : face.settled && face.name !== state.name;
      if (!due) continue;
      if (state.name !== undefined) {
        events.push(this.#event("left", state.name, face, now));
      }
      state.name = face.name;
      events.push(this.#event("appeared", face.name, face, now));
    }
    events.push(...this.#leave(update.lost, now));
    return events;
  }

  /** `left` events for tracks ended without an update (the session is over). */
  end(lost: readonly LostTrack[]): TrackEvent[] {
    return this.#leave(lost, this.#clock().toISOString());
  }

  #leave(lost: readonly LostTrack[], now: string): TrackEvent[] {
    const events: TrackEvent[] = [];
    for (const track of lost) {
      const state = this.#tracks.get(track.track);
      this.#tracks.delete(track.track);
      if (state?.name === undefined) continue;
      events.push(
        this.#event(
          "left",
          state.name,
          { track: track.track, ...track.box },
          now,
        ),
      );
    }
    return events;
  }

  #event(
    event: TrackEventKind,
    name: string,
    face: Pick<TrackedFace, "track" | "x" | "y" | "w" | "h">,
    time: string,
  ): TrackEvent {
    return {
      event,
      name,
      known: name !== UNKNOWN,
      camera: this.#camera,
      track: face.track,
      time,
      box: { x: face.x, y: face.y, w: face.w, h: face.h },
    };
  }
}
