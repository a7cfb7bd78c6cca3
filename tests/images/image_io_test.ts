import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Image } from "../../lib/images/image.ts";
import {
  decodeImage,
  encodeJpeg,
  encodePgm,
  encodePng,
  encodePnm,
  ImageError,
  readImage,
} from "../../lib/images/image_io.ts";
import { pythonImports } from "../support/python.ts";

const DIR = fileURLToPath(new URL("../fixtures/images/", import.meta.url));

interface Manifest {
  images: { file: string; expected: string; channels: 1 | 3 }[];
}

function diff(a: Image, b: Image): { max: number; mean: number } {
  assert.equal(a.width, b.width);
  assert.equal(a.height, b.height);
  assert.equal(a.channels, b.channels);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    if (d > max) max = d;
    sum += d;
  }
  return { max, mean: sum / a.data.length };
}

// Expected pixels: cv2.imread of each file, made by tools/oracle_images.py.
// JPEGs are decoded by libjpeg-turbo (as cv2.imread's are), PNGs losslessly,
// so every file, progressive JPEG included, must match to the last bit.
Deno.test("decodes every fixture exactly like cv2.imread", async () => {
  const manifest: Manifest = JSON.parse(
    await Deno.readTextFile(DIR + "manifest.json"),
  );
  assert.ok(manifest.images.length >= 15);
  for (const entry of manifest.images) {
    const got = await readImage(DIR + entry.file);
    const expected = await readImage(DIR + entry.expected);
    assert.equal(got.channels, entry.channels, entry.file);
    // Upright per EXIF orientation: 5, 6 and 8 swap width and height.
    const portrait = /exif[5-8]/.test(entry.file);
    assert.equal(got.width, portrait ? 72 : 96, entry.file);
    assert.equal(got.height, portrait ? 96 : 72, entry.file);
    const d = diff(got, expected);
    assert.equal(d.max, 0, `${entry.file} differs by ${d.max}`);
  }
});

// Made by tests/fixtures/images/oracle_extra_png.py: cases where PNG
// libraries differ (fast-png fails on sub-byte Adam7, pngjs blackens
// colour-keyed pixels unless its caller strips the key).
Deno.test("decodes sub-byte Adam7 and colour-keyed PNGs like cv2.imread", async () => {
  for (
    const [file, channels] of [
      ["crop_adam7_grey2.png", 1],
      ["crop_adam7_pal4.png", 3],
      ["crop_trns.png", 3],
    ] as const
  ) {
    const got = await readImage(DIR + file);
    const expected = await readImage(
      DIR + file + (channels === 1 ? ".pgm" : ".ppm"),
    );
    assert.equal(got.channels, channels, file);
    assert.deepEqual(got, expected, file);
  }
});

/** The stored pixels of `image` as EXIF orientation `tag` shows them. */
function orientLike(image: Image, tag: number): Image {
  const { width: w, height: h, channels: c } = image;
  const swap = tag >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const data = new Uint8Array(image.data.length);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      // [source x, source y] per tag, from the EXIF 2.3 table.
      const [sx, sy] = [
        [x, y],
        [w - 1 - x, y],
        [w - 1 - x, h - 1 - y],
        [x, h - 1 - y],
        [y, x],
        [y, h - 1 - x],
        [w - 1 - y, h - 1 - x],
        [w - 1 - y, x],
      ][tag - 1];
      for (let k = 0; k < c; k++) {
        data[(y * ow + x) * c + k] = image.data[(sy * w + sx) * c + k];
      }
    }
  }
  return { width: ow, height: oh, channels: c, data };
}

Deno.test("every EXIF orientation is applied, as cv2.imread does", async () => {
  // The fixtures check 3, 5, 6 and 8 against cv2; here all eight against
  // the EXIF table, by rewriting the tag of crop_exif3.jpg (big-endian).
  const stored = await readImage(DIR + "crop_444.jpg");
  const file = await Deno.readFile(DIR + "crop_exif3.jpg");
  const at = file.findIndex((v, i) => v === 0x01 && file[i + 1] === 0x12);
  assert.equal(file[at + 9], 3, "orientation value of crop_exif3.jpg");
  for (let tag = 0; tag <= 9; tag++) {
    const bytes = file.slice();
    bytes[at + 9] = tag;
    // 0 and 9 are not orientations: the file is shown as stored.
    const expected = orientLike(stored, tag >= 1 && tag <= 8 ? tag : 1);
    assert.deepEqual(decodeImage(bytes), expected, `orientation ${tag}`);
  }
});

