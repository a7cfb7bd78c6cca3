import assert from "node:assert/strict";
import {
  type Accuracy,
  type BenchResult,
  formatReport,
  formatTable,
  missedFaces,
  type OriginalResult,
  parseTruth,
  peakMemoryMiB,
  resetPeakMemory,
  type RunResult,
  scoreFaces,
  type SeenFrame,
  summarize,
  type TruthFrame,
} from "../../lib/measure/bench_report.ts";
import { StageStats } from "../../lib/measure/stats.ts";
import { runProject } from "../support/processes.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const CLIP = "tests/fixtures/clip/clip.mp4";
const TRUTH = "tests/fixtures/clip/clip_truth.json";

async function readTruth(): Promise<TruthFrame[]> {
  return parseTruth(await Deno.readTextFile(`${ROOT}${TRUTH}`), TRUTH);
}

/** The truth itself, as if a run had answered perfectly. */
function perfect(truth: TruthFrame[]): SeenFrame[] {
  return truth.map((entry) => ({
    frame: entry.frame,
    faces: entry.faces.map((f) => ({
      x: f.x,
      y: f.y,
      w: f.w,
      h: f.h,
      label: f.name,
    })),
  }));
}

function runBench(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runProject("bench", args);
}

Deno.test("scoreFaces: the truth scored against itself is all found and named", async () => {
  const truth = await readTruth();
  const faces = truth.reduce((sum, entry) => sum + entry.faces.length, 0);
  assert.ok(faces > 20, "the fixture clip has faces");
  const score = scoreFaces(perfect(truth), truth);
  assert.equal(score.frames, truth.length);
  assert.equal(score.truthFaces, faces);
  assert.equal(score.found, faces);
  assert.equal(score.named, faces);
  assert.equal(score.wrongPerson, 0);
  assert.equal(score.falseFaces, 0);
  assert.equal(score.recall, 1);
  assert.equal(score.namedRight, 1);
  for (const [name, counts] of Object.entries(score.byName)) {
    assert.equal(counts.found, counts.faces, name);
    assert.equal(counts.named, counts.faces, name);
    assert.deepEqual(counts.labels, { [name]: counts.faces });
  }
  assert.equal(
    Object.values(score.byName).reduce((sum, c) => sum + c.faces, 0),
    faces,
  );
});

Deno.test("scoreFaces: misplaced boxes are false faces, wrong names are counted", async () => {
  const truth = await readTruth();
  const faces = truth.reduce((sum, entry) => sum + entry.faces.length, 0);
  // Moved below the frame: the centre falls outside every truth box.
  const moved = perfect(truth).map((entry) => ({
    frame: entry.frame,
    faces: entry.faces.map((f) => ({ ...f, y: f.y + 1000 })),
  }));
  const score = scoreFaces(moved, truth);
  assert.equal(score.found, 0);
  assert.equal(score.falseFaces, faces);
  assert.equal(score.recall, 0);
  assert.ok(Number.isNaN(score.namedRight));

  // Trained people called someone else, untrained ones named: wrong person;
  // everyone called "unknown": found but only the untrained named right.
  const names = new Set(truth.flatMap((e) => e.faces.map((f) => f.name)));
  assert.ok(names.size >= 2, `several people: ${[...names]}`);
  const swapped = perfect(truth).map((entry) => ({
    frame: entry.frame,
    faces: entry.faces.map((f) => ({
      ...f,
      label: f.label === "s1" ? "s2" : "s1",
    })),
  }));
  const wrong = scoreFaces(swapped, truth);
  assert.equal(wrong.found, faces);
  assert.equal(wrong.named, 0);
  assert.equal(wrong.wrongPerson, faces);
  assert.deepEqual(Object.keys(wrong.byName.s1.labels), ["s2"]);
  const unknowns = truth.reduce(
    (sum, e) => sum + e.faces.filter((f) => f.name === "unknown").length,
    0,
  );
  const allUnknown = perfect(truth).map((entry) => ({
    frame: entry.frame,
    faces: entry.faces.map((f) => ({ ...f, label: "unknown" })),
  }));
  const shy = scoreFaces(allUnknown, truth);
  assert.equal(shy.named, unknowns);
  assert.equal(shy.wrongPerson, 0);
});

