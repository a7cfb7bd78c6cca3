/**
 * Tracks: the same face followed from frame to frame, so that its name comes
 * from the evidence of all its frames instead of each frame on its own, and
 * so that the server recognises it, and looks for it in the whole frame,
 * only where that counts.
 *
 * A client session keeps one {@linkcode Tracker} per camera and, per frame:
 * 1. asks it for the frame's {@linkcode Tracker.hints} (where each track
 *    should be now, and whether its face may skip the recogniser) and
 *    whether the frame needs a {@linkcode Tracker.fullScan} (else the
 *    server looks only around the hints), which go with the request
 *    (protocol version 2);
 * 2. gives it the reply's faces, in frame order ({@linkcode Tracker.update}),
 *    and gets them back as {@linkcode TrackedFace}s: with the track's id,
 *    name, whether the name is settled, and how sure it is.
 *
 * The rules, with the constants of {@linkcode TRACK_RULES}:
 * - **Following.** A face belongs to the track the server matched it to
 *   (the hint it overlapped), else to the track whose predicted box it
 *   overlaps best (IoU at least 0.3, one face per track, lib/tracking/boxes.ts).
 *   A track predicts its box at constant velocity (its centre's speed, a
 *   running average) and survives missed detections: it is lost after more
 *   than 10 frames or 0.5 s without its face, whichever comes first. A face
 *   matching no track starts one.
 * - **Naming** (lib/tracking/_evidence.ts). Each recognised face is a vote
 *   weighted by its distance relative to the recogniser's threshold; votes
 *   fade as new ones come. A person with clear evidence names the track;
 *   one contrary answer never renames it, sustained ones do; a track without
 *   clear evidence for anybody is `unknown`.
 * - **Recognising where it counts.** A track's face is recognised in every
 *   frame until 3 answers in a row agree with its name (settled), then once
 *   a second (an `unknown` track four times a second: it is often a known
 *   person not recognisable yet), and again at once when its face no longer
 *   looks as it did when last recognised (lib/tracking/appearance.ts): a
 *   settled track's hint says `skip` otherwise.
 * - **Looking where it counts.** Between full scans the server looks for
 *   faces only around the hints (about 2 ms a frame against 12-20 for the
 *   whole frame), and searches the whole frame itself when a hint finds no
 *   face (the face moved off its prediction, or the search near it missed
 *   what a full one finds). The tracker asks for a full scan when there is
 *   no track, when an answer started a track (a face came: others may come
 *   with it) or lost one, when the caller sees the picture changed where
 *   the search around the tracks does not look (lib/tracking/scene.ts: a
 *   face may have come), and at least every 0.16 s (every 5th frame at 30
 *   fps). On samples/sample.mp4, with 2 frames in flight, that is 88 full
 *   scans asked for and 31 made by the server in 300 frames, 5 ms of
 *   detection a frame instead of 13, and all 343 of its faces found, as by
 *   a full scan of every frame; on faces of 30-90 px crossing photos, 88
 *   and 79, 16 ms instead of 24, 795 of 798 faces (796)
 *   (tools/eval_track_scan.ts).
 *
 * Pure logic: no clock, no pictures; times and looks come from the caller.
 *
 * @module
 */

import { UNKNOWN } from "../face/naming.ts";
import type { Box } from "../images/image.ts";
import type { ReplyFace, TrackHint } from "../protocol/binary.ts";
import { DEFAULT_LIMITS } from "../protocol/errors.ts";
import {
  Evidence,
  NAMING_RULES,
  type NamingRules,
  voteWeight,
} from "./_evidence.ts";
import { similarity } from "./appearance.ts";
import { matchBoxes, MIN_IOU } from "./boxes.ts";

export { UNKNOWN };

