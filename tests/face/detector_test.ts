import assert from "node:assert/strict";
import { type Box, toGrey } from "../../lib/images/image.ts";
import { fileURLToPath } from "node:url";
import { readImage } from "../../lib/images/image_io.ts";
import {
  FaceDetector,
  largestFace,
  SERVER_DETECT_OPTIONS,
} from "../../lib/face/detector.ts";

const DIR = new URL("../fixtures/detection/", import.meta.url);

interface Expected {
  cases: ({ name: string } & Record<string, number>)[];
  images: Record<string, Record<string, number[][]>>;
}

function sorted(boxes: Box[]): number[][] {
  return boxes.map((b) => [b.x, b.y, b.w, b.h]).sort((a, b) =>
    a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || a[3] - b[3]
  );
}

/** Compares every photo and case of an expected file; returns boxes seen. */
async function compareAll(
  file: string,
  detector: FaceDetector,
): Promise<number> {
  const expected: Expected = JSON.parse(
    await Deno.readTextFile(new URL(file, DIR)),
  );
  let compared = 0;
  let faces = 0;
  for (const [photo, cases] of Object.entries(expected.images)) {
    const image = await readImage(fileURLToPath(new URL(photo, DIR)));
    assert.equal(image.channels, 1);
    for (const { name, ...options } of expected.cases) {
      const got = sorted(detector.detect(image, options));
      assert.deepEqual(got, cases[name], `${photo} ${name}`);
      compared++;
      faces += got.length;
    }
  }
  assert.equal(compared, 9 * expected.cases.length);
  return faces;
}

// Expected boxes: native OpenCV 4.6 detectMultiScale on the same grey
// pixels, made by tools/oracle_detect.py.
Deno.test("boxes equal native OpenCV's for every photo and parameter set", async () => {
  const detector = await FaceDetector.create();
  try {
    const faces = await compareAll("expected.json", detector);
    assert.ok(faces > 100, `only ${faces} boxes in all: fixtures too easy`);
  } finally {
    detector.close();
  }
});

// The alt cascade (the original design's), and the two-stage search, whose
// boxes come from detectMultiScale calls on windows of the photo: the oracle
// repeats its steps with cv2.
Deno.test("alt cascade and confirm boxes equal native OpenCV's", async () => {
  const detector = await FaceDetector.create();
  try {
    const faces = await compareAll("expected_alt.json", detector);
    assert.ok(faces > 100, `only ${faces} boxes in all: fixtures too easy`);
  } finally {
    detector.close();
  }
});

Deno.test("cascades by name, path or cascadePath load once and agree", async () => {
  const image = await readImage(
    fileURLToPath(new URL("2008_002506.pgm", DIR)),
  );
  const altPath = fileURLToPath(
    new URL("../../data/haarcascade_frontalface_alt.xml", import.meta.url),
  );
  const byName = await FaceDetector.create({ cascade: "alt" });
  const byPath = await FaceDetector.create({ cascade: altPath });
  const byOldOption = await FaceDetector.create({ cascadePath: altPath });
  const lazy = await FaceDetector.create();
  try {
    const want = sorted(byName.detect(image));
    assert.ok(want.length >= 2);
    assert.deepEqual(sorted(byPath.detect(image)), want);
    assert.deepEqual(sorted(byOldOption.detect(image)), want);
    // Loaded on first use by a detector made for the default cascade.
    assert.deepEqual(sorted(lazy.detect(image, { cascade: "alt" })), want);
    assert.notDeepEqual(sorted(lazy.detect(image)), want);
    assert.throws(
      () => lazy.detect(image, { cascade: "/nonexistent/alt.xml" }),
      /\/nonexistent\/alt\.xml: file not found/,
    );
    assert.throws(
      () => lazy.detect(image, { cascade: "" }),
      /cascade must be "default", "alt" or a file path/,
    );
  } finally {
    byName.close();
    byPath.close();
    byOldOption.close();
    lazy.close();
  }
});

