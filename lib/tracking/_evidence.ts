/**
 * A track's name from the recogniser's answers over its frames. Each answer
 * is a vote: a named answer for its person, weighted by how far inside the
 * recogniser's threshold its distance is; an `unknown` answer for nobody.
 * Older votes fade a little with each new answer, so that sustained contrary
 * evidence wins in a few answers while one odd answer never does.
 *
 * @module
 */

import { UNKNOWN } from "../face/naming.ts";

/** The constants of the naming rules (see {@linkcode Evidence.add}). */
export interface NamingRules {
  /**
   * A named answer at this fraction of the threshold below it (distance at
   * `1 - fullMargin` times the threshold or nearer) is a whole vote; nearer
   * the threshold it counts less, down to `minVote`.
   */
  fullMargin: number;
  /** The weakest named vote (an answer just under the threshold). */
  minVote: number;
  /** A named vote's weight when the threshold is not known (version 1 replies). */
  plainVote: number;
  /** An `unknown` answer's weight, for the confidence only. */
  unknownVote: number;
  /** Share of the evidence kept when a named answer comes in. */
  keepOnName: number;
  /** Share of the evidence kept when an `unknown` answer comes in. */
  keepOnUnknown: number;
  /** A person with this much evidence names a track. */
  clear: number;
  /** A named track whose person has less than this becomes `unknown`. */
  forget: number;
  /** Answers in a row agreeing with the name that settle it. */
  settleVotes: number;
  /**
   * Answers in a row for another person before a named track, or a track
   * that has settled once, takes that person's name.
   */
  switchVotes: number;
}

/**
 * The naming constants. With them, on a steady run of answers:
 * - a new face is named at once by an answer at 3/4 of the threshold or
 *   nearer, by 2 to 4 weaker ones (even the weakest votes add up to a name:
 *   a run of them tends to `minVote / (1 - keepOnName)`, above `clear`);
 * - a name is settled after 3 agreeing answers in a row;
 * - one answer for somebody else never renames a track; 2 in a row can, once
 *   they outweigh the name's faded evidence (2 to 3 answers for a settled
 *   name);
 * - a person settled on whole votes survives at least 5 `unknown` answers
 *   in a row (the recogniser unsure: a turned head, blur) and is forgotten
 *   at the 6th or 7th; on weaker votes, sooner.
 */
export const NAMING_RULES: Readonly<NamingRules> = {
  fullMargin: 0.5,
  minVote: 0.25,
  plainVote: 0.5,
  unknownVote: 0.5,
  keepOnName: 0.6,
  keepOnUnknown: 0.7,
  clear: 0.5,
  forget: 0.25,
  settleVotes: 3,
  switchVotes: 2,
};

/**
 * The weight of a named answer at `distance` for a recogniser whose unknown
 * threshold is `threshold` (undefined: not told).
 */
export function voteWeight(
  distance: number,
  threshold: number | undefined,
  rules: NamingRules = NAMING_RULES,
): number {
  if (
    threshold === undefined || !(threshold > 0) ||
    !Number.isFinite(threshold) || !Number.isFinite(distance)
  ) {
    return rules.plainVote;
  }
  const margin = 1 - distance / threshold;
  return Math.min(1, Math.max(rules.minVote, margin / rules.fullMargin));
}

/** The evidence for one track's name. */
export class Evidence {
  /** The track's name: a person's, or `unknown`. */
  name: string = UNKNOWN;
  /** The name has the last `settleVotes` answers behind it. */
  settled = false;
  /** Answers taken. */
  answers = 0;
  #rules: NamingRules;
  #scores = new Map<string, number>();
  #unknown = 0;
  #streak = { label: "", count: 0 };
  #everSettled = false;

  /** Evidence under `rules`. */
  constructor(rules: NamingRules = NAMING_RULES) {
    this.#rules = rules;
  }

  /**
   * Takes one recogniser answer (`label`, a person or `unknown`, with the
   * vote weight of a named answer) and decides the name again:
   * - a person with `clear` evidence, more than anybody else, names a track
   *   that has none (at once while the track has never settled, after
   *   `switchVotes` answers in a row once it has);
   * - another person replaces a name only with more evidence than it and
   *   `switchVotes` answers in a row;
   * - a name whose evidence fades below `forget` goes (to the leader if it
   *   may take over, else to `unknown`).
   */
  add(label: string, weight: number): void {
    const rules = this.#rules;
    const named = label !== UNKNOWN;
    const keep = named ? rules.keepOnName : rules.keepOnUnknown;
    for (const [person, score] of this.#scores) {
      this.#scores.set(person, score * keep);
    }
    this.#unknown *= keep;
    if (named) {
      this.#scores.set(label, (this.#scores.get(label) ?? 0) + weight);
    } else this.#unknown += rules.unknownVote;
    this.answers++;
    this.#streak = this.#streak.label === label
      ? { label, count: this.#streak.count + 1 }
      : { label, count: 1 };

    const leader = this.#leader();
    const lead = leader === undefined ? 0 : this.#score(leader);
    const inARow = leader !== undefined && this.#streak.label === leader &&
      this.#streak.count >= rules.switchVotes;
    const mayTake = lead >= rules.clear && (!this.#everSettled || inARow);
    if (this.name === UNKNOWN) {
      if (leader !== undefined && mayTake) this.name = leader;
    } else if (this.#score(this.name) < rules.forget) {
      this.name = leader !== undefined && leader !== this.name && mayTake
        ? leader
        : UNKNOWN;
    } else if (
      leader !== undefined && leader !== this.name &&
      lead > this.#score(this.name) && inARow
    ) {
      this.name = leader;
    }
    this.settled = this.#streak.label === this.name &&
      this.#streak.count >= rules.settleVotes;
    if (this.settled) this.#everSettled = true;
  }

  /**
   * Keeps only `keep` of the evidence so far and lets a new name take over
   * as on a fresh track: for a face that no longer looks like the one the
   * evidence is about (a person stepped into another's place).
   */
  fade(keep: number): void {
    for (const [person, score] of this.#scores) {
      this.#scores.set(person, score * keep);
    }
    this.#unknown *= keep;
    this.#everSettled = false;
  }

  /**
   * How sure the track is of its name, 0..1: the name's share of all the
   * evidence, times its amount up to one whole vote.
   */
  get confidence(): number {
    const own = this.name === UNKNOWN ? this.#unknown : this.#score(this.name);
    let total = this.#unknown;
    for (const score of this.#scores.values()) total += score;
    return total > 0 ? (own / total) * Math.min(1, own) : 0;
  }

  #score(person: string): number {
    return this.#scores.get(person) ?? 0;
  }

  /** The person with the most evidence (ties: the current name, then the first). */
  #leader(): string | undefined {
    let best: string | undefined;
    let bestScore = -1;
    for (const [person, score] of this.#scores) {
      if (
        score > bestScore || (score === bestScore && person === this.name)
      ) {
        best = person;
        bestScore = score;
      }
    }
    return best;
  }
}