/** The tracker's constants: following, re-checking, and naming. */
export interface TrackRules extends NamingRules {
  /** Smallest IoU between a face and a track's predicted box. */
  minIou: number;
  /** A track missed in more frames than this in a row is lost. */
  maxMissedFrames: number;
  /** A track missed for longer than this (seconds) is lost. */
  maxMissedSeconds: number;
  /** Weight of the newest speed in a track's running average, 0..1. */
  velocityGain: number;
  /** A settled named track is recognised again after this many seconds. */
  recheckSeconds: number;
  /**
   * A settled `unknown` track is recognised again after this many seconds:
   * sooner than a named one, as an unknown face is often a known person not
   * recognisable yet (far, turned away).
   */
  recheckUnknownSeconds: number;
  /**
   * A settled track whose face's look (lib/tracking/appearance.ts) is less
   * similar than this to its look when last recognised is recognised again.
   */
  minSimilarity: number;
  /**
   * Share of a track's evidence kept when an answer disagrees with its name
   * and its face no longer looks as it did (see `minSimilarity`).
   */
  keepOnNewLook: number;
  /** Most hints per request (the most recently seen tracks). */
  maxHints: number;
  /**
   * Most seconds between full scans of the frame; in between, the server
   * looks only around the tracks (see {@linkcode Tracker.fullScan}).
   */
  fullScanSeconds: number;
}

/**
 * The tracker's constants. Ten frames or half a second bridges a detector
 * that misses a face for a few frames without keeping a ghost track where a
 * new person may soon stand; one re-check a second bounds how long a wrong
 * settled name can last when the face does not look different.
 * `minSimilarity` 0.6: on the two bundled clips, a face compared at its
 * predicted box with its look when last recognised stays above 0.67 in 95%
 * of frames (median 0.94), so few re-checks are wasted; ORL faces of
 * different people in the same box are below 0.64 (median 0.25).
 */
export const TRACK_RULES: Readonly<TrackRules> = {
  ...NAMING_RULES,
  minIou: MIN_IOU,
  maxMissedFrames: 10,
  maxMissedSeconds: 0.5,
  velocityGain: 0.5,
  recheckSeconds: 1,
  recheckUnknownSeconds: 0.25,
  minSimilarity: 0.6,
  keepOnNewLook: 0.2,
  maxHints: DEFAULT_LIMITS.maxHints,
  fullScanSeconds: 0.16,
};

/**
 * A face of a frame with its track: what the session draws, prints and
 * shows. `label` and `distance` stay this frame's recogniser answer (`""`
 * and NaN when the server skipped it); `name` is the track's.
 */
export interface TrackedFace extends ReplyFace {
  /** The track's id, 1..2^32-1, the same in every frame of the track. */
  track: number;
  /** The track's name: a person's, or `unknown`. */
  name: string;
  /** The name has the last few answers behind it (re-checked once a second). */
  settled: boolean;
  /** How sure the track is of its name, 0..1. */
  confidence: number;
}

/** A track that ended: its face was not seen for too long. */
export interface LostTrack {
  /** The track's id. */
  track: number;
  /** Its name when it ended. */
  name: string;
  /** Where its face was last seen. */
  box: Box;
  /** When its face was first and last seen (the caller's seconds). */
  firstSeen: number;
  /** See `firstSeen`. */
  lastSeen: number;
}

/** What one frame did to the tracks. */
export interface TrackUpdate {
  /** The frame's faces, in the order given, each with its track. */
  faces: TrackedFace[];
  /** Tracks that ended with this frame. */
  lost: LostTrack[];
}

/**
 * The look of the face at a box in the frame at hand (`lookAt` of
 * lib/tracking/appearance.ts on the frame's picture); undefined when it
 * cannot tell.
 */
export type LookAt = (box: Box) => Float32Array | undefined;

/** Options of {@linkcode Tracker.update}. */
export interface UpdateOptions {
  /** The frame's time in seconds, on any clock that never goes back. */
  time: number;
  /** The recogniser's unknown threshold, from a version 2 reply. */
  threshold?: number;
  /** Looks in this frame, kept for recognised faces. */
  look?: LookAt;
}

/** Options of {@linkcode Tracker.hints}. */
export interface HintOptions {
  /** Looks in the frame the hints go with; without it looks are not compared. */
  look?: LookAt;
  /**
   * The frame will be scanned whole ({@linkcode Tracker.fullScan}): re-checks
   * due by time wait for a cheaper frame, a little.
   */
  fullScan?: boolean;
}

/** Options of {@linkcode Tracker.fullScan}. */
export interface FullScanOptions {
  /**
   * Whether the frame's picture changed, since the last full scan, away
   * from the tracks at these boxes: something new may be in view.
   */
  changedAway?: (boxes: Box[]) => boolean;
}

