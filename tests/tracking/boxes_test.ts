import assert from "node:assert/strict";
import { iou, matchBoxes, MIN_IOU } from "../../lib/tracking/boxes.ts";

const box = (x: number, y: number, w = 100, h = 100) => ({ x, y, w, h });

Deno.test("iou: same box 1, apart 0, half overlap 1/3, empty boxes 0", () => {
  assert.equal(iou(box(0, 0), box(0, 0)), 1);
  assert.equal(iou(box(0, 0), box(100, 0)), 0, "touching edges");
  assert.equal(iou(box(0, 0), box(500, 500)), 0);
  assert.equal(iou(box(0, 0), box(50, 0)), 5000 / 15000);
  assert.equal(iou(box(0, 0, 0, 0), box(0, 0, 0, 0)), 0);
  assert.equal(iou(box(10, 10, 20, 20), box(0, 0)), 400 / 10000, "inside");
  assert.equal(iou(box(-50, -50), box(0, 0)), 2500 / 17500);
});

Deno.test("matchBoxes: one to one, best overlap first, nothing under the minimum", () => {
  const faces = [box(0, 0), box(200, 0), box(1000, 0)];
  const hints = [box(190, 0), box(10, 0), box(5, 0)];
  // Face 0 overlaps hints 1 and 2; hint 2 is nearer. Face 2 has none.
  assert.deepEqual(matchBoxes(faces, hints), [2, 0, -1]);
  // A hint taken by a better face is not given to a worse one.
  assert.deepEqual(matchBoxes([box(0, 0), box(20, 0)], [box(18, 0)]), [-1, 0]);
  // The minimum: 0.3 by default.
  const shifted = box(55, 0); // IoU 45/155 = 0.29
  assert.ok(iou(box(0, 0), shifted) < MIN_IOU);
  assert.deepEqual(matchBoxes([box(0, 0)], [shifted]), [-1]);
  assert.deepEqual(matchBoxes([box(0, 0)], [shifted], { minIou: 0.2 }), [0]);
  // Ties: the earlier face, then the earlier target.
  assert.deepEqual(matchBoxes([box(0, 0), box(0, 0)], [box(0, 0)]), [0, -1]);
  assert.deepEqual(matchBoxes([box(0, 0)], [box(0, 0), box(0, 0)]), [0]);
  // Taken targets are left out.
  assert.deepEqual(
    matchBoxes([box(0, 0)], [box(0, 0), box(5, 0)], { taken: new Set([0]) }),
    [1],
  );
  assert.deepEqual(matchBoxes([], [box(0, 0)]), []);
  assert.deepEqual(matchBoxes([box(0, 0)], []), [-1]);
});