Deno.test("scoreFaces: one found face matches one truth face; frames without truth are skipped", () => {
  const truth: TruthFrame[] = [{
    frame: 0,
    faces: [
      { name: "s1", x: 0, y: 0, w: 100, h: 100 },
      { name: "s2", x: 200, y: 0, w: 100, h: 100 },
    ],
  }];
  const seen: SeenFrame[] = [
    {
      frame: 0,
      faces: [
        { x: 10, y: 10, w: 80, h: 80, label: "s1" },
        { x: 20, y: 20, w: 60, h: 60, label: "s1" },
      ],
    },
    { frame: 7, faces: [{ x: 0, y: 0, w: 10, h: 10, label: "s3" }] },
  ];
  const score = scoreFaces(seen, truth);
  assert.equal(score.frames, 1);
  assert.equal(score.truthFaces, 2);
  assert.equal(score.found, 1);
  assert.equal(score.named, 1);
  assert.equal(score.falseFaces, 1, "the duplicate box");
  assert.equal(score.recall, 0.5);
});

Deno.test("parseTruth names the file and the fault", () => {
  assert.throws(() => parseTruth("{", "x.json"), /x\.json is not valid JSON/);
  assert.throws(
    () => parseTruth("{}", "x.json"),
    /x\.json must hold a JSON list/,
  );
  assert.throws(
    () => parseTruth('[{"frame":0,"faces":[{"x":1}]}]', "x.json"),
    /x\.json: frame 0 has a face without name/,
  );
  assert.throws(
    () => parseTruth('[{"faces":[]}]', "x.json"),
    /entry 0 needs an integer "frame"/,
  );
});

Deno.test("summarize, stage sums across runs and formatTable", () => {
  const s = summarize([4, 1, 3, 2]);
  assert.equal(s.count, 4);
  assert.equal(s.mean, 2.5);
  assert.equal(s.p50, 2.5);
  assert.ok(Math.abs(s.p95 - 3.85) < 1e-9);
  assert.ok(Number.isNaN(summarize([]).p95));

  const a = new StageStats();
  a.add({ detect: 10, draw: 1 });
  a.add({ detect: 20, draw: 3 });
  const b = new StageStats();
  b.add({ detect: 30, draw: 2 });
  a.addTotals(b.frames, b.totals());
  assert.equal(a.frames, 3);
  assert.deepEqual(a.means(), { detect: 20, draw: 2 });

  const table = formatTable([["main", "12.5"], ["detect full", "3.0"]], {
    header: ["run", "fps"],
  });
  assert.equal(
    table,
    [
      "| run         |  fps |",
      "|-------------|-----:|",
      "| main        | 12.5 |",
      "| detect full |  3.0 |",
    ].join("\n"),
  );
});

