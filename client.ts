/**
 * The camera client: captures frames with ffmpeg, sends each to the server,
 * and shows who is in front of the camera (web page, window, recording or
 * JSON lines).
 *
 * ```sh
 * deno task client [--connect tcp://127.0.0.1:5555] [--input DEVICE|FILE|URL] [--view web|window|none]
 * ```
 *
 * @module
 */

import {
  choiceFlag,
  numberFlag,
  parseFlags,
  parseSize,
  runMain,
  stringFlag,
  UsageError,
} from "./lib/cli/flags.ts";
import { loadClientKeys } from "./lib/zmq/curve.ts";
import { drawFaces } from "./lib/images/draw.ts";
import {
  type Capture,
  CaptureError,
  findFfmpeg,
  findFfplay,
  openCapture,
  openRecorder,
  openViewer,
  type Recorder,
  type Viewer,
} from "./lib/video/ffmpeg.ts";
import { FrameClient } from "./lib/client/frame_client.ts";
import { type Image, toGrey } from "./lib/images/image.ts";
import { encodeJpeg } from "./lib/images/image_io.ts";
import { loadOpenCV } from "./lib/face/opencv.ts";
import {
  decodeReply,
  encodeRequest,
  type Face,
  type PixelFormat,
} from "./lib/protocol/protocol.ts";
import { mean, percentile } from "./lib/measure/stats.ts";
import { startWebView, type WebView } from "./lib/client/web_view.ts";

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
  --send grey|rgb|jpeg   pixels sent to the server (default grey: 1/3 of rgb)
  --draw client|server   who draws the boxes (default client)
  --timeout MS           wait this long for each reply (default 1000)
  --retries N            retries before giving up; 0 = forever (default for
                         live input; 5 for files)
  --reconnect            restart a live source (camera, stream) that fails
  --ffmpeg PATH          the ffmpeg program to use
  --curve-server-key F   the server's public key (.pub) for an encrypted link
  --curve-secret F       this client's secret key (.key), with the above
  -h, --help             this text
