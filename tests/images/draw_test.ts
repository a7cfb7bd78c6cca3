import assert from "node:assert/strict";
import type { Image } from "../../lib/images/image.ts";
import { loadOpenCV } from "../../lib/face/opencv.ts";
import {
  drawFaces,
  KNOWN_COLOUR,
  UNKNOWN_COLOUR,
} from "../../lib/images/draw.ts";

function grey(width: number, height: number, channels: 1 | 3): Image {
  const data = new Uint8Array(width * height * channels).fill(100);
  return { width, height, channels, data };
}

function pixel(image: Image, x: number, y: number): number[] {
  const i = (y * image.width + x) * image.channels;
  return [...image.data.subarray(i, i + image.channels)];
}

function changed(
  before: Image,
  after: Image,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
): number {
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if (pixel(before, x, y).join() !== pixel(after, x, y).join()) n++;
    }
  }
  return n;
}

Deno.test("boxes are green for known and red for unknown faces; nothing else changes", async () => {
  await loadOpenCV();
  const image = grey(200, 160, 3);
  const before = { ...image, data: image.data.slice() };
  drawFaces(image, [
    { x: 20, y: 40, w: 50, h: 60, label: "alice", distance: 31.25 },
    { x: 120, y: 40, w: 50, h: 60, label: "unknown", distance: 120 },
  ]);
  // Box edges (left, right, top, bottom middles).
  for (const [x, y] of [[20, 70], [69, 70], [45, 40], [45, 99]]) {
    assert.deepEqual(pixel(image, x, y), [...KNOWN_COLOUR], `known ${x},${y}`);
  }
  for (const [x, y] of [[120, 70], [169, 70], [145, 40], [145, 99]]) {
    assert.deepEqual(
      pixel(image, x, y),
      [...UNKNOWN_COLOUR],
      `unknown ${x},${y}`,
    );
  }
  // Inside the boxes and the bottom of the frame stay untouched.
  assert.equal(changed(before, image, 25, 45, 65, 95), 0);
  assert.equal(changed(before, image, 125, 45, 165, 95), 0);
  assert.equal(changed(before, image, 0, 110, 200, 160), 0);
  // A label is written above each box.
  assert.ok(
    changed(before, image, 20, 20, 110, 38) > 30,
    "no label above alice",
  );
  assert.ok(
    changed(before, image, 120, 20, 200, 38) > 30,
    "no label above unknown",
  );
});

Deno.test("grey frames, clipped boxes and no faces", async () => {
  await loadOpenCV();
  const image = grey(100, 80, 1);
  const before = { ...image, data: image.data.slice() };
  drawFaces(image, []);
  assert.deepEqual(image.data, before.data);
  drawFaces(image, [
    { x: 60, y: 2, w: 100, h: 100, label: "bob", distance: NaN },
  ]);
  assert.equal(pixel(image, 60, 50)[0], 150, "green as grey luminance");
  assert.ok(changed(before, image, 0, 0, 100, 80) > 0);
  assert.equal(changed(before, image, 0, 0, 55, 80), 0);
});

Deno.test("malformed images are refused with a clear error", async () => {
  await loadOpenCV();
  const image = {
    width: 10,
    height: 10,
    channels: 3 as const,
    data: new Uint8Array(10),
  };
  assert.throws(
    () =>
      drawFaces(image, [{ x: 0, y: 0, w: 5, h: 5, label: "a", distance: 1 }]),
    /drawFaces: invalid image 10x10x3 with 10 bytes/,
  );
});
