/**
 * The one error type of `lib/video/`: every fault a person can fix (ffmpeg
 * missing, camera missing or busy, file not found or not a video, ffmpeg
 * dying) is reported as a {@link CaptureError}, so programs can print its
 * message and exit instead of showing a stack trace.
 *
 * @module
 */

/**
 * An error a person can act on: the first line of its message says what went
 * wrong and how to fix it; ffmpeg's own last lines may follow.
 */
export class CaptureError extends Error {
  /** Creates the error with a message meant for a person. */
  constructor(message: string) {
    super(message);
    this.name = "CaptureError";
  }
}
