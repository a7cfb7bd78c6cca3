import assert from "node:assert/strict";
import { PROJECT_ROOT, runClient, startServer } from "../support/processes.ts";

interface TruthFace {
  name: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

interface SeenFace {
  x: number;
  y: number;
  w: number;
  h: number;
  label: string;
  distance: number;
}

Deno.test("server and client name the people of the fixture clip frame by frame", async () => {
  const server = await startServer(["--train", "train", "--workers", "2"]);
  try {
    const run = await runClient([
      "--connect",
      server.endpoint,
      "--input",
      "tests/fixtures/clip/clip.mp4",
      "--json",
      "--every-frame",
      "--view",
      "none",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const truth: { frame: number; faces: TruthFace[] }[] = JSON.parse(
      await Deno.readTextFile(
        `${PROJECT_ROOT}tests/fixtures/clip/clip_truth.json`,
      ),
    );
    assert.equal(lines.length, truth.length, "one JSON line per frame");

    let truthFaces = 0;
    let found = 0;
    let named = 0;
    let wrongPerson = 0;
    let falseFaces = 0;
    for (const [i, line] of lines.entries()) {
      assert.equal(line.frame, i);
      assert.equal(typeof line.latency_ms, "number");
      const seen: SeenFace[] = line.faces;
      const expected = truth[i].faces;
      truthFaces += expected.length;
      for (const face of seen) {
        const cx = face.x + face.w / 2;
        const cy = face.y + face.h / 2;
        const match = expected.find((t) =>
          cx >= t.x && cx < t.x + t.w && cy >= t.y && cy < t.y + t.h
        );
        if (!match) {
          falseFaces++;
          continue;
        }
        found++;
        if (face.label === match.name) named++;
        else if (face.label !== "unknown") wrongPerson++;
      }
    }
    const summary = JSON.stringify({
      truthFaces,
      found,
      named,
      wrongPerson,
      falseFaces,
    });
    assert.ok(truthFaces > 20, summary);
    assert.ok(found / truthFaces >= 0.8, `recall: ${summary}`);
    assert.ok(named / found >= 0.85, `named right: ${summary}`);
    assert.ok(
      wrongPerson / found <= 0.05,
      `named as somebody else: ${summary}`,
    );
    assert.ok(falseFaces <= lines.length * 0.05, `false faces: ${summary}`);
    assert.match(
      run.stderr,
      /done: \d+ frames in .* fps, latency p50 .* ms, p95 .* ms/,
    );
  } finally {
    const { code, ms } = await server.stop("SIGINT");
    assert.equal(code, 0, server.output());
    assert.ok(ms < 1500, `server exited ${ms.toFixed(0)} ms after SIGINT`);
  }
});