/** Why a track's face is recognised in a frame, or not (`skip`). */
interface Need {
  kind: "settling" | "look" | "time" | "skip";
  /** Seconds past its re-check time. */
  overdue: number;
}

/**
 * A re-check due by time is put off (to a frame without another re-check,
 * not scanned whole) by at most this many seconds: 3 frames at 30 fps.
 */
const MAX_RECHECK_DELAY = 0.1;
/**
 * A re-check asked for is not asked again for this long, waiting for its
 * answer: two frames in flight at 30 fps and the server's time.
 */
const ANSWER_WAIT = 0.2;

/** Options of {@linkcode Tracker}. */
export interface TrackerOptions {
  /** Constants to change (tests, tools). */
  rules?: Partial<TrackRules>;
}

/** One track's state, for reports and tests. */
export interface TrackState {
  /** The track's id. */
  track: number;
  /** Its name. */
  name: string;
  /** Whether the name is settled. */
  settled: boolean;
  /** Its last seen box. */
  box: Box;
  /** Frames in a row it was missed. */
  missed: number;
  /** Recogniser answers it took. */
  answers: number;
}

interface Track {
  id: number;
  /** Last seen box. */
  box: Box;
  /** Speed of the box's centre, pixels per second. */
  vx: number;
  vy: number;
  /** Steps its speed was measured on. */
  moves: number;
  firstSeen: number;
  lastSeen: number;
  missed: number;
  evidence: Evidence;
  /** When it was last recognised (-Infinity: never). */
  recognisedAt: number;
  /** When a hint last asked for it to be recognised again (-Infinity: never). */
  askedAt: number;
  /** Its look when last recognised. */
  look?: Float32Array;
}

const U32_MAX = 0xffffffff;

/** Follows the faces of one camera; see the module doc. */
export class Tracker {
  #rules: TrackRules;
  #tracks: Track[] = [];
  #nextId = 1;
  /** When the last full scan was asked for (-Infinity: never). */
  #lastFullScan = -Infinity;
  /** An answer since the last full scan asks for one (see `fullScan`). */
  #scanDue = true;

  /** An empty tracker. */
  constructor(options: TrackerOptions = {}) {
    this.#rules = { ...TRACK_RULES, ...options.rules };
  }

