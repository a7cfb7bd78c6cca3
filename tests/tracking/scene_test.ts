import assert from "node:assert/strict";
import type { Box, Image } from "../../lib/images/image.ts";
import { SceneWatch } from "../../lib/tracking/scene.ts";

const W = 640;
const H = 480;

/** A grey frame: a gradient, plus `noise` levels of seeded noise. */
function frame(noise = 0, seed = 1): Image {
  const data = new Uint8Array(W * H);
  let a = seed;
  for (let i = 0; i < data.length; i++) {
    a = (a * 1103515245 + 12345) >>> 0;
    const n = noise ? ((a >>> 16) % (2 * noise + 1)) - noise : 0;
    data[i] = Math.max(0, Math.min(255, 60 + ((i % W) >> 2) + n));
  }
  return { width: W, height: H, channels: 1, data };
}

/** `image` with a bright square (a face that came) at `box`. */
function withPatch(image: Image, box: Box): Image {
  const data = image.data.slice();
  for (let y = box.y; y < box.y + box.h; y++) {
    data.fill(250, y * W + box.x, y * W + box.x + box.w);
  }
  return { ...image, data };
}

function rgb(image: Image): Image {
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) data.fill(image.data[i], 3 * i, 3 * i + 3);
  return { width: W, height: H, channels: 3, data };
}

Deno.test("a face that comes away from the tracks is a change; one near a track, or noise, is not", () => {
  const watch = new SceneWatch();
  const still = frame();
  const track = { x: 300, y: 200, w: 80, h: 80 };
  assert.equal(watch.changedAway(still, [track]), true, "nothing scanned yet");
  watch.scanned(still);
  assert.equal(watch.changedAway(still, [track]), false);
  assert.equal(watch.changedAway(frame(6, 7), [track]), false, "noise");
  // 30 px, far from the track.
  const came = withPatch(still, { x: 40, y: 40, w: 30, h: 36 });
  assert.equal(watch.changedAway(came, [track]), true);
  assert.equal(watch.changedAway(came, []), true);
  // Inside the track's search window (its box grown by half each side).
  const moved = withPatch(still, { x: 270, y: 180, w: 60, h: 60 });
  assert.equal(watch.changedAway(moved, [track]), false);
  assert.equal(watch.changedAway(moved, []), true);
  // Once scanned, the new face is the reference.
  watch.scanned(came);
  assert.equal(watch.changedAway(came, [track]), false);
  assert.equal(watch.changedAway(still, [track]), true, "and when it goes");
  // Boxes partly or wholly outside the frame are fine.
  assert.equal(
    watch.changedAway(came, [
      { x: -100, y: -100, w: 40, h: 40 },
      { x: 700, y: 500, w: 40, h: 40 },
      { x: 20, y: 20, w: 60, h: 60 },
    ]),
    false,
  );
});

Deno.test("RGB frames are watched too; a frame of another size is a change", () => {
  const watch = new SceneWatch();
  const still = rgb(frame());
  watch.scanned(still);
  assert.equal(watch.changedAway(still, []), false);
  assert.equal(
    watch.changedAway(
      rgb(withPatch(frame(), { x: 500, y: 400, w: 40, h: 40 })),
      [],
    ),
    true,
  );
  const small: Image = {
    width: 320,
    height: 240,
    channels: 1,
    data: new Uint8Array(320 * 240),
  };
  assert.equal(watch.changedAway(small, []), true);
});