Deno.test("confirm handles images smaller than its copies", async () => {
  const detector = await FaceDetector.create({
    cascade: "alt",
    scaleFactor: 1.2,
    confirm: true,
    maxWidth: 400,
  });
  try {
    for (const [width, height] of [[1, 1], [30, 20], [39, 60], [90, 70]]) {
      const blank = {
        width,
        height,
        channels: 1 as const,
        data: new Uint8Array(width * height).fill(128),
      };
      assert.deepEqual(detector.detect(blank), [], `${width}x${height}`);
    }
    assert.throws(
      () =>
        detector.detect({
          width: 1,
          height: 1,
          channels: 1,
          data: new Uint8Array(1),
        }, { confirm: "yes" as unknown as boolean }),
      /confirm must be true or false/,
    );
  } finally {
    detector.close();
  }
});

Deno.test("RGB input gives the boxes of its grey conversion", async () => {
  const grey = await readImage(
    fileURLToPath(new URL("2008_002506.pgm", DIR)),
  );
  // Grey replicated to RGB converts back to the same grey exactly.
  const rgb = new Uint8Array(grey.data.length * 3);
  for (let i = 0; i < grey.data.length; i++) {
    rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = grey.data[i];
  }
  const detector = await FaceDetector.create({ minNeighbors: 5 });
  try {
    const fromGrey = sorted(detector.detect(grey));
    const fromRgb = sorted(
      detector.detect({ ...grey, channels: 3, data: rgb }),
    );
    assert.ok(fromGrey.length >= 2);
    assert.deepEqual(fromRgb, fromGrey);
    // Buffers are reused between sizes: a crop, then the full image again.
    const crop = {
      width: 200,
      height: 150,
      channels: 1 as const,
      data: new Uint8Array(200 * 150),
    };
    for (let y = 0; y < 150; y++) {
      crop.data.set(
        grey.data.subarray(
          (60 + y) * grey.width + 200,
          (60 + y) * grey.width + 400,
        ),
        y * 200,
      );
    }
    const inCrop = detector.detect(crop);
    for (const b of inCrop) {
      assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.w <= 200 && b.y + b.h <= 150);
    }
    assert.deepEqual(sorted(detector.detect(grey)), fromGrey);
  } finally {
    detector.close();
  }
});

Deno.test("a JPEG photo gives native OpenCV's boxes end to end", async () => {
  const expected: Expected = JSON.parse(
    await Deno.readTextFile(new URL("expected.json", DIR)),
  );
  const path = fileURLToPath(new URL("2008_002506.jpg", DIR));
  const rgb = await readImage(path);
  assert.equal(rgb.channels, 3);
  const detector = await FaceDetector.create();
  try {
    for (const { name, ...options } of expected.cases) {
      assert.deepEqual(
        sorted(detector.detect(rgb, options)),
        expected.images["2008_002506.pgm"][name],
        name,
      );
    }
  } finally {
    detector.close();
  }
});

Deno.test("colour frames give the boxes of their grey conversion", async () => {
  const grey = await readImage(
    fileURLToPath(new URL("2008_007676.pgm", DIR)),
  );
  // Colour made from the grey photo with channel-dependent noise.
  const rgb = new Uint8Array(grey.data.length * 3);
  let seed = 99;
  for (let i = 0; i < rgb.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const v = grey.data[Math.floor(i / 3)] + (seed % 41) - 20;
    rgb[i] = Math.max(0, Math.min(255, v));
  }
  const colour = { ...grey, channels: 3 as const, data: rgb };
  const detector = await FaceDetector.create();
  try {
    const fromColour = sorted(detector.detect(colour));
    assert.ok(fromColour.length >= 3);
    assert.deepEqual(fromColour, sorted(detector.detect(toGrey(colour))));
  } finally {
    detector.close();
  }
});

Deno.test("a blank frame has no face", async () => {
  const detector = await FaceDetector.create();
  try {
    const blank = {
      width: 320,
      height: 240,
      channels: 1 as const,
      data: new Uint8Array(320 * 240).fill(128),
    };
    assert.deepEqual(detector.detect(blank), []);
  } finally {
    detector.close();
  }
});

