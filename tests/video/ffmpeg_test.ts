import assert from "node:assert/strict";
import {
  CaptureError,
  defaultCameraInput,
  findFfmpeg,
  findFfplay,
  firstDshowVideo,
  openCapture,
  openRecorder,
  openViewer,
  probeVideo,
  resolveInput,
  runsVersion,
} from "../../lib/video/ffmpeg.ts";

const CLIP = new URL("../fixtures/clip/clip.mp4", import.meta.url).pathname;
const TRUTH_PATH = new URL("../fixtures/clip/clip_truth.json", import.meta.url)
  .pathname;
const LIB = new URL("../../lib/video/ffmpeg.ts", import.meta.url).href;

/** The absolute path of `program` found on PATH, or null. */
function onPath(program: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      if (Deno.statSync(`${dir}/${program}`).isFile) return `${dir}/${program}`;
    } catch {
      // not in this folder
    }
  }
  return null;
}

// A fresh machine with only Node.js/npm has no system ffmpeg: every test
// runs the one findFfmpeg picks (PATH first, else the npm package's binary),
// as the programs themselves do. What only a system install has (ffplay,
// lookup on PATH) is tested when it is there and reported as ignored when not.
const FFMPEG = await findFfmpeg();
const SYSTEM_FFMPEG = await runsVersion("ffmpeg");
const SYSTEM_FFPLAY = await runsVersion("ffplay");

interface TruthFace {
  name: string;
  x: number;
  y: number;
  w: number;
  h: number;
}
const TRUTH: { frame: number; faces: TruthFace[] }[] = JSON.parse(
  Deno.readTextFileSync(TRUTH_PATH),
);

/** The frame `n` of a video as ffmpeg decodes it on its own. */
async function ffmpegFrame(path: string, n: number): Promise<Uint8Array> {
  const out = await new Deno.Command(FFMPEG, {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-i",
      path,
      "-vf",
      `select=eq(n\\,${n})`,
      "-frames:v",
      "1",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "rgb24",
      "pipe:1",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return out.stdout;
}

/** True while a process with this id exists (Linux /proc). */
function running(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \([^)]*\) Z/.test(stat); // a zombie is not running
  } catch {
    return false;
  }
}

/** Mean |R - G| + |G - B| over a box of an RGB frame. */
function tint(data: Uint8Array, width: number, box: TruthFace): number {
  let sum = 0;
  for (let y = box.y + 4; y < box.y + box.h - 4; y++) {
    for (let x = box.x + 4; x < box.x + box.w - 4; x++) {
      const k = (y * width + x) * 3;
      sum += Math.abs(data[k] - data[k + 1]) +
        Math.abs(data[k + 1] - data[k + 2]);
    }
  }
  return sum / ((box.w - 8) * (box.h - 8));
}

Deno.test("findFfmpeg finds a working ffmpeg and explains a missing one", async () => {
  const out = await new Deno.Command(FFMPEG, { args: ["-version"] }).output();
  assert.ok(out.success);
  // Not on PATH under this name: the npm package's binary, which runs.
  const npm = await findFfmpeg({ name: "ffmpeg-not-installed" });
  assert.match(npm, /@ffmpeg-installer/);
  assert.ok(await runsVersion(npm), `${npm} -version failed`);
  // A path given by the user is taken as it is.
  const absolute = FFMPEG.includes("/") ? FFMPEG : onPath(FFMPEG);
  assert.ok(absolute !== null, `${FFMPEG} is on PATH`);
  assert.equal(await findFfmpeg({ override: absolute }), absolute);
  await assert.rejects(
    findFfmpeg({ override: "/no/such/ffmpeg" }),
    (e: Error) =>
      e instanceof CaptureError && /\/no\/such\/ffmpeg/.test(e.message),
  );
  await assert.rejects(
    findFfmpeg({ override: CLIP }), // exists but is not a program
    /does not run as ffmpeg/,
  );
  await assert.rejects(
    findFfmpeg({ name: "ffmpeg-not-installed", npm: false }),
    (e: Error) =>
      e instanceof CaptureError && /ffmpeg was not found/.test(e.message) &&
      /deno install/.test(e.message) && /--ffmpeg/.test(e.message),
  );
  await assert.rejects(
    findFfplay({ name: "ffplay-not-installed" }),
    /--ffplay/,
  );
});