Deno.test("a JPEG inside a larger buffer decodes as on its own", async () => {
  // Frames arrive as views into received messages.
  const jpg = await Deno.readFile(DIR + "crop_420.jpg");
  const message = new Uint8Array(jpg.length + 100).fill(0xff);
  message.set(jpg, 37);
  const view = message.subarray(37, 37 + jpg.length);
  assert.deepEqual(decodeImage(view), decodeImage(jpg));
});

Deno.test("decoding still works after many corrupt JPEGs", async () => {
  // libjpeg's error exits leak the WebAssembly stack; one instance hung
  // after about a hundred of them.
  const jpg = await Deno.readFile(DIR + "crop_420.jpg");
  const bogus = jpg.slice();
  bogus.fill(0xff, 200, 220); // a run of fill bytes, then a bad marker
  for (let i = 0; i < 300; i++) {
    assert.throws(
      () => decodeImage(bogus),
      /corrupt JPEG \(Unsupported marker/,
    );
  }
  const expected = await readImage(DIR + "crop_420.jpg.ppm");
  assert.deepEqual(decodeImage(jpg), expected);
});

Deno.test("grey option gives OpenCV's grey conversion exactly", async () => {
  // *_grey.pgm are cv2.cvtColor(BGR2GRAY) of the colour files; noise.ppm
  // has random colours, where rounding differences would show.
  for (
    const [colour, grey] of [["crop.ppm", "crop_grey.pgm"], [
      "noise.ppm",
      "noise_grey.pgm",
    ]]
  ) {
    const got = await readImage(DIR + colour, { grey: true });
    const expected = await readImage(DIR + grey);
    assert.equal(got.channels, 1);
    assert.deepEqual(got.data, expected.data, colour);
  }
});

Deno.test("a photo decodes to exactly native OpenCV's grey pixels", async () => {
  // 2008_002506.pgm: cv2.imread + cvtColor(BGR2GRAY) of the JPEG next to it.
  const dir = fileURLToPath(new URL("../fixtures/detection/", import.meta.url));
  const got = await readImage(dir + "2008_002506.jpg", { grey: true });
  const expected = await readImage(dir + "2008_002506.pgm");
  assert.equal(got.width, 500);
  assert.equal(got.height, 375);
  assert.deepEqual(got.data, expected.data);
});

Deno.test("ignoreOrientation keeps a JPEG as stored", async () => {
  const stored = await readImage(DIR + "crop_444.jpg");
  const tagged = await readImage(DIR + "crop_exif6.jpg", {
    ignoreOrientation: true,
  });
  assert.deepEqual(tagged, stored);
});

Deno.test("format comes from the magic bytes, not the name", async () => {
  const bytes = await Deno.readFile(DIR + "crop_rgb.png");
  const image = decodeImage(bytes, { name: "photo.jpg" });
  const expected = await readImage(DIR + "crop.ppm");
  assert.deepEqual(image.data, expected.data);
});

Deno.test("encoders round-trip", async () => {
  const rgb = await readImage(DIR + "crop.ppm");
  const grey = await readImage(DIR + "crop_grey.pgm");
  assert.deepEqual(decodeImage(encodePng(rgb)), rgb);
  assert.deepEqual(decodeImage(encodePng(grey)), grey);
  assert.deepEqual(decodeImage(encodePnm(rgb)), rgb);
  assert.deepEqual(decodeImage(encodePgm(rgb)), grey);
  const jpeg = encodeJpeg(rgb, { quality: 95 });
  assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
  const back = decodeImage(jpeg);
  assert.equal(back.channels, 3);
  const d = diff(back, rgb);
  assert.ok(d.mean < 3, `JPEG q95 mean error ${d.mean}`);
  assert.ok(
    encodeJpeg(rgb, { quality: 20 }).length < jpeg.length,
    "lower quality, smaller file",
  );
});

function psnr(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return 10 * Math.log10((255 * 255) / (sum / a.length));
}

interface JpegReference {
  jpegEncoding: Record<
    string,
    { quality: number; bytes: number; psnr: number }
  >;
}

// Reference: cv2.imencode (libjpeg) of the same pixels, tools/oracle_images.py.
Deno.test("encodeJpeg is as compact and faithful as libjpeg at the same quality", async () => {
  const manifest: JpegReference = JSON.parse(
    await Deno.readTextFile(DIR + "manifest.json"),
  );
  for (const [file, ref] of Object.entries(manifest.jpegEncoding)) {
    const image = await readImage(DIR + file);
    const jpeg = encodeJpeg(image, { quality: ref.quality });
    const back = decodeImage(jpeg);
    assert.equal(back.channels, image.channels, file);
    const error = psnr(back.data, image.data);
    assert.ok(
      Math.abs(jpeg.length - ref.bytes) <= ref.bytes * 0.1,
      `${file}: ${jpeg.length} bytes, libjpeg ${ref.bytes}`,
    );
    assert.ok(
      error >= ref.psnr - 1,
      `${file}: PSNR ${error}, libjpeg ${ref.psnr}`,
    );
  }
});

Deno.test("encodeJpeg handles sizes that are not multiples of 16", async () => {
  const rgb = await readImage(DIR + "crop.ppm");
  for (const [w, h] of [[1, 1], [17, 9], [33, 31]]) {
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      data.set(rgb.data.subarray(y * 96 * 3, (y * 96 + w) * 3), y * w * 3);
    }
    const back = decodeImage(
      encodeJpeg({ width: w, height: h, channels: 3, data }, { quality: 95 }),
    );
    assert.equal(back.width, w);
    assert.equal(back.height, h);
    assert.ok(psnr(back.data, data) > 30, `${w}x${h}`);
  }
});