`;

interface Result {
  frame: number;
  faces: Face[];
  latencyMs: number;
}

async function main(): Promise<number> {
  const { values } = parseFlags(Deno.args, {
    flags: {
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
      send: { type: "string", default: "grey" },
      draw: { type: "string", default: "client" },
      timeout: { type: "string", default: "1000" },
      retries: { type: "string" },
      reconnect: { type: "boolean" },
      ffmpeg: { type: "string" },
      "curve-server-key": { type: "string" },
      "curve-secret": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const { width, height } = parseSize(stringFlag(values, "size")!);
  const fps = numberFlag(values, "fps", { min: 1, max: 240 });
  const view = choiceFlag(values, "view", ["web", "window", "none"]);
  const send = choiceFlag(values, "send", ["grey", "rgb", "jpeg"]);
  const draw = choiceFlag(values, "draw", ["client", "server"]);
  const json = values.json === true;
  const everyFrame = values["every-frame"] === true;
  const maxFrames = numberFlag(values, "frames", { min: 1, integer: true }) ??
    Infinity;
  const timeout = numberFlag(values, "timeout", { min: 10, integer: true })!;
  const record = stringFlag(values, "record");
  const input = stringFlag(values, "input");
  const live = !everyFrame;
  const retries = numberFlag(values, "retries", { min: 0, integer: true }) ??
    (input === undefined || /^[a-z]+:\/\//i.test(input) ||
        input.startsWith("/dev/")
      ? 0
      : 5);
  const serverKey = stringFlag(values, "curve-server-key");
  const clientSecret = stringFlag(values, "curve-secret");
  if ((serverKey === undefined) !== (clientSecret === undefined)) {
    throw new UsageError("--curve-server-key and --curve-secret go together");
  }
  const curve = serverKey
    ? await loadClientKeys(serverKey, clientSecret!)
    : undefined;

  const needPicture = view !== "none" || record !== undefined;
  const ffmpeg = await findFfmpeg({ override: stringFlag(values, "ffmpeg") });
  if (needPicture) await loadOpenCV();

  // What ffmpeg delivers: grey is enough when nobody looks at the picture.
  const captureFormat = !needPicture && send === "grey" ? "gray" : "rgb24";
  const openSource = () =>
    openCapture({
      input,
      width,
      height,
      fps,
      pixelFormat: captureFormat,
      everyFrame,
      ffmpeg,
    });
  let capture: Capture = openSource();
  const log = (line: string) => console.error(line);
  log(`client: ${capture.args.join(" ")} -> ${stringFlag(values, "connect")}`);

  const client = new FrameClient(stringFlag(values, "connect")!, {
    timeout,
    retries,
    curve,
    log,
  });

  let web: WebView | undefined;
  let viewer: Viewer | undefined;
  let recorder: Recorder | undefined;
  if (view === "web") {
    web = startWebView({
      port: numberFlag(values, "port", { min: 0, max: 65535, integer: true }),
    });
    log(`view: open ${web.url} in a browser`);
  } else if (view === "window") {
    viewer = openViewer({
      width,
      height,
      fps: fps ?? 30,
      title: "facezmq",
      ffplay: await findFfplay(),
    });
  }
  if (record) {
    recorder = openRecorder(record, { width, height, fps: fps ?? 30, ffmpeg });
  }

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", onSignal);
  stop.signal.addEventListener("abort", () => {
    // Unblock a pending capture read or request at once.
    capture.close();
    client.close();
  });

  const results: Result[] = [];
  const latencies: number[] = [];
  const started = performance.now();
  let frameId = 0;
  let exitCode = 0;
  let windowStart = started;
  let windowFrames = 0;
  let windowFps = 0;
  const names = new Map<string, number>();

  try {
    while (!stop.signal.aborted && results.length < maxFrames) {
      let frame;
      try {
        frame = await capture.next();
      } catch (error) {
        if (stop.signal.aborted) break;
        if (error instanceof CaptureError && values.reconnect && live) {
          log(`capture failed: ${error.message}; reconnecting in 1 s`);
          await capture.close();
          await new Promise((r) => setTimeout(r, 1000));
          capture = openSource();
          continue;
        }
        throw error;
      }
      if (frame === null) break;
      // Keep the picture: the capture buffer is reused by the next read.
      const picture: Image = captureFormat === "gray"
        ? { width, height, channels: 1, data: frame.data }
        : { width, height, channels: 3, data: frame.data.slice() };
      let current = { index: frame.index, picture };
      let sentId = 0;
      const build = async (): Promise<Uint8Array[]> => {
        if (live && client.inOutage) {
          // While the server is away, send the newest frame when it comes back.
          const newer = await capture.next();
          if (newer) {
            current = {
              index: newer.index,
              picture: captureFormat === "gray"
                ? { width, height, channels: 1, data: newer.data }
                : { width, height, channels: 3, data: newer.data.slice() },
            };
          }
        }
        sentId = frameId++ >>> 0;
        return encodeRequest({
          kind: "frame",
          ...pixelsFor(current.picture, send),
          width,
          height,
          frameId: sentId,
          timestamp: performance.now(),
          reply: draw === "server" && needPicture ? "faces+frame" : "faces",
          frameFormat: draw === "server" && needPicture ? "rgb24" : undefined,
        });
      };
      const sent = performance.now();
      const replyParts = await client.exchange(build);
      const reply = decodeReply(replyParts);
      if (reply.kind === "error") {
        throw new Error(
          `the server refused the frame: ${reply.code}: ${reply.message}`,
        );
      }
      if (reply.frameId !== sentId) {
        throw new Error(
          `the server answered frame ${reply.frameId} to frame ${sentId}`,
        );
      }
      const latencyMs = performance.now() - Math.max(sent, reply.timestamp);
      latencies.push(latencyMs);
      const result = { frame: current.index, faces: reply.faces, latencyMs };
      results.push(result);
      for (const face of reply.faces) {
        names.set(face.label, (names.get(face.label) ?? 0) + 1);
      }
      if (json) {
        console.log(JSON.stringify({
          frame: result.frame,
          faces: reply.faces.map((f) => ({
            x: f.x,
            y: f.y,
            w: f.w,
            h: f.h,
            label: f.label,
            distance: Number(f.distance.toFixed(3)),
          })),
          latency_ms: Number(latencyMs.toFixed(2)),
        }));
      }

      windowFrames++;
      const now = performance.now();
      if (now - windowStart >= 1000) {
        windowFps = (windowFrames * 1000) / (now - windowStart);
        windowStart = now;
        windowFrames = 0;
      }
      if (needPicture) {
        let canvas: Image;
        if (reply.frame && reply.frame.format === "rgb24") {
          canvas = { width, height, channels: 3, data: reply.frame.pixels };
        } else {
          canvas = current.picture;
          drawFaces(canvas, reply.faces);
        }
        if (recorder) await recorder.write(canvas.data);
        if (viewer && !viewer.closed) await viewer.write(canvas.data);
        if (web?.watching) {
          web.publish(encodeJpeg(canvas, { quality: 80 }), {
            frames: results.length,
            fps: windowFps,
            latencyMs,
            labels: reply.faces.map((f) => f.label),
          });
        }
      }
    }
  } catch (error) {
    if (!stop.signal.aborted) {
      console.error(`error: ${(error as Error).message}`);
      exitCode = 1;
    }
  } finally {
    await capture.close();
    await client.close();
    if (recorder) {
      await recorder.close();
      log(`recorded ${recorder.frames} frames to ${record}`);
    }
    await viewer?.close();
    await web?.close();
  }

  const seconds = (performance.now() - started) / 1000;
  const summary = {
    frames: results.length,
    seconds: Number(seconds.toFixed(2)),
    fps: Number((results.length / seconds).toFixed(1)),
    latency_p50_ms: Number(percentile(latencies, 50).toFixed(1)),
    latency_p95_ms: Number(percentile(latencies, 95).toFixed(1)),
    latency_mean_ms: Number(mean(latencies).toFixed(1)),
    dropped: capture.dropped,
    reconnects: client.reconnects,
    seen: Object.fromEntries(names),
  };
  const ms = (value: number | null) =>
    value === null || Number.isNaN(value) ? "n/a" : `${value} ms`;
  log(
    `done: ${summary.frames} frames in ${summary.seconds} s, ${summary.fps} fps, latency p50 ${
      ms(summary.latency_p50_ms)
    }, p95 ${
      ms(summary.latency_p95_ms)
    }, ${summary.dropped} frames dropped; faces seen: ` +
      (names.size
        ? [...names].map(([n, c]) => `${n} (${c} frames)`).join(", ")
        : "none"),
  );
  log(`summary: ${JSON.stringify(summary)}`);
  return exitCode;
}

/** The request's pixels in the chosen format. */
function pixelsFor(
  picture: Image,
  send: string,
): { format: PixelFormat; pixels: Uint8Array } {
  if (send === "jpeg") {
    return { format: "jpeg", pixels: encodeJpeg(picture, { quality: 85 }) };
  }
  if (send === "rgb" && picture.channels === 3) {
    return { format: "rgb24", pixels: picture.data };
  }
  return { format: "grey8", pixels: toGrey(picture).data };
}

if (import.meta.main) runMain(main);
