import assert from "node:assert/strict";
import { loadOpenCV, openCVSync } from "../../lib/face/opencv.ts";

Deno.test("loadOpenCV returns a working cv object, once per process", async () => {
  const first = loadOpenCV();
  const second = loadOpenCV();
  assert.equal(first, second, "the promise is cached");
  const cv = await first;
  assert.equal(typeof cv.Mat, "function");
  assert.equal(cv.then, undefined, "the resolved object is not a thenable");
  // Real work in WASM: a 2x2 grey Mat, summed by OpenCV.
  const mat = cv.matFromArray(2, 2, cv.CV_8UC1, [1, 2, 3, 250]);
  try {
    assert.equal(cv.mean(mat)[0], 64);
    assert.equal(cv.countNonZero(mat), 4);
  } finally {
    mat.delete();
  }
  assert.match(cv.getBuildInformation(), /OpenCV 4\.12/);
  assert.equal(openCVSync(), cv, "sync access once loaded");
});
