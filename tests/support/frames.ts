/**
 * Test support: frames with a real face in them.
 *
 * @module
 */

import { readImage } from "../../lib/images/image_io.ts";
import { encodeRequest } from "../../lib/protocol/binary.ts";

/**
 * A grey 640x480 request holding the face in `file` (e.g. an ORL image:
 * AT&T Laboratories Cambridge / Olivetti Research Laboratory) scaled 2x at
 * (200, 100), as a camera would see it.
 */
export async function faceRequest(
  file: string,
  options: { frameId: number; timestamp: number },
): Promise<Uint8Array[]> {
  const face = await readImage(file, { grey: true });
  const width = 640;
  const height = 480;
  const pixels = new Uint8Array(width * height).fill(120);
  for (let y = 0; y < face.height * 2; y++) {
    for (let x = 0; x < face.width * 2; x++) {
      pixels[(100 + y) * width + 200 + x] =
        face.data[(y >> 1) * face.width + (x >> 1)];
    }
  }
  return encodeRequest({
    kind: "frame",
    format: "grey8",
    width,
    height,
    frameId: options.frameId,
    timestamp: options.timestamp,
    reply: "faces",
    pixels,
  });
}
