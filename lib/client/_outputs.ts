/**
 * Where a session's annotated picture goes: the web page (`--view web`), an
 * ffplay window (`--view window`) and a recording (`--record`). Opened
 * before capture starts, so a busy port fails before ffmpeg runs.
 *
 * @module
 */

import type { Image } from "../images/image.ts";
import { encodeJpeg } from "../images/image_io.ts";
import { findFfplay } from "../video/find_ffmpeg.ts";
import {
  openRecorder,
  openViewer,
  type Recorder,
  type Viewer,
} from "../video/output.ts";
import { startWebView, type ViewInfo, type WebView } from "./web_view.ts";

/** How the picture is shown. */
export type ViewMode = "web" | "window" | "none";

/** Options for {@linkcode openOutputs}. */
export interface OutputOptions {
  view: ViewMode;
  port?: number;
  record?: string;
  width: number;
  height: number;
  fps: number;
  ffmpeg: string;
  ffplay?: string;
  log: (line: string) => void;
}

/** The open outputs. */
export interface Outputs {
  /** True when something shows or records the picture. */
  readonly wanted: boolean;
  /** Shows and records one annotated RGB frame. */
  show(canvas: Image, info: ViewInfo): Promise<void>;
  /** Closes them all; says how many frames were recorded. */
  close(): Promise<void>;
}

/** Opens the outputs `options` ask for. */
export async function openOutputs(options: OutputOptions): Promise<Outputs> {
  const { width, height, fps, log } = options;
  let web: WebView | undefined;
  let viewer: Viewer | undefined;
  let recorder: Recorder | undefined;
  if (options.view === "web") {
    web = startWebView({ port: options.port });
    log(`view: open ${web.url} in a browser`);
  }
  try {
    if (options.view === "window") {
      const ffplay = await findFfplay({ override: options.ffplay });
      viewer = openViewer({ width, height, fps, title: "facezmq", ffplay });
    }
    if (options.record !== undefined) {
      recorder = openRecorder(options.record, {
        width,
        height,
        fps,
        ffmpeg: options.ffmpeg,
      });
    }
  } catch (error) {
    await viewer?.close();
    await web?.close();
    throw error;
  }
  return {
    wanted: web !== undefined || viewer !== undefined ||
      recorder !== undefined,
    async show(canvas, info) {
      if (recorder) await recorder.write(canvas.data);
      if (viewer && !viewer.closed) await viewer.write(canvas.data);
      // JPEG encoding costs milliseconds: only for a browser that watches.
      if (web?.watching) web.publish(encodeJpeg(canvas, { quality: 80 }), info);
    },
    async close() {
      if (recorder) {
        await recorder.close();
        log(`recorded ${recorder.frames} frames to ${options.record}`);
      }
      await viewer?.close();
      await web?.close();
    },
  };
}
