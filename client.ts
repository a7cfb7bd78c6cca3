/**
 * The camera client: captures frames with ffmpeg, sends each to the server,
 * and shows who is in front of the camera (web page, window, recording or
 * JSON lines). The work is {@linkcode runSession} in lib/client/session.ts.
 *
 * ```sh
 * deno task client [--connect tcp://127.0.0.1:5555] [--input DEVICE|FILE|URL] [--view web|window|none]
 * ```
 *
 * @module
 */

import {
  choiceFlag,
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
import { openEventPublisher } from "./lib/events/publisher.ts";
import { TrackEvents } from "./lib/events/track_events.ts";
import {
  IN_FLIGHT,
  jsonLine,
  runSession,
  type SessionOptions,
  summaryLines,
} from "./lib/client/session.ts";

const HELP = `facezmq client: shows who is in front of the camera.

Usage: deno task client [options]

  --connect ENDPOINT     the server (default tcp://127.0.0.1:5555)
  --input SOURCE         camera device (/dev/video0), video file or URL
                         (default: the first camera)
  --size WxH             frame size sent to the server (default 640x480)
  --fps N                capture rate (default 30; files play at their own rate)
  --view web|window|none show the result in a browser page (default), an
                         ffplay window, or not at all
  --port N               web view port (default 8080)
  --record FILE          write the annotated video to FILE (.mp4)
  --json                 one JSON line per frame on stdout (logs go to stderr)
  --every-frame          process every frame of a file as fast as possible
  --frames N             stop after N frames
  --in-flight N          frames at the server at once (default ${IN_FLIGHT}, enough to
                         keep two server workers busy; 1 = one at a time).
                         Live input only sends a frame when one may go, and
                         always the newest, so none waits in a queue
  --send grey|rgb|jpeg   pixels sent to the server (default grey: 1/3 of rgb)
  --draw client|server   who draws the boxes (default client; the server
                         does not know the tracks' names)
  --no-track             name each frame on its own (protocol version 1);
                         by default faces are followed across frames, named
                         from all their frames, and the server skips the
                         recogniser for faces whose name is settled
  --events ENDPOINT      publish "appeared"/"left" events (JSON) on a ZeroMQ
                         PUB socket bound here, e.g. tcp://*:5600
  --camera NAME          this camera's name in events (default: the hostname)
  --timeout MS           wait this long for each reply (default 1000)
  --retries N            retries before giving up; 0 = forever (default for
                         live input; 5 for files)
  --reconnect            restart a live source (camera, stream) that fails
  --ffmpeg PATH          the ffmpeg program to use
  --ffplay PATH          the ffplay program for --view window
${CURVE_CLIENT_HELP}
  -h, --help             this text
`;

const FLAGS = {
  connect: { type: "string", default: "tcp://127.0.0.1:5555" },
  input: { type: "string" },
  size: { type: "string", default: "640x480" },
  fps: { type: "string" },
  view: { type: "string", default: "web" },
  port: { type: "string", default: "8080" },
  record: { type: "string" },
  json: { type: "boolean" },
  "every-frame": { type: "boolean" },
  frames: { type: "string" },
  "in-flight": { type: "string" },
  send: { type: "string", default: "grey" },
  draw: { type: "string", default: "client" },
  "no-track": { type: "boolean" },
  events: { type: "string" },
  camera: { type: "string" },
  timeout: { type: "string", default: "1000" },
  retries: { type: "string" },
  reconnect: { type: "boolean" },
  ffmpeg: { type: "string" },
  ffplay: { type: "string" },
  ...CURVE_CLIENT_FLAGS,
} as const;

async function main({ values }: ParsedArgs): Promise<number> {
  const options = await sessionOptionsFrom(values);
  const endpoint = endpointFlag(values, "events");
  if (endpoint !== undefined && options.track === false) {
    throw new UsageError("--events needs tracking: drop --no-track");
  }
  // Bound before capture starts, so a busy port fails at once.
  const publisher = endpoint === undefined
    ? undefined
    : openEventPublisher(endpoint);
  try {
    if (publisher) console.error(`events: publishing on ${publisher.endpoint}`);
    const events = new TrackEvents({
      camera: stringFlag(values, "camera") ?? Deno.hostname(),
    });
    using shutdown = onShutdown();
    await runSession({
      ...options,
      onTracks: publisher
        ? (update, time) => {
          for (const event of events.frame(update, time)) {
            publisher.publish(event).catch(() => {});
          }
        }
        : undefined,
      onFrame: values.json
        ? (result) => console.log(jsonLine(result))
        : undefined,
      onSummary: (summary) =>
        summaryLines(summary).forEach((l) => console.error(l)),
      signal: shutdown.signal,
    });
  } finally {
    await publisher?.close();
  }
  return 0;
}

/** The session the flags describe (CURVE keys loaded). */
async function sessionOptionsFrom(values: Flags): Promise<SessionOptions> {
  return {
    connect: endpointFlag(values, "connect"),
    input: stringFlag(values, "input"),
    ...parseSize(stringFlag(values, "size")!),
    fps: numberFlag(values, "fps", { min: 1, max: 240 }),
    view: choiceFlag(values, "view", ["web", "window", "none"]),
    port: numberFlag(values, "port", { min: 0, max: 65535, integer: true }),
    record: stringFlag(values, "record"),
    everyFrame: values["every-frame"] === true,
    frames: numberFlag(values, "frames", { min: 1, integer: true }),
    inFlight: numberFlag(values, "in-flight", {
      min: 1,
      max: 64,
      integer: true,
    }),
    send: choiceFlag(values, "send", ["grey", "rgb", "jpeg"]),
    draw: choiceFlag(values, "draw", ["client", "server"]),
    track: values["no-track"] !== true,
    timeout: numberFlag(values, "timeout", { min: 10, integer: true }),
    retries: numberFlag(values, "retries", { min: 0, integer: true }),
    reconnect: values.reconnect === true,
    ffmpeg: stringFlag(values, "ffmpeg"),
    ffplay: stringFlag(values, "ffplay"),
    curve: await curveClientFrom(values),
  };
}

if (import.meta.main) runCommand(main, { help: HELP, flags: FLAGS });