Deno.test({
  name: "findFfmpeg prefers ffmpeg on PATH to the npm package's",
  // Only a system install puts ffmpeg on PATH.
  ignore: !SYSTEM_FFMPEG,
  fn: async () => {
    assert.equal(await findFfmpeg(), "ffmpeg");
  },
});

Deno.test({
  name: "findFfplay finds ffplay on PATH",
  // ffplay comes only with a system ffmpeg; the npm package has none.
  ignore: !SYSTEM_FFPLAY,
  fn: async () => {
    assert.equal(await findFfplay(), "ffplay");
  },
});

Deno.test("defaultCameraInput picks the platform's camera", () => {
  assert.deepEqual(defaultCameraInput({ os: "linux" }), {
    format: "v4l2",
    input: "/dev/video0",
  });
  assert.deepEqual(defaultCameraInput({ os: "darwin" }), {
    format: "avfoundation",
    input: "0",
  });
  const listing = `[dshow @ 0x1] "Integrated Webcam" (video)
[dshow @ 0x1]   Alternative name "@device_pnp_\\\\?\\usb"
[dshow @ 0x1] "Microphone (Realtek)" (audio)`;
  assert.equal(firstDshowVideo(listing), "Integrated Webcam");
  const old = `[dshow @ 0x1] DirectShow video devices
[dshow @ 0x1]  "USB Camera"
[dshow @ 0x1] DirectShow audio devices
[dshow @ 0x1]  "Mic"`;
  assert.equal(firstDshowVideo(old), "USB Camera");
  assert.equal(firstDshowVideo("nothing here"), null);
});

Deno.test("resolveInput tells cameras, URLs and files apart", () => {
  assert.deepEqual(resolveInput("avfoundation:0", { fps: 15 }).args, [
    "-f",
    "avfoundation",
    "-framerate",
    "15",
    "-i",
    "0",
  ]);
  assert.deepEqual(resolveInput("dshow:video=USB Camera").args, [
    "-f",
    "dshow",
    "-i",
    "video=USB Camera",
  ]);
  const url = resolveInput("rtsp://127.0.0.1:8554/cam");
  assert.equal(url.kind, "url");
  assert.ok(!url.args.includes("-re"));
  const live = resolveInput(CLIP);
  assert.equal(live.kind, "file");
  assert.ok(live.args.includes("-re"));
  const all = resolveInput(CLIP, { everyFrame: true, loop: true });
  assert.ok(!all.args.includes("-re"));
  assert.ok(all.args.includes("-stream_loop"));
});

Deno.test("everyFrame capture delivers all 60 frames, equal to ffmpeg's own decode", async () => {
  const cap = openCapture({
    ffmpeg: FFMPEG,
    input: CLIP,
    width: 640,
    height: 480,
    everyFrame: true,
  });
  assert.equal(cap.frameBytes, 640 * 480 * 3);
  const want = await ffmpegFrame(CLIP, 17);
  let count = 0;
  let checkedFaces = 0;
  for (let frame = await cap.next(); frame !== null; frame = await cap.next()) {
    assert.equal(frame.index, count);
    assert.equal(frame.data.length, 640 * 480 * 3);
    if (frame.index === 17) assert.deepEqual(frame.data, want);
    // Faces were pasted as grey pixels on a tinted background.
    for (const face of TRUTH[frame.index].faces) {
      assert.ok(tint(frame.data, 640, face) < 4, `face ${face.name} is grey`);
      checkedFaces++;
    }
    if (TRUTH[frame.index].faces.length === 0) {
      const whole = { name: "", x: 0, y: 0, w: 640, h: 480 };
      assert.ok(tint(frame.data, 640, whole) > 20, "background is tinted");
    }
    count++;
  }
  assert.equal(count, 60);
  assert.ok(checkedFaces > 50);
  assert.equal(cap.dropped, 0);
  assert.ok(cap.ended);
  assert.equal(await cap.next(), null);
  await cap.close();
  assert.ok(!running(cap.pid));
});