const HAVE_CV2 = pythonImports("cv2");

Deno.test({
  name: "libjpeg (native cv2, when installed) decodes our JPEGs as we do",
  ignore: !HAVE_CV2,
  fn: async () => {
    const rgb = await readImage(DIR + "crop.ppm");
    const file = await Deno.makeTempFile({ suffix: ".jpg" });
    try {
      const jpeg = encodeJpeg(rgb, { quality: 90 });
      await Deno.writeFile(file, jpeg);
      const script = "import sys, cv2; " +
        "im = cv2.imread(sys.argv[1], cv2.IMREAD_COLOR); " +
        "sys.stdout.buffer.write(cv2.cvtColor(im, cv2.COLOR_BGR2RGB).tobytes())";
      const out = await new Deno.Command("/usr/bin/python3", {
        args: ["-c", script, file],
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      assert.equal(out.stdout.length, rgb.data.length);
      const ours = decodeImage(jpeg);
      const d = diff(ours, { ...ours, data: out.stdout });
      assert.ok(d.max <= 10 && d.mean <= 1, `max ${d.max} mean ${d.mean}`);
      assert.ok(psnr(out.stdout, rgb.data) > 38);
    } finally {
      await Deno.remove(file);
    }
  },
});

Deno.test("ASCII PGM/PPM with comments and other maxval", () => {
  const text = new TextEncoder();
  const pgm = decodeImage(
    text.encode("P2\n# a comment\n3 2\n# another\n15\n0 15 7\n\n1 2 3\n"),
  );
  assert.deepEqual(pgm, {
    width: 3,
    height: 2,
    channels: 1,
    data: new Uint8Array([0, 255, 119, 17, 34, 51]),
  });
  const ppm = decodeImage(text.encode("P3 1 1 255 10 20 30"));
  assert.deepEqual([...ppm.data], [10, 20, 30]);
  const wide = decodeImage(
    new Uint8Array([...text.encode("P5 2 1 65535\n"), 0xff, 0xff, 0x80, 0]),
  );
  assert.deepEqual([...wide.data], [255, 128]);
});

function decodeError(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeImage(bytes, { name: "bad.img" }),
    (err: unknown) => {
      assert.ok(err instanceof ImageError, `not an ImageError: ${err}`);
      assert.match(err.message, /^bad\.img: /);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

Deno.test("corrupt, truncated and unsupported files give named errors", async () => {
  const text = new TextEncoder();
  decodeError(new Uint8Array(0), /empty file/);
  decodeError(text.encode("GIF89a......"), /unsupported image format/);
  decodeError(text.encode("P4 1 1\n\0"), /unsupported Netpbm variant P4/);
  decodeError(text.encode("P5 4 4 255\n\0\0"), /truncated PGM\/PPM/);
  decodeError(text.encode("P5 4 x"), /bad height/);
  decodeError(text.encode("P2 2 1 10 5 11"), /value > maxval/);
  const png = await Deno.readFile(DIR + "crop_rgb.png");
  decodeError(png.subarray(0, 100), /truncated PNG/);
  decodeError(png.subarray(0, png.length - 12), /no IEND/);
  const flipped = png.slice();
  flipped[60] ^= 0x40;
  decodeError(flipped, /CRC mismatch in IDAT/);
  const jpg = await Deno.readFile(DIR + "crop_420.jpg");
  decodeError(
    jpg.subarray(0, 10),
    /corrupt or truncated JPEG \(ends before any frame header/,
  );
  decodeError(jpg.subarray(0, 700), /truncated JPEG \(image data ends early\)/);
  decodeError(jpg.subarray(0, jpg.length - 40), /truncated JPEG/);
  await assert.rejects(
    readImage("/nonexistent/face.png"),
    /\/nonexistent\/face\.png: file not found/,
  );
  await assert.rejects(readImage(DIR), /not a regular file/);
});

Deno.test("huge sizes are refused before allocating", async () => {
  const text = new TextEncoder();
  decodeError(text.encode("P5 100000 100000 255\n"), /image too large/);
  // A PNG whose IHDR claims 100000 x 100000 pixels.
  const png = await Deno.readFile(DIR + "crop_grey.png");
  const ihdr = png.slice(0, 33);
  const view = new DataView(ihdr.buffer);
  view.setUint32(16, 100000);
  view.setUint32(20, 100000);
  const forged = encodePng({
    width: 1,
    height: 1,
    channels: 1,
    data: new Uint8Array(1),
  });
  // Re-sign the forged IHDR with a valid CRC, so only its size is wrong.
  const crc = crcOf(ihdr.subarray(12, 29));
  view.setUint32(29, crc);
  const bytes = new Uint8Array([...ihdr, ...forged.subarray(33)]);
  decodeError(bytes, /image too large \(100000x100000/);
  // A JPEG frame header claiming 65000 x 65000.
  const jpg = (await Deno.readFile(DIR + "crop_420.jpg")).slice();
  const sof = findSof(jpg);
  jpg[sof + 5] = 0xfd;
  jpg[sof + 6] = 0xe8;
  jpg[sof + 7] = 0xfd;
  jpg[sof + 8] = 0xe8;
  decodeError(jpg, /image too large \(65000x65000/);
});

Deno.test("damaged files never crash: an image or an ImageError", async () => {
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  let errors = 0;
  let images = 0;
  for (
    const file of ["crop_420.jpg", "crop_rgb.png", "crop_adam7.png", "crop.ppm"]
  ) {
    const original = await Deno.readFile(DIR + file);
    for (let trial = 0; trial < 40; trial++) {
      const bytes = trial < 20
        ? original.subarray(0, Math.floor(random() * original.length))
        : original.slice();
      if (trial >= 20) {
        for (let k = 0; k < 4; k++) {
          bytes[Math.floor(random() * bytes.length)] = Math.floor(
            random() * 256,
          );
        }
      }
      try {
        const image = decodeImage(bytes, { name: file });
        assert.equal(
          image.data.length,
          image.width * image.height * image.channels,
        );
        images++;
      } catch (err) {
        assert.ok(err instanceof ImageError, `${file}: ${err}`);
        assert.ok(err.message.startsWith(`${file}: `));
        errors++;
      }
    }
  }
  assert.ok(errors > 40, `only ${errors} errors`);
  assert.ok(images > 0);
});

function findSof(jpg: Uint8Array): number {
  for (let i = 2; i < jpg.length - 1; i++) {
    if (jpg[i] === 0xff && (jpg[i + 1] === 0xc0 || jpg[i + 1] === 0xc2)) {
      return i;
    }
  }
  throw new Error("no SOF marker");
}

function crcOf(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
