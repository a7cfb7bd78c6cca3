/**
 * The one `Face`: what naming produces, what the wire protocol carries and
 * what drawing annotates. A box and who is in it; a tracker can later add a
 * `track` id here, and every layer gets it at once.
 *
 * @module
 */

import type { Box } from "../images/image.ts";

/**
 * A face found in a frame: its box, the name given to it and how near the
 * nearest training face was. On the wire (lib/protocol) `label` is 1 to 256
 * UTF-8 bytes and `distance` any float64 but NaN.
 */
export interface Face extends Box {
  /** A person's name, or `unknown`. */
  label: string;
  /** Distance to the nearest training face (lower is closer; the recogniser's unit). */
  distance: number;
}
