import assert from "node:assert/strict";
import { openCapture } from "../../lib/video/capture.ts";
import { CaptureError } from "../../lib/video/capture_error.ts";
import { findFfmpeg, runsVersion } from "../../lib/video/find_ffmpeg.ts";
import { openRecorder, openViewer } from "../../lib/video/output.ts";
import { probeVideo, running } from "../support/video.ts";

const CLIP = new URL("../fixtures/clip/clip.mp4", import.meta.url).pathname;
const LIB = new URL("../../lib/video/output.ts", import.meta.url).href;

// Every test runs the ffmpeg findFfmpeg picks (PATH first, else the npm
// package's binary), as the programs themselves do.
const FFMPEG = await findFfmpeg();
// ffplay comes only with a system ffmpeg: its test is ignored without one.
const SYSTEM_FFPLAY = await runsVersion("ffplay");

Deno.test("recording writes an H.264 MP4 with every frame", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    for (const fragmented of [true, false]) {
      const path = `${dir}/rec-${fragmented}.mp4`;
      const rec = openRecorder(path, {
        ffmpeg: FFMPEG,
        width: 320,
        height: 240,
        fps: 30,
        fragmented,
      });
      const cap = openCapture({
        ffmpeg: FFMPEG,
        input: CLIP,
        width: 320,
        height: 240,
        everyFrame: true,
      });
      for (let f = await cap.next(); f !== null; f = await cap.next()) {
        await rec.write(f.data);
      }
      await cap.close();
      await rec.close();
      assert.equal(rec.frames, 60);
      assert.ok(!running(rec.pid));
      assert.deepEqual(await probeVideo(path, { ffmpeg: FFMPEG }), {
        codec: "h264",
        pixelFormat: "yuv420p",
        width: 320,
        height: 240,
        frames: 60,
      });
    }
    const rec = openRecorder(`${dir}/bad.mp4`, {
      ffmpeg: FFMPEG,
      width: 32,
      height: 24,
      fps: 10,
    });
    await assert.rejects(rec.write(new Uint8Array(10)), /2304 bytes, got 10/);
    await rec.close();
    await assert.rejects(
      probeVideo(`${dir}/none.mp4`, { ffmpeg: FFMPEG }),
      CaptureError,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a recording cut short by a killed ffmpeg still plays", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/cut.mp4`;
    const rec = openRecorder(path, {
      ffmpeg: FFMPEG,
      width: 160,
      height: 120,
      fps: 30,
    });
    const frame = new Uint8Array(160 * 120 * 3);
    for (let i = 0; i < 150; i++) {
      frame.fill(i % 256);
      await rec.write(frame);
    }
    Deno.kill(rec.pid, "SIGKILL");
    await assert.rejects(rec.close(), CaptureError);
    const info = await probeVideo(path, { ffmpeg: FFMPEG });
    assert.equal(info.width, 160);
    assert.ok(info.frames >= 60, `${info.frames} frames survived`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("Ctrl-C on a recording program leaves a playable file", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/sigint.mp4`;
    const script = `${dir}/record.ts`;
    Deno.writeTextFileSync(
      script,
      `import { openRecorder } from "${LIB}";
const rec = openRecorder(${JSON.stringify(path)}, { ffmpeg: ${
        JSON.stringify(FFMPEG)
      }, width: 160, height: 120, fps: 30 });
let stop = false;
Deno.addSignalListener("SIGINT", () => { stop = true; });
const frame = new Uint8Array(160 * 120 * 3);
let i = 0;
while (!stop) {
  frame.fill(i % 200);
  try { await rec.write(frame); } catch { break; }
  if (++i === 40) console.log("ready");
  if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
}
await rec.close();
console.log("closed", rec.frames);
`,
    );
    // setsid: its own process group, so SIGINT reaches the program and its
    // ffmpeg together, as Ctrl-C in a terminal does.
    const child = new Deno.Command("setsid", {
      args: [Deno.execPath(), "run", "--allow-all", script],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let out = "";
    while (!out.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    Deno.kill(-child.pid, "SIGINT");
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const status = await child.status;
    const err = await new Response(child.stderr).text();
    assert.ok(status.success, err);
    const written = Number(out.match(/closed (\d+)/)?.[1]);
    assert.ok(written >= 40, out);
    const info = await probeVideo(path, { ffmpeg: FFMPEG });
    assert.equal(info.codec, "h264");
    // ffmpeg itself got the SIGINT too and finished the file; frames still
    // in the pipe (one or two) are lost.
    assert.ok(
      info.frames >= written - 5 && info.frames <= written,
      `${info.frames} of ${written}`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "viewer shows frames through ffplay and notices a closed window",
  // ffplay comes only with a system ffmpeg; the npm package has none.
  ignore: !SYSTEM_FFPLAY,
  fn: async () => {
    Deno.env.set("SDL_VIDEODRIVER", "dummy");
    Deno.env.set("SDL_AUDIODRIVER", "dummy");
    const view = openViewer({ width: 64, height: 48, fps: 30, title: "test" });
    const frame = new Uint8Array(64 * 48 * 3);
    for (let i = 0; i < 10; i++) {
      frame.fill(i * 20);
      await view.write(frame);
    }
    await view.close();
    assert.equal(view.frames, 10);
    assert.ok(view.closed);

    const gone = openViewer({ width: 64, height: 48, fps: 30 });
    await gone.write(frame);
    Deno.kill(gone.pid, "SIGKILL"); // the person closes the window
    for (let i = 0; i < 20 && !gone.closed; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(gone.closed);
    await gone.write(frame); // ignored, no throw
    await gone.close();
  },
});
