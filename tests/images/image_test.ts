import assert from "node:assert/strict";
import { greyFromBgr, type Image, toGrey } from "../../lib/images/image.ts";
import { readImage, toBgr } from "../../lib/images/image_io.ts";

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
