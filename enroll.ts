/**
 * Enrolment: teaches a running server a new person (or more faces of a
 * known one) from a camera or a video, without a restart. The work is
 * {@linkcode runEnrolment} in lib/client/enrol.ts.
 *
 * ```sh
 * deno task enroll NAME [--connect tcp://127.0.0.1:5555] [--input DEVICE|FILE|URL] [--count N]
 * ```
 *
 * @module
 */

import {
  endpointFlag,
  type Flags,
  numberFlag,
  type ParsedArgs,
  parseSize,
  runCommand,
  stringFlag,
  UsageError,
} from "./lib/cli/flags.ts";
import {
  CURVE_CLIENT_FLAGS,
  CURVE_CLIENT_HELP,
  curveClientFrom,
} from "./lib/cli/curve_flags.ts";
import { onShutdown } from "./lib/cli/shutdown.ts";
import {
  type KeptFace,
  runEnrolment,
  type RunEnrolmentOptions,
} from "./lib/client/enrol.ts";
import { MAX_ENROL_FACES } from "./lib/protocol/enrol.ts";

const HELP = `facezmq enroll: teaches the server a person's face, live.

Usage: deno task enroll NAME [options]

Watches the camera (or a video) until it has N good faces of the one person
in front of it (one face in the frame, big, sharp, each unlike the others)
and sends them to the server, which recognises NAME at once and keeps the
photos for its next start. The server must allow it (--allow-enrol, or
CURVE with --allow-clients). NAME: 1-64 characters, no / or \\, not
"unknown", not starting with . or _; a known name gets more faces.

  --connect ENDPOINT     the server (default tcp://127.0.0.1:5555)
  --input SOURCE         camera device (/dev/video0), video file or URL
                         (default: the first camera)
  --count N              faces to send, 1..${MAX_ENROL_FACES} (default 10)
  --min-face N           smallest face side in pixels (default 80)
  --size WxH             frame size (default 640x480)
  --fps N                capture rate (default: the source's)
  --timeout MS           wait this long for each frame's reply (default 1000)
  --ffmpeg PATH          the ffmpeg program to use
${CURVE_CLIENT_HELP}
  -h, --help             this text
`;

const FLAGS = {
  connect: { type: "string", default: "tcp://127.0.0.1:5555" },
  input: { type: "string" },
  count: { type: "string", default: "10" },
  "min-face": { type: "string" },
  size: { type: "string", default: "640x480" },
  fps: { type: "string" },
  timeout: { type: "string", default: "1000" },
  ffmpeg: { type: "string" },
  ...CURVE_CLIENT_FLAGS,
} as const;

async function main({ values, positionals }: ParsedArgs): Promise<number> {
  const options = await enrolmentOptionsFrom(values, positionals);
  using shutdown = onShutdown();
  const count = options.count!;
  const { reply, kept, frames } = await runEnrolment({
    ...options,
    onFace: (face) => console.log(faceLine(face, count)),
    signal: shutdown.signal,
  });
  console.log(
    `enrolled "${reply.name}": ${reply.added} face${
      reply.added === 1 ? "" : "s"
    } added from ${frames} frames` +
      (kept.length < count ? ` (the source ended after ${kept.length})` : "") +
      ` (label ${reply.label}, ${
        reply.newPerson ? "new person" : "known person"
      }, ${reply.faces} faces in all; the server knows ${reply.people} people)`,
  );
  return 0;
}

/** `face 3/10: frame 42, 163x198 at 120,80, sharpness 512, difference 23.1`. */
function faceLine(face: KeptFace, count: number): string {
  const { x, y, w, h } = face.box;
  return `face ${face.number}/${count}: frame ${face.frame}, ${w}x${h} at ${x},${y}, ` +
    `sharpness ${face.sharpness.toFixed(0)}, difference ${
      Number.isFinite(face.difference) ? face.difference.toFixed(1) : "-"
    }`;
}

/** The enrolment the flags describe (CURVE keys loaded). */
async function enrolmentOptionsFrom(
  values: Flags,
  positionals: string[],
): Promise<RunEnrolmentOptions> {
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "give the person's NAME (see --help)"
        : `give one NAME, not ${positionals.length} (${positionals.join(" ")})`,
    );
  }
  const minFace = numberFlag(values, "min-face", { min: 16, integer: true });
  return {
    name: positionals[0],
    connect: endpointFlag(values, "connect"),
    input: stringFlag(values, "input"),
    count: numberFlag(values, "count", {
      min: 1,
      max: MAX_ENROL_FACES,
      integer: true,
    }),
    select: minFace === undefined ? undefined : { minFaceSize: minFace },
    ...parseSize(stringFlag(values, "size")!),
    fps: numberFlag(values, "fps", { min: 1, max: 240 }),
    timeout: numberFlag(values, "timeout", { min: 10, integer: true }),
    ffmpeg: stringFlag(values, "ffmpeg"),
    curve: await curveClientFrom(values),
  };
}

if (import.meta.main) {
  runCommand(main, { help: HELP, flags: FLAGS, positionals: true });
}
