import assert from "node:assert/strict";
import { extractChip, fitMeanShape, type Point } from "../../lib/face/align.ts";
import {
  detectLandmarks,
  HAAR_LANDMARK_BOX,
  landmarkBox,
} from "../../lib/face/landmarks.ts";
import { loadFaceNets } from "../../lib/face/_tfjs.ts";
import type { Box, Image } from "../../lib/images/image.ts";
import { readImage } from "../../lib/images/image_io.ts";

// ORL s3/1.pgm and the box the Haar detector finds in it (training options).
const FACE = new URL("../fixtures/orl/s3/1.pgm", import.meta.url).pathname;
const BOX: Box = { x: 8, y: 24, w: 80, h: 80 };

function mean(points: Point[], from: number, to: number): Point {
  let x = 0, y = 0;
  for (let i = from; i <= to; i++) {
    x += points[i].x;
    y += points[i].y;
  }
  return { x: x / (to - from + 1), y: y / (to - from + 1) };
}

Deno.test("landmarkBox: a square 1.03 times the Haar box, a little lower", () => {
  const r = landmarkBox({ x: 100, y: 50, w: 200, h: 200 });
  const side = 200 * HAAR_LANDMARK_BOX.scale;
  assert.equal(r.w, side);
  assert.equal(r.h, side);
  assert.equal(r.x + r.w / 2, 200);
  assert.equal(r.y + r.h / 2, 150 + 200 * HAAR_LANDMARK_BOX.shiftY);
  const custom = landmarkBox({ x: 0, y: 0, w: 100, h: 80 }, {
    scale: 1.5,
    shiftY: 0,
  });
  assert.deepEqual(custom, { x: -25, y: -35, w: 150, h: 150 });
});

const nets = await loadFaceNets();
const face = await readImage(FACE, { grey: true });

Deno.test("detectLandmarks: a face's parts where a face has them", () => {
  const points = detectLandmarks(nets, face, BOX);
  assert.equal(points.length, 68);
  for (const p of points) {
    assert.ok(p.x > BOX.x - 10 && p.x < BOX.x + BOX.w + 10, `x ${p.x}`);
    assert.ok(p.y > BOX.y - 10 && p.y < BOX.y + BOX.h + 20, `y ${p.y}`);
  }
  const leftEye = mean(points, 36, 41), rightEye = mean(points, 42, 47);
  const noseTip = points[30], mouth = mean(points, 48, 67), chin = points[8];
  assert.ok(leftEye.x < noseTip.x && noseTip.x < rightEye.x);
  assert.ok(Math.max(leftEye.y, rightEye.y) < noseTip.y);
  assert.ok(noseTip.y < mouth.y && mouth.y < chin.y);
  assert.ok(fitMeanShape(points).residual < 0.1);
});

Deno.test("detectLandmarks follows a turned face", () => {
  // The face turned 20 degrees about its box's centre (black outside).
  const degrees = 20, r = degrees * Math.PI / 180;
  const cx = BOX.x + BOX.w / 2, cy = BOX.y + BOX.h / 2;
  const size = 160;
  // Chip pixel (c, r) of the turned picture shows the frame point rotated
  // back by the angle; the chip's centre is the box's centre.
  const cos = Math.cos(-r), sin = Math.sin(-r), h = (size - 1) / 2;
  const turned: Image = extractChip(face, {
    a: cos,
    b: -sin,
    c: sin,
    d: cos,
    tx: cx - cos * h + sin * h,
    ty: cy - sin * h - cos * h,
    size,
  });
  const box = { x: h - BOX.w / 2, y: h - BOX.h / 2, w: BOX.w, h: BOX.h };
  const upright = fitMeanShape(detectLandmarks(nets, face, BOX)).transform;
  const tilted = fitMeanShape(detectLandmarks(nets, turned, box)).transform;
  const angle = (t: { a: number; b: number }) =>
    Math.atan2(t.b, t.a) * 180 / Math.PI;
  const turn = angle(tilted) - angle(upright);
  assert.ok(Math.abs(turn - degrees) < 4, `turned ${turn} degrees`);
});

Deno.test("detectLandmarks refuses an input of the wrong size", () => {
  assert.throws(() => nets.landmarks(new Uint8Array(10)), /112x112 RGB/);
  assert.throws(() => nets.descriptor(new Uint8Array(10)), /150x150 RGB/);
});
