import assert from "node:assert/strict";
import type { Image } from "../../lib/images/image.ts";
import { readImage } from "../../lib/images/image_io.ts";
import { lookAt, similarity } from "../../lib/tracking/appearance.ts";
import { TRACK_RULES } from "../../lib/tracking/tracker.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A grey 400x300 frame with ORL face `file` (AT&T / ORL) at (x, y), its light scaled by `gain`. */
async function frame(
  file: string,
  x: number,
  y: number,
  gain = 1,
): Promise<Image> {
  const face = await readImage(`${ROOT}tests/fixtures/orl/${file}`, {
    grey: true,
  });
  const data = new Uint8Array(400 * 300).fill(90);
  for (let r = 0; r < face.height; r++) {
    for (let c = 0; c < face.width; c++) {
      data[(y + r) * 400 + x + c] = Math.min(
        255,
        face.data[r * face.width + c] * gain,
      );
    }
  }
  return { width: 400, height: 300, channels: 1, data };
}

const at = (x: number, y: number) => ({ x, y, w: 92, h: 112 });

Deno.test("a face looks like itself moved a little or in other light, not like somebody else", async () => {
  const s2 = await frame("s2/7.pgm", 100, 80);
  const same = lookAt(s2, at(100, 80))!;
  assert.equal(same.length, 64);
  assert.ok(Math.abs(similarity(same, same) - 1) < 1e-5);
  // The box off by a few pixels, as a prediction is.
  const off = lookAt(s2, at(102, 79))!;
  assert.ok(similarity(same, off) > 0.8, `${similarity(same, off)}`);
  // Darker light: the same pattern.
  const dark = await frame("s2/7.pgm", 100, 80, 0.6);
  assert.ok(similarity(same, lookAt(dark, at(100, 80))!) > 0.95);
  // Another person in the same place.
  for (const other of ["s1/7.pgm", "s3/7.pgm", "s4/7.pgm"]) {
    const look = lookAt(await frame(other, 100, 80), at(100, 80))!;
    assert.ok(
      similarity(same, look) < TRACK_RULES.minSimilarity,
      `${other}: ${similarity(same, look)}`,
    );
  }
});

Deno.test("lookAt: RGB works; flat patches and boxes off the picture have no look", async () => {
  const grey = await frame("s2/7.pgm", 100, 80);
  const rgb: Image = {
    width: 400,
    height: 300,
    channels: 3,
    data: Uint8Array.from(
      { length: 400 * 300 * 3 },
      (_, i) => grey.data[Math.floor(i / 3)],
    ),
  };
  const a = lookAt(grey, at(100, 80))!;
  const b = lookAt(rgb, at(100, 80))!;
  assert.ok(similarity(a, b) > 0.999);
  assert.equal(
    lookAt(grey, at(250, 150 + 100)),
    undefined,
    "mostly below the picture",
  );
  assert.equal(lookAt(grey, { x: -200, y: 0, w: 100, h: 100 }), undefined);
  assert.equal(
    lookAt(grey, { x: 300, y: 0, w: 90, h: 90 }),
    undefined,
    "a flat wall",
  );
  assert.equal(
    lookAt(grey, { x: 100, y: 80, w: 5, h: 5 }),
    undefined,
    "too small",
  );
});
