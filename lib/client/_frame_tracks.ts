/**
 * The session's side of tracking: the tracker and the scene watch of one
 * camera, on the session's clock, before a request (hints, full scan or
 * not) and after its reply (the update).
 *
 * @module
 */

import type { FrameReply, TrackHint } from "../protocol/binary.ts";
import { lookAt } from "../tracking/appearance.ts";
import { SceneWatch } from "../tracking/scene.ts";
import { Tracker, type TrackUpdate } from "../tracking/tracker.ts";
import type { Shot } from "./_shots.ts";

/** What a request carries for the tracks. */
export interface TrackPlan {
  hints: TrackHint[];
  /** The server looks for faces only around the hints. */
  tracksOnly: boolean;
}

/** A session's tracker, scene watch and clock. */
export class FrameTracks {
  #tracker = new Tracker();
  #scene = new SceneWatch();
  #live: boolean;
  #frameSeconds: number;
  /** The time of the last frame answered, seconds. */
  lastTime = 0;

  /**
   * `live`: the wall clock; else a file's own clock, frame number at `fps`,
   * since frames come as fast as answers, not at the file's rate.
   */
  constructor(options: { live: boolean; fps: number }) {
    this.#live = options.live;
    this.#frameSeconds = 1 / options.fps;
  }

  /** The time of `shot` on the tracker's clock, seconds. */
  timeOf(shot: Shot): number {
    return this.#live ? shot.at / 1000 : shot.index * this.#frameSeconds;
  }

  /**
   * Where the tracks should be in `shot`, and which faces need the
   * recogniser; call before anything is drawn on its picture.
   */
  plan(shot: Shot): TrackPlan {
    const picture = shot.picture;
    const time = this.timeOf(shot);
    // Between full scans the server looks only around the tracks, unless
    // the picture changed where that search does not look.
    const tracksOnly = !this.#tracker.fullScan(time, {
      changedAway: (boxes) => this.#scene.changedAway(picture, boxes),
    });
    const hints = this.#tracker.hints(time, {
      look: (box) => lookAt(picture, box),
      fullScan: !tracksOnly,
    });
    return { hints, tracksOnly };
  }

  /**
   * Feeds the reply to `shot` to the tracker; `tracksOnly` as planned.
   * Call before the boxes are drawn: looks are taken from the picture.
   */
  update(
    shot: Shot,
    reply: FrameReply,
    options: { tracksOnly: boolean },
  ): TrackUpdate {
    const time = this.timeOf(shot);
    this.lastTime = time;
    const update = this.#tracker.update(reply.faces, {
      time,
      threshold: reply.threshold,
      look: (box) => lookAt(shot.picture, box),
    });
    // The tracks now hold what this full scan found.
    if (!options.tracksOnly) this.#scene.scanned(shot.picture);
    return update;
  }

  /**
   * Has the server recognise `track` again (its person was just enrolled);
   * false when no such track is alive.
   */
  recheck(track: number): boolean {
    return this.#tracker.recheck(track);
  }

  /** Whoever is still in view leaves: the last update, at `lastTime`. */
  endAll(): TrackUpdate {
    return { faces: [], lost: this.#tracker.endAll() };
  }
}