Deno.test("capture scales to any size and delivers grey frames", async () => {
  const cap = openCapture({
    ffmpeg: FFMPEG,
    input: CLIP,
    width: 160,
    height: 120,
    pixelFormat: "gray",
    everyFrame: true,
  });
  let count = 0;
  for (let frame = await cap.next(); frame !== null; frame = await cap.next()) {
    assert.equal(frame.data.length, 160 * 120);
    count++;
  }
  assert.equal(count, 60);
  await cap.close();
});

Deno.test("capture reads a video from an http URL", async () => {
  const body = Deno.readFileSync(CLIP);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(body, { headers: { "content-type": "video/mp4" } }),
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}/clip.mp4`;
    const cap = openCapture({
      ffmpeg: FFMPEG,
      input: url,
      width: 320,
      height: 240,
      everyFrame: true,
    });
    let count = 0;
    while ((await cap.next()) !== null) count++;
    assert.equal(count, 60);
    await cap.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("live capture drops frames for a slow consumer and never hands out stale ones", async () => {
  const cap = openCapture({
    ffmpeg: FFMPEG,
    input: CLIP,
    width: 320,
    height: 240,
  });
  let delivered = 0;
  let last = -1;
  let gaps = 0;
  while (true) {
    const frame = await cap.next();
    if (frame === null) break;
    // The frame handed out is the newest one ffmpeg produced (or the one
    // right before it), not one waiting in a queue.
    assert.ok(
      cap.read - 1 - frame.index <= 1,
      `frame ${frame.index} of ${cap.read}`,
    );
    assert.ok(frame.index > last);
    if (frame.index > last + 1) gaps++;
    last = frame.index;
    delivered++;
    await new Promise((r) => setTimeout(r, 250)); // a slow consumer
  }
  assert.ok(cap.ended);
  assert.equal(cap.read, 60);
  assert.equal(delivered + cap.dropped, 60);
  assert.ok(cap.dropped > 0, "frames were dropped");
  assert.ok(gaps > 0);
  await cap.close();
});

Deno.test("live capture keeps reading while the consumer blocks the thread", async () => {
  const cap = openCapture({
    ffmpeg: FFMPEG,
    input: CLIP,
    width: 320,
    height: 240,
  });
  let delivered = 0;
  let last = -1;
  let previous: Uint8Array | null = null;
  for (let frame = await cap.next(); frame !== null; frame = await cap.next()) {
    // The buffer handed out before was taken back (no copy, no reuse race).
    if (previous !== null) assert.equal(previous.length, 0);
    previous = frame.data;
    assert.ok(frame.index > last);
    last = frame.index;
    delivered++;
    // Heavy synchronous work (like face detection): no await for 250 ms.
    const until = performance.now() + 250;
    while (performance.now() < until) { /* busy */ }
  }
  assert.equal(delivered + cap.dropped, 60);
  assert.ok(cap.dropped > 20, `${cap.dropped} dropped of 60`);
  await cap.close();
});

Deno.test("closing a capture mid-stream stops ffmpeg promptly", async () => {
  const cap = openCapture({
    ffmpeg: FFMPEG,
    input: CLIP,
    width: 320,
    height: 240,
    loop: true,
  });
  const first = await cap.next();
  assert.ok(first !== null);
  assert.ok(running(cap.pid));
  await cap.close();
  assert.ok(!running(cap.pid), "ffmpeg still running after close()");
  assert.equal(await cap.next(), null);
  await cap.close(); // twice is fine

  const slow = openCapture({
    ffmpeg: FFMPEG,
    input: CLIP,
    width: 320,
    height: 240,
    everyFrame: true,
  });
  await slow.next(); // ffmpeg now blocks on a full pipe
  await slow.close();
  assert.ok(!running(slow.pid));
});

Deno.test("capture faults give clear CaptureErrors", async () => {
  assert.throws(
    () =>
      openCapture({
        ffmpeg: FFMPEG,
        input: "/no/such/video.mp4",
        width: 64,
        height: 48,
      }),
    (e: Error) =>
      e instanceof CaptureError &&
      /Video file not found: \/no\/such\/video.mp4/.test(e.message),
  );
  assert.throws(
    () =>
      openCapture({
        ffmpeg: FFMPEG,
        input: "/dev/video97",
        width: 64,
        height: 48,
      }),
    (e: Error) =>
      e instanceof CaptureError &&
      /Camera \/dev\/video97 not found/.test(e.message) &&
      /--input/.test(e.message),
  );
  assert.throws(
    () =>
      openCapture({
        input: CLIP,
        width: 64,
        height: 48,
        ffmpeg: "/no/such/ffmpeg",
      }),
    (e: Error) =>
      e instanceof CaptureError && /ffmpeg was not found/.test(e.message),
  );
  assert.throws(
    () => openCapture({ ffmpeg: FFMPEG, input: CLIP, width: 0, height: 48 }),
    /size/,
  );

  const dir = Deno.makeTempDirSync();
  try {
    const bogus = `${dir}/notes.mp4`;
    Deno.writeTextFileSync(bogus, "this is not a video\n".repeat(100));
    const cap = openCapture({
      ffmpeg: FFMPEG,
      input: bogus,
      width: 64,
      height: 48,
      everyFrame: true,
    });
    await assert.rejects(
      cap.next(),
      (e: Error) =>
        e instanceof CaptureError &&
        /Could not read file .*notes.mp4 as a video/.test(e.message) &&
        /Invalid data/.test(e.message),
    );
    await cap.close();

    // An ffmpeg that dies after 3 frames with an error.
    const fake = `${dir}/dying-ffmpeg`;
    Deno.writeTextFileSync(
      fake,
      `#!/bin/sh\n'${FFMPEG}' "$@" | head -c ${3 * 64 * 48 * 3}\n` +
        `echo "fake failure: decoder exploded" >&2\nexit 3\n`,
    );
    Deno.chmodSync(fake, 0o755);
    const dying = openCapture({
      input: CLIP,
      width: 64,
      height: 48,
      everyFrame: true,
      ffmpeg: fake,
    });
    for (let i = 0; i < 3; i++) assert.ok((await dying.next()) !== null);
    await assert.rejects(
      dying.next(),
      (e: Error) =>
        e instanceof CaptureError &&
        /exit code 3 after 3 frames/.test(e.message) &&
        /decoder exploded/.test(e.message),
    );
    assert.ok(!dying.ended);
    await dying.close();

    // A camera another program holds: ffmpeg's v4l2 error, explained.
    const busy = `${dir}/busy-ffmpeg`;
    Deno.writeTextFileSync(
      busy,
      `#!/bin/sh\necho "[video4linux2,v4l2 @ 0x1] ioctl(VIDIOC_STREAMON): ` +
        `Device or resource busy" >&2\nexit 1\n`,
    );
    Deno.chmodSync(busy, 0o755);
    const cam = openCapture({
      input: "/dev/null",
      width: 64,
      height: 48,
      ffmpeg: busy,
    });
    await assert.rejects(
      cam.next(),
      (e: Error) =>
        e instanceof CaptureError &&
        /camera \/dev\/null is busy: another program is using it/.test(
          e.message,
        ),
    );
    await cam.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

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