  /** The live tracks. */
  get tracks(): TrackState[] {
    return this.#tracks.map((t) => ({
      track: t.id,
      name: t.evidence.name,
      settled: t.evidence.settled,
      box: { ...t.box },
      missed: t.missed,
      answers: t.evidence.answers,
    }));
  }

  /**
   * The hints for the frame at `time` (seconds): each live track at its
   * predicted box, with `skip` when its name is settled, it was recognised
   * less than `recheckSeconds` ago, and (given `look`) its face still looks
   * as it did then. The most recently seen tracks first, at most `maxHints`.
   *
   * Call once per request, in frame order: a settled track's re-check
   * goes out once, not again in the frames sent before its answer is in.
   * Re-checks that are only due by time are spread out: at most one a
   * frame (the most overdue first), none on a frame that is scanned whole
   * (`fullScan`) or recognises another face anyway (a track settling or
   * looking different), as long as they are due by less than 0.1 s. A
   * resnet face costs about as much as a full scan, so that keeps the
   * slowest frames cheaper.
   */
  hints(time: number, options: HintOptions = {}): TrackHint[] {
    const rules = this.#rules;
    const tracks = [...this.#tracks]
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .slice(0, rules.maxHints);
    const boxes = tracks.map((track) => wireBox(this.#predict(track, time)));
    const needs = tracks.map((track, i) =>
      this.#need(track, time, boxes[i], options.look)
    );
    // Time-due re-checks, most overdue first, take turns.
    let busy = options.fullScan === true ||
      needs.some((n) => n.kind === "look" || n.kind === "settling");
    const order = needs.map((_, i) => i)
      .filter((i) => needs[i].kind === "time")
      .sort((a, b) => needs[b].overdue - needs[a].overdue);
    for (const i of order) {
      if (busy && needs[i].overdue < MAX_RECHECK_DELAY) {
        needs[i] = { kind: "skip", overdue: 0 };
      } else busy = true;
    }
    return tracks.map((track, i) => {
      const { kind } = needs[i];
      if (kind === "look" || kind === "time") track.askedAt = time;
      return { track: track.id, ...boxes[i], skip: kind === "skip" };
    });
  }

  /**
   * Whether the frame at `time` (seconds) should be searched whole, rather
   * than only around its hints (protocol version 2's `tracks only`): when
   * there is no track, when an answer since the last full scan started or
   * lost a track, once `fullScanSeconds` have passed since the last one,
   * and when
   * `changedAway` says the picture changed away from the tracks (given
   * their boxes now; lib/tracking/scene.ts). Ask once per request, in
   * frame order, with the same tracks as its hints: a true answer counts
   * as the full scan done at `time`.
   */
  fullScan(time: number, options: FullScanOptions = {}): boolean {
    const due = this.#tracks.length === 0 || this.#scanDue ||
      // A frame of a 30 fps clip is 1/30 s, which floats do not add up to
      // exactly: a microsecond early is on time.
      time - this.#lastFullScan >= this.#rules.fullScanSeconds - 1e-6 ||
      options.changedAway?.(
          this.#tracks.map((track) => wireBox(this.#predict(track, time))),
        ) === true;
    if (due) {
      this.#lastFullScan = time;
      this.#scanDue = false;
    }
    return due;
  }

  /**
   * Takes the faces of the next frame (frames in order; `faces` as the
   * server sent them) and returns them with their tracks, and the tracks
   * that ended.
   */
  update(faces: readonly ReplyFace[], options: UpdateOptions): TrackUpdate {
    const rules = this.#rules;
    const { time } = options;
    const owner = new Array<Track | undefined>(faces.length);
    const taken = new Set<Track>();
    // The server's matching first: a face it did not recognise has only
    // its track to go by.
    const byId = new Map(this.#tracks.map((t) => [t.id, t]));
    faces.forEach((face, i) => {
      const track = face.track ? byId.get(face.track) : undefined;
      if (track && !taken.has(track)) {
        owner[i] = track;
        taken.add(track);
      }
    });
    const free = this.#tracks.filter((t) => !taken.has(t));
    const rest = faces.map((_, i) => i).filter((i) => !owner[i]);
    const match = matchBoxes(
      rest.map((i) => faces[i]),
      free.map((t) => this.#predict(t, time)),
      { minIou: rules.minIou },
    );
    rest.forEach((i, k) => {
      if (match[k] < 0) return;
      owner[i] = free[match[k]];
      taken.add(free[match[k]]);
    });

    const tracked = faces.map((face, i): TrackedFace => {
      if (!owner[i]) this.#scanDue = true;
      const track = owner[i]
        ? this.#follow(owner[i], face, time)
        : this.#start(face, time);
      if (face.recognised !== false) {
        const look = options.look?.(face);
        // Another face in the same place (one person stepping into
        // another's): the old evidence is about somebody else.
        if (
          look && track.look && face.label !== track.evidence.name &&
          similarity(look, track.look) < rules.minSimilarity
        ) {
          track.evidence.fade(rules.keepOnNewLook);
        }
        track.evidence.add(
          face.label,
          voteWeight(face.distance, options.threshold, rules),
        );
        track.recognisedAt = time;
        track.look = look ?? track.look;
      }
      const { evidence } = track;
      return {
        ...face,
        track: track.id,
        name: evidence.name,
        settled: evidence.settled,
        confidence: evidence.confidence,
      };
    });

    const present = new Set(tracked.map((f) => f.track));
    const lost: LostTrack[] = [];
    this.#tracks = this.#tracks.filter((track) => {
      if (present.has(track.id)) return true;
      track.missed++;
      const gone = track.missed > rules.maxMissedFrames ||
        time - track.lastSeen > rules.maxMissedSeconds;
      if (gone) {
        this.#scanDue = true;
        lost.push(ended(track));
      }
      return !gone;
    });
    return { faces: tracked, lost };
  }

  /**
   * Has the track's face recognised in the next frame whatever its last
   * answer and look: the recogniser just learned something about it (a
   * name was enrolled for it), which the re-check timer would show only
   * later. False when the track is not alive.
   */
  recheck(track: number): boolean {
    const found = this.#tracks.find((t) => t.id === track);
    if (found) found.recognisedAt = -Infinity;
    return found !== undefined;
  }

  /**
   * Ends every track (the session is over): returns them as lost, so that
   * each one that appeared also leaves.
   */
  endAll(): LostTrack[] {
    const lost = this.#tracks.map(ended);
    this.#tracks = [];
    return lost;
  }

  /**
   * Whether `track`'s face should be recognised in the frame at `time`:
   * `settling` (not settled yet: every frame), `look` (it looks different),
   * `time` (its re-check is `overdue` seconds late), or `skip`.
   */
  #need(track: Track, time: number, box: Box, look?: LookAt): Need {
    const { name, settled } = track.evidence;
    if (!settled) return { kind: "settling", overdue: 0 };
    // A re-check asked for in an earlier frame is on its way: in-flight
    // frames would ask again before its answer comes.
    if (
      Number.isFinite(track.recognisedAt) &&
      track.askedAt > track.recognisedAt &&
      time - track.askedAt < ANSWER_WAIT
    ) {
      return { kind: "skip", overdue: 0 };
    }
    const every = name === UNKNOWN
      ? this.#rules.recheckUnknownSeconds
      : this.#rules.recheckSeconds;
    const overdue = time - track.recognisedAt - every;
    if (look && track.look) {
      const now = look(box);
      if (
        now !== undefined &&
        similarity(now, track.look) < this.#rules.minSimilarity
      ) {
        return { kind: "look", overdue };
      }
    }
    return overdue >= 0 ? { kind: "time", overdue } : { kind: "skip", overdue };
  }

  /** Where `track`'s box should be at `time`. */
  #predict(track: Track, time: number): Box {
    const dt = Math.min(
      Math.max(0, time - track.lastSeen),
      this.#rules.maxMissedSeconds,
    );
    return {
      x: track.box.x + track.vx * dt,
      y: track.box.y + track.vy * dt,
      w: track.box.w,
      h: track.box.h,
    };
  }

  /** Moves `track` to `face`, updating its speed. */
  #follow(track: Track, face: Box, time: number): Track {
    const dt = time - track.lastSeen;
    if (dt > 0) {
      const gain = this.#rules.velocityGain;
      const vx = (centre(face).x - centre(track.box).x) / dt;
      const vy = (centre(face).y - centre(track.box).y) / dt;
      // The first step sets the speed; later ones average with it.
      const first = track.moves === 0;
      track.vx = first ? vx : gain * vx + (1 - gain) * track.vx;
      track.vy = first ? vy : gain * vy + (1 - gain) * track.vy;
      track.moves++;
    }
    track.box = { x: face.x, y: face.y, w: face.w, h: face.h };
    track.lastSeen = Math.max(track.lastSeen, time);
    track.missed = 0;
    return track;
  }

  /** A new track at `face`. */
  #start(face: Box, time: number): Track {
    const track: Track = {
      id: this.#newId(),
      box: { x: face.x, y: face.y, w: face.w, h: face.h },
      vx: 0,
      vy: 0,
      moves: 0,
      firstSeen: time,
      lastSeen: time,
      missed: 0,
      evidence: new Evidence(this.#rules),
      recognisedAt: -Infinity,
      askedAt: -Infinity,
    };
    this.#tracks.push(track);
    return track;
  }

  /** The next id, 1..2^32-1 (0 means "no track" on the wire), not in use. */
  #newId(): number {
    const used = new Set(this.#tracks.map((t) => t.id));
    let id = this.#nextId;
    while (used.has(id)) id = id >= U32_MAX ? 1 : id + 1;
    this.#nextId = id >= U32_MAX ? 1 : id + 1;
    return id;
  }
}

function ended(track: Track): LostTrack {
  return {
    track: track.id,
    name: track.evidence.name,
    box: { ...track.box },
    firstSeen: track.firstSeen,
    lastSeen: track.lastSeen,
  };
}

function centre(box: Box): { x: number; y: number } {
  return { x: box.x + box.w / 2, y: box.y + box.h / 2 };
}

/** A box with the whole, non-negative numbers a hint carries. */
function wireBox(box: Box): Box {
  return {
    x: Math.round(box.x),
    y: Math.round(box.y),
    w: Math.max(0, Math.round(box.w)),
    h: Math.max(0, Math.round(box.h)),
  };
}
