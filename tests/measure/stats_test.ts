import assert from "node:assert/strict";
import {
  mean,
  percentile,
  reportEvery,
  StageStats,
} from "../../lib/measure/stats.ts";

Deno.test("percentile interpolates like numpy's default", () => {
  const values = [15, 20, 35, 40, 50];
  // numpy.percentile([15, 20, 35, 40, 50], [0, 40, 50, 95, 100]) -> 15, 29, 35, 48, 50
  assert.equal(percentile(values, 0), 15);
  assert.equal(percentile(values, 40), 29);
  assert.equal(percentile(values, 50), 35);
  assert.ok(Math.abs(percentile(values, 95) - 48) < 1e-9);
  assert.equal(percentile(values, 100), 50);
  assert.ok(Number.isNaN(percentile([], 50)));
});

Deno.test("percentile does not reorder its input", () => {
  const values = [3, 1, 2];
  percentile(values, 50);
  assert.deepEqual(values, [3, 1, 2]);
});

Deno.test("mean of values", () => {
  assert.equal(mean([1, 2, 3, 6]), 3);
  assert.ok(Number.isNaN(mean([])));
});

Deno.test("StageStats averages stages per frame and resets", () => {
  const stats = new StageStats();
  stats.add({ detect: 4, recognise: 1 });
  stats.add({ detect: 6, recognise: 3 });
  assert.equal(stats.frames, 2);
  assert.deepEqual(stats.means(), { detect: 5, recognise: 2 });
  assert.match(
    stats.line(),
    /^2 frames, [0-9.]+ fps, ms\/frame: detect 5\.0, recognise 2\.0$/,
  );
  stats.reset();
  assert.equal(stats.frames, 0);
  assert.deepEqual(stats.means(), {});
});

Deno.test("StageStats.addTotals adds many frames at once", () => {
  const stats = new StageStats();
  stats.addTotals(4, { detect: 20 });
  stats.add({ detect: 5 });
  assert.equal(stats.frames, 5);
  assert.deepEqual(stats.means(), { detect: 5 });
  assert.deepEqual(stats.totals(), { detect: 25 });
});

Deno.test("StageStats counts errors per window", () => {
  const stats = new StageStats();
  stats.addErrors();
  stats.addErrors(2);
  assert.equal(stats.errors, 3);
  assert.equal(stats.frames, 0);
  stats.reset();
  assert.equal(stats.errors, 0);
});

Deno.test("reportEvery reports windows with frames or errors, then starts a new one", async () => {
  const stats = new StageStats();
  const seen: [number, number][] = [];
  using _report = reportEvery(stats, {
    intervalMs: 40,
    report: (window) => seen.push([window.frames, window.errors]),
  });
  stats.add({ detect: 2 });
  stats.add({ detect: 4 });
  await new Promise((r) => setTimeout(r, 60));
  stats.addErrors();
  await new Promise((r) => setTimeout(r, 40));
  // A quiet window says nothing.
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(seen, [[2, 0], [0, 1]]);
});

Deno.test("reportEvery with no interval reports nothing", async () => {
  const stats = new StageStats();
  let calls = 0;
  const report = reportEvery(stats, { intervalMs: 0, report: () => calls++ });
  stats.add({ detect: 1 });
  await new Promise((r) => setTimeout(r, 20));
  report.stop();
  assert.equal(calls, 0);
  assert.equal(stats.frames, 1);
});
