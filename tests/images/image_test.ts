import assert from "node:assert/strict";
import {
  checkImage,
  fromBgr,
  greyFromBgr,
  type Image,
  toBgr,
  toGrey,
  toRgb,
} from "../../lib/images/image.ts";
import { readImage } from "../../lib/images/image_io.ts";

Deno.test("toGrey uses OpenCV's RGB2GRAY weights and rounding", () => {
  const rgb: Image = {
    width: 4,
    height: 1,
    channels: 3,
    data: new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30]),
  };
  const grey = toGrey(rgb);
  assert.equal(grey.channels, 1);
  // Values from cv2.cvtColor(np.array([[[255,0,0],[0,255,0],[0,0,255],[10,200,30]]], np.uint8), cv2.COLOR_RGB2GRAY)
  assert.deepEqual([...grey.data], [76, 150, 29, 124]);
});

Deno.test("toGrey returns a grey image unchanged", () => {
  const grey: Image = {
    width: 2,
    height: 1,
    channels: 1,
    data: new Uint8Array([1, 2]),
  };
  assert.equal(toGrey(grey), grey);
});

Deno.test("greyFromBgr equals toGrey of the same pixels in RGB order", () => {
  const bgr = new Uint8Array([0, 0, 255, 0, 255, 0, 255, 0, 0, 30, 200, 10]);
  const grey = greyFromBgr(bgr, 2, 2);
  assert.deepEqual([...grey.data], [76, 150, 29, 124]);
  assert.throws(() => greyFromBgr(bgr, 3, 2), /expected 18 BGR bytes/);
});

Deno.test("toGrey and greyFromBgr equal cv2.cvtColor on random colours", async () => {
  // noise.ppm: random colours; noise_grey.pgm: cv2.cvtColor(..., BGR2GRAY) of them (tools/oracle_images.py).
  const dir = new URL("../fixtures/images/", import.meta.url).pathname;
  const rgb = await readImage(`${dir}noise.ppm`);
  const expected = await readImage(`${dir}noise_grey.pgm`);
  assert.equal(rgb.channels, 3);
  assert.deepEqual(toGrey(rgb).data, expected.data);
  assert.deepEqual(
    greyFromBgr(toBgr(rgb), rgb.width, rgb.height).data,
    expected.data,
  );
});

Deno.test("BGR helpers swap channels", () => {
  const bgr = new Uint8Array([1, 2, 3, 4, 5, 6]);
  const image = fromBgr(bgr, 2, 1);
  assert.deepEqual([...image.data], [3, 2, 1, 6, 5, 4]);
  assert.deepEqual(toBgr(image), bgr);
  const grey: Image = {
    width: 2,
    height: 1,
    channels: 1,
    data: new Uint8Array([7, 9]),
  };
  assert.deepEqual([...toBgr(grey)], [7, 7, 7, 9, 9, 9]);
  assert.deepEqual([...toRgb(grey).data], [7, 7, 7, 9, 9, 9]);
  assert.equal(toRgb(image), image);
  assert.throws(
    () => fromBgr(bgr, 3, 1),
    /expected 9 bytes for 3x1 BGR, got 6/,
  );
});

Deno.test("checkImage names the shape of a malformed image", () => {
  checkImage({ width: 2, height: 1, channels: 3, data: new Uint8Array(6) });
  assert.throws(
    () =>
      checkImage({ width: 2, height: 1, channels: 3, data: new Uint8Array(5) }),
    /invalid image: 2x1x3 with 5 bytes/,
  );
  assert.throws(
    () => toBgr({ width: 0, height: 1, channels: 1, data: new Uint8Array(0) }),
    /invalid image: 0x1x1/,
  );
});
