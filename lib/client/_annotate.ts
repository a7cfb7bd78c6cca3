/**
 * The picture a session shows: the server's annotated frame, or the boxes
 * drawn on the frame that was sent.
 *
 * @module
 */

import { drawFaces, type DrawnFace } from "../images/draw.ts";
import type { Image } from "../images/image.ts";
import type { FrameReply } from "../protocol/binary.ts";
import type { TrackedFace } from "../tracking/tracker.ts";

/**
 * The server's annotated frame, or the boxes drawn on the frame sent: with
 * tracks `#3 s1` (track and name), else the label and distance.
 */
export function annotate(
  picture: Image,
  reply: FrameReply,
  tracked: TrackedFace[] | undefined,
): Image {
  if (reply.frame) {
    const { width, height, pixels } = reply.frame;
    return { width, height, channels: 3, data: pixels };
  }
  drawFaces(picture, tracked?.map(asShown) ?? reply.faces);
  return picture;
}

/** A tracked face as drawn and shown: named, and captioned, by its track. */
function asShown(face: TrackedFace): DrawnFace {
  return { ...face, label: face.name, text: `#${face.track} ${face.name}` };
}