Deno.test(
  "peakMemoryMiB reads VmHWM; resetPeakMemory starts a new peak",
  { ignore: Deno.build.os !== "linux" },
  async () => {
    const self = peakMemoryMiB("self");
    assert.ok(self !== null && self > 1, `self ${self}`);
    assert.equal(peakMemoryMiB(2 ** 30), null);
    // A process whose 200 MB peak is over (freed) before the reset.
    const child = new Deno.Command("python3", {
      args: [
        "-c",
        "x = bytearray(200_000_000); del x; print('freed', flush=True); " +
        "import time; time.sleep(30)",
      ],
      stdout: "piped",
    }).spawn();
    try {
      const reader = child.stdout.getReader();
      await reader.read(); // "freed"
      const high = peakMemoryMiB(child.pid)!;
      assert.ok(high > 190, `peak ${high}`);
      assert.equal(resetPeakMemory(child.pid), true);
      const low = peakMemoryMiB(child.pid)!;
      assert.ok(low < 100, `peak after the reset ${low}`);
      reader.releaseLock();
    } finally {
      child.kill();
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
    assert.equal(resetPeakMemory(2 ** 30), false);
  },
);

function accuracy(found: number, truthFaces: number, frames = 10): Accuracy {
  return {
    frames,
    truthFaces,
    found,
    named: found,
    wrongPerson: 0,
    falseFaces: 0,
    recall: found / truthFaces,
    namedRight: 1,
    byName: {},
  };
}

function run(
  name: string,
  fps: number,
  change: Partial<RunResult["setting"]> = {},
  clientFps: number[] = [fps],
): RunResult {
  return {
    setting: {
      name,
      workers: 2,
      remoteWorkers: 0,
      recognizer: "lbph",
      inFlight: 2,
      detectWidth: 320,
      send: "grey",
      draw: "client",
      clients: clientFps.length,
      tracks: true,
      live: false,
      ...change,
    },
    frames: 300,
    seconds: 300 / fps,
    fps,
    clientFps,
    latency: { count: 300, mean: 10, p50: 9, p95: 20 },
    stages: { "server total": 8 },
    serverPeakMiB: 300,
    clientPeakMiB: 200,
    accuracy: accuracy(90, 100, 300),
    requestKiB: 300,
    replyKiB: 0.2,
    dropped: 0,
    recognisedPerFrame: 0.5,
    recogniseMsPerFace: 4,
  };
}

function original(
  name: string,
  fps: number,
  faithful: boolean,
): OriginalResult {
  return {
    name,
    faithful,
    serverArgs: faithful ? [] : ["--facezmq-detection"],
    frames: 300,
    fps,
    latencyP50: 1000 / fps,
    latencyP95: 1200 / fps,
    serverMs: 800 / fps,
    captureMs: 1,
    serverPeakMiB: 150,
    clientPeakMiB: 150,
    accuracy: accuracy(faithful ? 60 : 85, 100),
  };
}

Deno.test("formatReport: every ratio is against the faithful original; fairness, skips and equal work are told", () => {
  const result: BenchResult = {
    input: "clip.mp4",
    width: 640,
    height: 480,
    cores: 2,
    load: { before: [1, 1, 1], after: [1, 1, 1] },
    deno: "2.9.6",
    clientPeakMiB: 250,
    runs: [
      run("main", 40),
      run("in-flight 1", 30, { inFlight: 1 }),
      run("4 clients", 44, {}, [11, 11.5, 10.5, 11]),
      run("2 remote workers", 38, { workers: 0, remoteWorkers: 2 }),
    ],
    skipped: [{ name: "resnet", reason: "error: no resnet yet" }],
    // The native row first: the yardstick is found by `faithful`, not place.
    original: [
      original("native OpenCV at facezmq's detection settings", 80, false),
      original("the original design", 20, true),
    ],
    mainOnSameFrames: accuracy(9, 10),
    ratio: { fps: 2, serverMs: 0.2 },
    missedOfOriginal: ["12:0", "40:1"],
  };
  const report = formatReport(result);
  const line = (start: string) =>
    report.split("\n").find((l) => l.startsWith(start)) ?? "";
  assert.match(line("| main "), /\|\s+40\.0 \|\s+2\.00x \|/);
  assert.match(line("| in-flight 1 "), /\|\s+30\.0 \|\s+1\.50x \|/);
  assert.match(line("| 4 clients "), /\|\s+10\.5-11\.5 \|/);
  assert.match(
    line("| 2 remote workers "),
    /^\| 2 remote workers \| 2 remote /,
  );
  assert.match(
    report,
    /4 clients: each client 11\.0, 11\.5, 10\.5, 11\.0 fps; the slowest 8\.7% below the fastest \(fair: within 20%\)/,
  );
  assert.match(report, /^resnet: skipped \(error: no resnet yet\)$/m);
  // The comparison: x against the original design, recall on the same frames.
  assert.match(line("| the original design "), /\|\s+20\.0 \| 1\.00x \|/);
  assert.match(line("| native OpenCV "), /\|\s+80\.0 \| 4\.00x \|/);
  assert.match(line("| facezmq (main) "), /\|\s+40\.0 \| 2\.00x \|/);
  assert.match(line("| the original design "), /\|\s+60\/100 \|\s+60\.0% \|/);
  assert.match(line("| facezmq (main) "), /\|\s+9\/10 \|\s+90\.0% \|/);
  assert.match(report, /names only the first face it finds/);
  assert.match(report, /facezmq \/ the original design: 2\.00x fps/);
  assert.match(
    report,
    /^faces the original design found and facezmq \(main\) did not: 2 \(frame:face 12:0 40:1\)$/m,
  );
  // Detection and recognition per run.
  assert.match(
    report,
    /^\| in-flight 1 +\| +- \| +- \| +0\.50 \| +4\.00 \| +8\.00 \| +0 \|$/m,
  );
});

Deno.test("missedFaces: truth faces a reference found and a run did not, on frames both answered", async () => {
  const truth = await readTruth();
  const all = perfect(truth);
  const withFaces = all.filter((e) => e.faces.length > 0);
  const [a, b] = withFaces;
  // The run misses frame a's first face; the reference misses frame b's.
  const run = all.map((e) =>
    e.frame === a.frame ? { ...e, faces: e.faces.slice(1) } : e
  );
  const reference = all.map((e) =>
    e.frame === b.frame ? { ...e, faces: [] } : e
  );
  assert.deepEqual(missedFaces(run, { reference, truth }), [`${a.frame}:0`]);
  assert.deepEqual(missedFaces(reference, { reference: run, truth }), [
    ...b.faces.map((_, i) => `${b.frame}:${i}`),
  ]);
  // A frame only one of them answered is not compared.
  assert.deepEqual(
    missedFaces(run.filter((e) => e.frame !== a.frame), { reference, truth }),
    [],
  );
});

Deno.test("deno task bench --quick runs the fixture clip and reports numbers", async () => {
  const run = await runBench(["--quick", "--json", "--input", CLIP]);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  assert.equal(report.input, CLIP);
  assert.equal(report.runs.length, 1);
  assert.ok("skipped" in report.original);
  assert.equal(report.ratio, null);
  const main = report.runs[0];
  assert.equal(main.frames, 30);
  assert.equal(main.setting.clients, 1);
  for (
    const value of [main.fps, main.seconds, main.latency.p50, main.latency.p95]
  ) {
    assert.ok(Number.isFinite(value) && value > 0, JSON.stringify(main));
  }
  const stages = [
    "capture",
    "encode",
    "transfer",
    "server decode",
    "detect",
    "recognise",
    "server draw",
    "server encode",
    "server total",
    "client decode",
    "client draw",
  ];
  assert.deepEqual(Object.keys(main.stages), stages);
  for (const stage of stages) {
    assert.ok(Number.isFinite(main.stages[stage]), stage);
    assert.ok(main.stages[stage] >= 0, stage);
  }
  assert.ok(main.stages.detect > 0);
  // Grey 640x480 requests (300 KiB and a header), faces-only replies.
  assert.ok(main.requestKiB > 300 && main.requestKiB < 301, main.requestKiB);
  assert.ok(main.replyKiB > 0 && main.replyKiB < 1, main.replyKiB);
  assert.ok(main.serverPeakMiB > 0);
  assert.ok(report.clientPeakMiB > 0);
  // Scored on the 30 frames it ran, against the truth of those frames.
  const truth = (await readTruth()).slice(0, 30);
  assert.equal(main.accuracy.frames, 30);
  assert.equal(
    main.accuracy.truthFaces,
    truth.reduce((sum, e) => sum + e.faces.length, 0),
  );
  assert.ok(main.accuracy.truthFaces > 0);
  assert.ok(main.accuracy.found > 0, JSON.stringify(main.accuracy));
});

Deno.test("deno task bench: a missing clip is one clear error line", async () => {
  const run = await runBench(["--quick", "--input", "no/such/clip.mp4"]);
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /^error: --input no\/such\/clip\.mp4 does not exist/m,
  );
  assert.doesNotMatch(run.stderr, /\n\s+at /);
  const notTruth = await runBench([
    "--quick",
    "--input",
    CLIP,
    "--truth",
    "tests/measure/bench_report_test.ts",
  ]);
  assert.equal(notTruth.code, 1);
  assert.match(
    notTruth.stderr,
    /^error: tests\/measure\/bench_report_test\.ts is not valid JSON/m,
  );
  assert.doesNotMatch(notTruth.stderr, /\n\s+at /);
  const bad = await runBench(["--quick", "--clients", "1,x"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error: --clients needs whole numbers/m);
});
