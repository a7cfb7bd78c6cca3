import assert from "node:assert/strict";
import {
  applySimilarity,
  boxMapping,
  chipToFrame,
  extractChip,
  faceChipMapping,
  fitMeanShape,
  fitSimilarity,
  MEAN_FACE_SHAPE,
  type Point,
  type Similarity,
} from "../../lib/face/align.ts";
import type { Image } from "../../lib/images/image.ts";

function close(actual: number, expected: number, tolerance: number, what = "") {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what} ${actual} is not within ${tolerance} of ${expected}`,
  );
}

/** A similarity of `scale`, `degrees` and translation (tx, ty). */
function similarity(
  scale: number,
  degrees: number,
  tx: number,
  ty: number,
): Similarity {
  const r = degrees * Math.PI / 180;
  return { a: scale * Math.cos(r), b: scale * Math.sin(r), tx, ty };
}

/** 68 landmarks: the mean shape under `t` (the jaw, unused, at the origin). */
function landmarksOf(t: Similarity): Point[] {
  const points: Point[] = [];
  for (let i = 0; i < 17; i++) points.push({ x: 0, y: 0 });
  for (const [x, y] of MEAN_FACE_SHAPE) {
    points.push(applySimilarity(t, { x, y }));
  }
  return points;
}

function eyeCentres(points: readonly Point[]): [Point, Point] {
  const mean = (from: number) => {
    let x = 0, y = 0;
    for (let i = from; i < from + 6; i++) {
      x += points[i].x;
      y += points[i].y;
    }
    return { x: x / 6, y: y / 6 };
  };
  return [mean(36), mean(42)];
}

Deno.test("fitSimilarity recovers a known transform", () => {
  const t = similarity(2.5, -35, 40, -12);
  const from = [
    { x: 0, y: 0 },
    { x: 1, y: 0.3 },
    { x: -2, y: 5 },
    { x: 7, y: -1 },
    { x: 3, y: 3 },
  ];
  const fit = fitSimilarity(from, from.map((p) => applySimilarity(t, p)));
  close(fit.a, t.a, 1e-9, "a");
  close(fit.b, t.b, 1e-9, "b");
  close(fit.tx, t.tx, 1e-9, "tx");
  close(fit.ty, t.ty, 1e-9, "ty");
});

Deno.test("fitSimilarity is the least-squares fit under noise", () => {
  const t = similarity(1.7, 12, 5, 9);
  const from = MEAN_FACE_SHAPE.map(([x, y]) => ({ x: x * 100, y: y * 100 }));
  // Noise with zero mean and no rotation or scale component on average.
  const to = from.map((p, i) => {
    const q = applySimilarity(t, p);
    return { x: q.x + (i % 2 ? 0.5 : -0.5), y: q.y + (i % 3 - 1) * 0.4 };
  });
  const fit = fitSimilarity(from, to);
  close(Math.hypot(fit.a, fit.b), 1.7, 0.01, "scale");
  close(Math.atan2(fit.b, fit.a) * 180 / Math.PI, 12, 0.2, "angle");
  // Moving any parameter away from the fit only makes the error larger.
  const error = (s: Similarity) =>
    from.reduce((sum, p, i) => {
      const q = applySimilarity(s, p);
      return sum + (q.x - to[i].x) ** 2 + (q.y - to[i].y) ** 2;
    }, 0);
  const best = error(fit);
  for (const key of ["a", "b", "tx", "ty"] as const) {
    for (const delta of [-1e-3, 1e-3]) {
      assert.ok(error({ ...fit, [key]: fit[key] + delta }) > best, key);
    }
  }
});

Deno.test("fitSimilarity refuses too few or coincident points", () => {
  assert.throws(
    () => fitSimilarity([{ x: 1, y: 1 }], [{ x: 1, y: 1 }]),
    /2 or more/,
  );
  assert.throws(
    () =>
      fitSimilarity([{ x: 1, y: 1 }, { x: 1, y: 1 }], [{ x: 0, y: 0 }, {
        x: 2,
        y: 2,
      }]),
    /coincide/,
  );
});

Deno.test("faceChipMapping puts the mean face where dlib's chip has it", () => {
  const size = 150, padding = 0.25;
  const t = similarity(180, 25, 300, 200);
  const landmarks = landmarksOf(t);
  const m = faceChipMapping(landmarks, { size, padding });
  assert.equal(m.size, size);
  // dlib's chip: template point p at (padding + p) / (1 + 2 padding) * size,
  // then the square's corners on the first and last pixels.
  for (let i = 27; i < 68; i++) {
    const [x, y] = MEAN_FACE_SHAPE[i - 17];
    const q = {
      x: (padding + x) / (1 + 2 * padding) * size,
      y: (padding + y) / (1 + 2 * padding) * size,
    };
    const chip = {
      x: (size - 1) / 2 + (q.x - size / 2) * (size - 1) / size,
      y: (size - 1) / 2 + (q.y - size / 2) * (size - 1) / size,
    };
    const frame = chipToFrame(m, chip);
    close(frame.x, landmarks[i].x, 1e-6, `x of ${i}`);
    close(frame.y, landmarks[i].y, 1e-6, `y of ${i}`);
  }
  // Scale: 180 frame pixels per unit face over 150 / 1.5 chip pixels.
  close(Math.hypot(m.a, m.c), 1.8 * size / (size - 1), 1e-9, "pixel step");
});

Deno.test("faceChipMapping levels the eyes of a tilted face", () => {
  for (const degrees of [-40, -10, 0, 15, 33]) {
    const landmarks = landmarksOf(similarity(90, degrees, 160, 140));
    const m = faceChipMapping(landmarks);
    // Invert the mapping to find the eyes in the chip.
    const det = m.a * m.d - m.b * m.c;
    const toChip = (p: Point) => {
      const x = p.x - m.tx, y = p.y - m.ty;
      return { x: (m.d * x - m.b * y) / det, y: (-m.c * x + m.a * y) / det };
    };
    const [left, right] = eyeCentres(landmarks).map(toChip);
    close(left.y, right.y, 1e-9, `eye rows at ${degrees} degrees`);
    assert.ok(left.x < right.x);
    // Where the template has them: its eyes' middle is at x 0.4901 of the
    // unit face, chip column 74.5 + ((0.25 + 0.4901) / 1.5 * 150 - 75) * 149 / 150.
    close((left.x + right.x) / 2, 73.52, 0.01, "eyes' middle");
    assert.ok(left.y > 40 && left.y < 75, `eye row ${left.y}`);
  }
});

Deno.test("faceChipMapping refuses a wrong number of landmarks", () => {
  assert.throws(
    () => faceChipMapping(landmarksOf(similarity(1, 0, 0, 0)).slice(1)),
    /68/,
  );
});

Deno.test("fitMeanShape: near zero for a face shape, large for a squashed one", () => {
  const t = similarity(120, 20, 50, 60);
  const face = fitMeanShape(landmarksOf(t));
  close(face.scale, 120, 1e-6, "scale");
  close(face.residual, 0, 1e-9, "residual");
  const squashed = landmarksOf(t).map((p, i) =>
    i < 17 ? p : { x: p.x, y: p.y * 0.2 }
  );
  assert.ok(fitMeanShape(squashed).residual > 0.15);
});

/** A grey frame with two bright 3x3 dots on a dark ground. */
function dots(width: number, height: number, points: Point[]): Image {
  const data = new Uint8Array(width * height).fill(20);
  for (const p of points) {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        data[(Math.round(p.y) + dy) * width + Math.round(p.x) + dx] = 250;
      }
    }
  }
  return { width, height, channels: 1, data };
}

/** The brightest pixel's (column, row) in one half of a chip's red channel. */
function brightest(chip: Image, fromX: number, toX: number): Point {
  let best = { x: -1, y: -1 }, value = -1;
  for (let y = 0; y < chip.height; y++) {
    for (let x = fromX; x < toX; x++) {
      const v = chip.data[(y * chip.width + x) * 3];
      if (v > value) {
        value = v;
        best = { x, y };
      }
    }
  }
  return best;
}

Deno.test("extractChip turns a tilted face's eyes level: 150x150 RGB", () => {
  const landmarks = landmarksOf(similarity(100, 28, 150, 120));
  const [left, right] = eyeCentres(landmarks);
  const frame = dots(320, 260, [left, right]);
  const chip = extractChip(frame, faceChipMapping(landmarks));
  assert.equal(chip.width, 150);
  assert.equal(chip.height, 150);
  assert.equal(chip.channels, 3);
  assert.equal(chip.data.length, 150 * 150 * 3);
  const a = brightest(chip, 0, 75), b = brightest(chip, 75, 150);
  assert.ok(Math.abs(a.y - b.y) <= 1, `eye rows ${a.y} and ${b.y}`);
  // Grey is copied to the three channels.
  for (let i = 0; i < chip.data.length; i += 3) {
    assert.equal(chip.data[i], chip.data[i + 1]);
    assert.equal(chip.data[i], chip.data[i + 2]);
  }
});

Deno.test("extractChip: a box at its own size copies pixels; outside is black", () => {
  const width = 8, height = 6;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 251;
  const frame: Image = { width, height, channels: 3, data };
  const chip = extractChip(frame, boxMapping({ x: 2, y: 1, w: 4, h: 4 }, 4));
  for (let y = 0; y < 4; y++) {
    for (let x = 0; x < 4; x++) {
      for (let k = 0; k < 3; k++) {
        assert.equal(
          chip.data[(y * 4 + x) * 3 + k],
          data[((y + 1) * width + x + 2) * 3 + k],
        );
      }
    }
  }
  const outside = extractChip(
    frame,
    boxMapping({ x: 20, y: 20, w: 4, h: 4 }, 4),
  );
  assert.ok(outside.data.every((v) => v === 0));
});

Deno.test("extractChip averages when shrinking a lot (no aliasing)", () => {
  // Vertical stripes one pixel wide, shrunk 16 times: plain bilinear would
  // land on stripes of one colour; the pyramid gives the average.
  const width = 640, height = 640;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data[y * width + x] = x % 2 ? 200 : 0;
  }
  const frame: Image = { width, height, channels: 1, data };
  const chip = extractChip(
    frame,
    boxMapping({ x: 0, y: 0, w: 640, h: 640 }, 40),
  );
  for (let y = 5; y < 35; y++) {
    for (let x = 5; x < 35; x++) close(chip.data[(y * 40 + x) * 3], 100, 2);
  }
});
