/**
 * Test support for enrolment: videos of one person's face made with ffmpeg
 * from ORL photos (AT&T Laboratories Cambridge / Olivetti Research
 * Laboratory), and frames read from a video with the face boxes the
 * server's detector finds in them.
 *
 * @module
 */

import {
  FaceDetector,
  SERVER_DETECT_OPTIONS,
} from "../../lib/face/detector.ts";
import { type Box, type Image, toGrey } from "../../lib/images/image.ts";
import { openCapture } from "../../lib/video/capture.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * Writes `out`: a 640x480, 30 fps video of ORL person `person`'s photos
 * `images` (numbers 1..10), each shown 2x in the middle of a grey frame for
 * 0.2 s (6 frames), one after the other, as a camera would see someone turn
 * their head. `blur` (a gblur sigma) blurs the whole video.
 */
export async function personVideo(
  out: string,
  options: { person: string; images: number[]; blur?: number },
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_video_" });
  try {
    // The image2 demuxer wants consecutive numbers.
    for (const [i, n] of options.images.entries()) {
      await Deno.copyFile(
        `${ROOT}tests/fixtures/orl/${options.person}/${n}.pgm`,
        `${dir}/${i + 1}.pgm`,
      );
    }
    const filters = [
      "scale=184:224",
      "pad=640:480:228:128:color=gray",
      "fps=30",
      ...(options.blur ? [`gblur=sigma=${options.blur}`] : []),
      "format=yuv420p",
    ];
    const error = await encodeH264(out, [
      "-framerate",
      "5",
      "-i",
      `${dir}/%d.pgm`,
      "-vf",
      filters.join(","),
    ]);
    if (error !== undefined) {
      throw new Error(`ffmpeg could not make ${out}: ${error}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes `out`: `input` blurred with ffmpeg's gblur of `sigma`. */
export async function blurVideo(
  input: string,
  out: string,
  sigma: number,
): Promise<void> {
  const error = await encodeH264(out, [
    "-i",
    input,
    "-vf",
    `gblur=sigma=${sigma},format=yuv420p`,
  ]);
  if (error !== undefined) throw new Error(error);
}

/**
 * Runs ffmpeg quietly on the input arguments `args`, writing `out` as H.264
 * (crf 18, nearly lossless so the faces stay detectable); returns ffmpeg's
 * error output when it fails.
 */
async function encodeH264(
  out: string,
  args: string[],
): Promise<string | undefined> {
  const result = await new Deno.Command("ffmpeg", {
    args: [
      ...["-hide_banner", "-loglevel", "error", "-nostdin", "-y"],
      ...args,
      ...["-c:v", "libx264", "-crf", "18", out],
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  return result.success ? undefined : new TextDecoder().decode(result.stderr);
}

/** One frame of a video, grey, with the faces the server would find. */
export interface DetectedFrame {
  /** Frame number. */
  index: number;
  /** The RGB frame. */
  rgb: Image;
  /** The grey frame (what the server detects in). */
  grey: Image;
  /** Face boxes, as the server's detector finds them. */
  boxes: Box[];
}

/** Every 640x480 frame of `video` with the boxes the server would send. */
export async function detectedFrames(video: string): Promise<DetectedFrame[]> {
  const detector = await FaceDetector.create();
  const capture = openCapture({
    input: video,
    width: 640,
    height: 480,
    pixelFormat: "rgb24",
    everyFrame: true,
  });
  const frames: DetectedFrame[] = [];
  try {
    for (let f = await capture.next(); f !== null; f = await capture.next()) {
      const rgb: Image = {
        width: 640,
        height: 480,
        channels: 3,
        data: f.data.slice(),
      };
      const grey = toGrey(rgb);
      frames.push({
        index: f.index,
        rgb,
        grey,
        boxes: detector.detect(grey, SERVER_DETECT_OPTIONS),
      });
    }
  } finally {
    await capture.close();
    detector.close();
  }
  return frames;
}