Deno.test("bad input and bad files give clear errors", async () => {
  await assert.rejects(
    FaceDetector.create({ cascadePath: "/nonexistent/cascade.xml" }),
    /\/nonexistent\/cascade\.xml: file not found/,
  );
  const notCascade = await Deno.makeTempFile({ suffix: ".xml" });
  try {
    await Deno.writeTextFile(notCascade, "<?xml version='1.0'?><x>1</x>");
    await assert.rejects(
      FaceDetector.create({ cascadePath: notCascade }),
      /not a valid OpenCV cascade/,
    );
  } finally {
    await Deno.remove(notCascade);
  }
  const detector = await FaceDetector.create();
  const image = {
    width: 10,
    height: 10,
    channels: 1 as const,
    data: new Uint8Array(99),
  };
  assert.throws(() => detector.detect(image), /invalid image 10x10x1/);
  image.data = new Uint8Array(100);
  assert.throws(
    () => detector.detect(image, { scaleFactor: 1 }),
    /scaleFactor must be > 1/,
  );
  detector.close();
  assert.throws(() => detector.detect(image), /after close/);
});

Deno.test("largestFace picks the biggest box", () => {
  assert.equal(largestFace([]), undefined);
  const a = { x: 0, y: 0, w: 10, h: 10 };
  const b = { x: 5, y: 5, w: 30, h: 20 };
  const c = { x: 9, y: 9, w: 20, h: 30 };
  assert.equal(largestFace([a, b, c]), b);
  assert.equal(largestFace([a, c, b]), c);
});

Deno.test("detectNear finds the faces of a full detection around their boxes, and nothing elsewhere", async () => {
  const detector = await FaceDetector.create(SERVER_DETECT_OPTIONS);
  const overlap = (a: Box, b: Box) => {
    const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
    const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
    if (w <= 0 || h <= 0) return 0;
    return w * h / (a.w * a.h + b.w * b.h - w * h);
  };
  try {
    let faces = 0;
    let foundAt = 0;
    let foundOff = 0;
    for (const entry of Deno.readDirSync(DIR)) {
      if (!entry.name.endsWith(".pgm")) continue;
      const image = await readImage(fileURLToPath(new URL(entry.name, DIR)));
      const full = detector.detect(image);
      faces += full.length;
      const near = detector.detectNear(image, full);
      // Where a track predicts its face, off by a fifth of its size.
      const off = detector.detectNear(
        image,
        full.map((b) => ({
          ...b,
          x: b.x + Math.round(b.w / 5),
          y: b.y - Math.round(b.h / 5),
        })),
      );
      const found = (boxes: Box[]) =>
        full.filter((f) => boxes.some((b) => overlap(f, b) >= 0.5)).length;
      foundAt += found(near);
      foundOff += found(off);
      assert.ok(near.length <= full.length, entry.name);
    }
    assert.ok(faces > 30, `only ${faces} faces`);
    assert.equal(foundAt, faces);
    assert.ok(foundOff >= faces - 1, `${foundOff} of ${faces}`);

    const blank = {
      width: 320,
      height: 240,
      channels: 1 as const,
      data: new Uint8Array(320 * 240).fill(128),
    };
    const box = { x: 100, y: 80, w: 60, h: 60 };
    assert.deepEqual(detector.detectNear(blank, [box]), []);
    assert.deepEqual(detector.detectNear(blank, []), []);
    assert.deepEqual(
      detector.detectNear(blank, [
        { ...box, w: 0 },
        { x: -500, y: -500, w: 60, h: 60 },
        { x: 300, y: 230, w: 400, h: 400 },
      ]),
      [],
    );
    assert.throws(
      () => detector.detectNear({ ...blank, data: new Uint8Array(3) }, [box]),
      /invalid image/,
    );
  } finally {
    detector.close();
  }
  assert.throws(
    () => detector.detectNear(blankImage(), []),
    /after close/,
  );
});

function blankImage() {
  return {
    width: 32,
    height: 32,
    channels: 1 as const,
    data: new Uint8Array(32 * 32),
  };
}
