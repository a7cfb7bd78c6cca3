import assert from "node:assert/strict";
import {
  cropGrey,
  equalizeHist,
  prepareFace,
  resizeGrey,
} from "../../lib/face/face_prep.ts";
import type { Image } from "../../lib/images/image.ts";
import { readImage } from "../../lib/images/image_io.ts";

const dir = new URL("../fixtures/face_prep/", import.meta.url);

Deno.test("equalizeHist equals cv2.equalizeHist on ORL faces", async () => {
  const cases: { file: string; equalized: number[] }[] = JSON.parse(
    await Deno.readTextFile(new URL("expected.json", dir)),
  );
  assert.ok(cases.length >= 2);
  for (const { file, equalized } of cases) {
    const grey = await readImage(new URL(file, dir).pathname, { grey: true });
    const ours = equalizeHist(grey);
    assert.equal(ours.data.length, equalized.length);
    assert.deepEqual([...ours.data], equalized, file);
  }
});

Deno.test("equalizeHist of a flat image keeps it flat", () => {
  const flat: Image = {
    width: 3,
    height: 2,
    channels: 1,
    data: new Uint8Array(6).fill(77),
  };
  assert.deepEqual([...equalizeHist(flat).data], [77, 77, 77, 77, 77, 77]);
});

Deno.test("cropGrey clips the grown box to the image", () => {
  const grey: Image = {
    width: 4,
    height: 3,
    channels: 1,
    data: new Uint8Array([0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]),
  };
  const inner = cropGrey(grey, { x: 1, y: 1, w: 2, h: 1 });
  assert.deepEqual(inner, {
    width: 2,
    height: 1,
    channels: 1,
    data: new Uint8Array([11, 12]),
  });
  const grown = cropGrey(grey, { x: 1, y: 1, w: 2, h: 2 }, { margin: 0.5 });
  assert.equal(grown.width, 4);
  assert.equal(grown.height, 3);
  assert.throws(() => cropGrey(grey, { x: 9, y: 9, w: 2, h: 2 }), /outside/);
});

Deno.test("resizeGrey keeps a constant image constant and gradients monotone", () => {
  const ramp: Image = {
    width: 4,
    height: 1,
    channels: 1,
    data: new Uint8Array([0, 80, 160, 240]),
  };
  const up = resizeGrey(ramp, 8, 2);
  assert.equal(up.data.length, 16);
  for (let x = 1; x < 8; x++) assert.ok(up.data[x] >= up.data[x - 1]);
  assert.deepEqual([...up.data.subarray(0, 8)], [...up.data.subarray(8, 16)]);
  const flat: Image = {
    width: 5,
    height: 5,
    channels: 1,
    data: new Uint8Array(25).fill(9),
  };
  assert.ok(resizeGrey(flat, 3, 7).data.every((v) => v === 9));
});

Deno.test("prepareFace returns a square equalised patch of the asked size", async () => {
  const grey = await readImage(new URL("s1_1.pgm", dir).pathname, {
    grey: true,
  });
  const face = prepareFace(grey, { x: 10, y: 20, w: 60, h: 70 }, {
    size: 50,
  });
  assert.equal(face.width, 50);
  assert.equal(face.height, 50);
  assert.equal(Math.max(...face.data), 255);
});

Deno.test("resizeGrey shrinks by averaging whole and partial source pixels", () => {
  const grey: Image = {
    width: 4,
    height: 2,
    channels: 1,
    data: new Uint8Array([10, 20, 30, 40, 50, 60, 70, 80]),
  };
  // 2x2 blocks: (10+20+50+60)/4 = 35, (30+40+70+80)/4 = 55.
  assert.deepEqual([...resizeGrey(grey, 2, 1).data], [35, 55]);
  // 4 -> 3 columns: each output covers 4/3 source pixels.
  const row: Image = {
    width: 4,
    height: 1,
    channels: 1,
    data: new Uint8Array([0, 30, 60, 90]),
  };
  // [0*1 + 30*(1/3)] / (4/3) = 7.5 -> 8; [30*(2/3) + 60*(2/3)] / (4/3) = 45; [60/3 + 90] / (4/3) = 82.5 -> 83
  assert.deepEqual([...resizeGrey(row, 3, 1).data], [8, 45, 83]);
});
