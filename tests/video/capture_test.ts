import assert from "node:assert/strict";
import { type CaptureOptions, openCapture } from "../../lib/video/capture.ts";
import { CaptureError } from "../../lib/video/capture_error.ts";
import { findFfmpeg } from "../../lib/video/find_ffmpeg.ts";
import { running } from "../support/video.ts";
import { clipTruth, type TruthFace } from "../support/clip_client.ts";

const CLIP = new URL("../fixtures/clip/clip.mp4", import.meta.url).pathname;

// Every test runs the ffmpeg findFfmpeg picks (PATH first, else the npm
// package's binary), as the programs themselves do.
const FFMPEG = await findFfmpeg();

const TRUTH = clipTruth();

/** A 320x240 capture of the clip (unless `options` say otherwise). */
function clipCapture(options: Partial<CaptureOptions> = {}) {
  return openCapture({
    ffmpeg: FFMPEG,
    input: CLIP,
    width: 320,
    height: 240,
    ...options,
  });
}

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
    pixelFormat: "grey8",
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
    const cap = clipCapture({ input: url, everyFrame: true });
    let count = 0;
    while ((await cap.next()) !== null) count++;
    assert.equal(count, 60);
    await cap.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("live capture drops frames for a slow consumer and never hands out stale ones", async () => {
  const cap = clipCapture();
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
  const cap = clipCapture();
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
  const cap = clipCapture({ loop: true });
  const first = await cap.next();
  assert.ok(first !== null);
  assert.ok(running(cap.pid));
  await cap.close();
  assert.ok(!running(cap.pid), "ffmpeg still running after close()");
  assert.equal(await cap.next(), null);
  await cap.close(); // twice is fine

  const slow = clipCapture({ everyFrame: true });
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
