/**
 * The detection flags shared by the server and remote workers
 * (`--cascade`, `--one-pass`, `--detect-width`, `--scale-factor`,
 * `--min-neighbors`, `--min-size`).
 *
 * @module
 */

import { type Flags, numberFlag } from "./flags.ts";
import { type DetectOptions, SERVER_DETECT_OPTIONS } from "../face/detector.ts";

/** The flag definitions, for `parseFlags`. */
export const DETECT_FLAGS = {
  "cascade": { type: "string" },
  "one-pass": { type: "boolean" },
  "detect-width": { type: "string" },
  "scale-factor": { type: "string" },
  "min-neighbors": { type: "string" },
  "min-size": { type: "string" },
} as const;

/** The help lines for {@linkcode DETECT_FLAGS}. */
export const DETECT_HELP =
  `  --cascade NAME|FILE    default, alt or a cascade XML file (default ${SERVER_DETECT_OPTIONS.cascade})
  --one-pass             one OpenCV scan of the (shrunk) frame, no full-size confirm stage
                         (faster; misses faces under about 60 px)
  --detect-width N       width of the copy that proposes faces (default ${SERVER_DETECT_OPTIONS.maxWidth}, 0 = full size)
  --scale-factor N       Haar scale step (default ${SERVER_DETECT_OPTIONS.scaleFactor}; 1.1 is slower and finds a few more)
  --min-neighbors N      Haar minNeighbors (default ${SERVER_DETECT_OPTIONS.minNeighbors})
  --min-size N           smallest face in pixels (default ${SERVER_DETECT_OPTIONS.minSize})`;

/** The server's detection options with the flags applied. */
export function detectOptionsFrom(values: Flags): Required<DetectOptions> {
  const d = SERVER_DETECT_OPTIONS;
  return {
    ...d,
    cascade: typeof values.cascade === "string" ? values.cascade : d.cascade,
    confirm: values["one-pass"] === true ? false : d.confirm,
    maxWidth: numberFlag(values, "detect-width", {
      min: 0,
      max: 4096,
      integer: true,
    }) ?? d.maxWidth,
    scaleFactor: numberFlag(values, "scale-factor", { min: 1.01, max: 3 }) ??
      d.scaleFactor,
    minNeighbors: numberFlag(values, "min-neighbors", {
      min: 0,
      max: 100,
      integer: true,
    }) ?? d.minNeighbors,
    minSize:
      numberFlag(values, "min-size", { min: 0, max: 4096, integer: true }) ??
        d.minSize,
  };
}
