import assert from "node:assert/strict";
import {
  defaultCameraInput,
  firstDshowVideo,
  resolveInput,
} from "../../lib/video/input.ts";

const CLIP = new URL("../fixtures/clip/clip.mp4", import.meta.url).pathname;

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
