/**
 * Enrolment without a restart, with the real commands: a server trained on
 * train/ (s1-s4) learns s5 from a video of s5's face (`enroll.ts`), names s5
 * in the fixture clip at once, keeps the photos, still names s5 after a
 * restart, and a server that does not allow enrolment refuses it. The clip
 * shows s5's photos 8 and 9; the enrolment video has only the others.
 */

import { copyDir } from "../support/files.ts";
import assert from "node:assert/strict";
import { personVideo } from "../support/enrol_video.ts";
import {
  freePort,
  makeKeys,
  runClient,
  runProject,
  type ServerProcess,
  stackLines,
  startServer,
  startWorker,
} from "../support/processes.ts";
import { clipClientArgs } from "../support/clip_client.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** s5 is in frames 20-51 of the clip, right of x = 300 (clip_truth.json). */
const S5_FRAMES = Array.from({ length: 32 }, (_, i) => 20 + i);

/** How many of s5's frames of the clip the server names s5 (and the labels it gives). */
async function s5Named(
  endpoint: string,
  extra: string[] = [],
): Promise<{ named: number; labels: string[] }> {
  const run = await runClient(clipClientArgs(endpoint, extra));
  assert.equal(run.code, 0, run.stderr);
  const labels: string[] = [];
  let named = 0;
  for (const line of run.stdout.trim().split("\n")) {
    const result = JSON.parse(line);
    if (!S5_FRAMES.includes(result.frame)) continue;
    const face = result.faces.find((f: { x: number }) => f.x > 300);
    // The track's name: a frame whose face the server skipped (its track is
    // settled) has no label of its own.
    const name = face?.name ?? face?.label ?? "-";
    labels.push(name);
    if (name === "s5") named++;
  }
  return { named, labels };
}

/** Runs `enroll.ts ARGS`; asserts it printed no stack trace. */
async function enroll(args: string[]) {
  const run = await runProject("enroll", args);
  assert.deepEqual(stackLines(run.stderr), [], run.stderr);
  return run;
}

async function jpegsIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.endsWith(".jpg")) names.push(entry.name);
  }
  return names;
}

Deno.test("enroll: s5 learned live by every worker thread, kept after a restart; refused without --allow-enrol", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_enrol_e2e_" });
  const train = `${dir}/train`;
  const video = `${dir}/s5.mp4`;
  let server: ServerProcess | undefined;
  try {
    await copyDir(`${ROOT}train`, train);
    await personVideo(video, {
      person: "s5",
      images: [1, 2, 3, 4, 5, 6, 7, 10],
    });
    server = await startServer([
      "--train",
      train,
      "--allow-enrol",
      "--workers",
      "2",
      "--stats",
      "0",
    ]);
    assert.match(server.output(), /enrolment on \(photos in \S+\/train\/\)/);
    const run = await enroll([
      "s5",
      "--connect",
      server.endpoint,
      "--input",
      video,
      "--count",
      "6",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split("\n");
    assert.equal(lines.length, 7, run.stdout);
    lines.slice(0, 6).forEach((line, i) =>
      assert.match(
        line,
        new RegExp(`^face ${i + 1}/6: frame \\d+, \\d+x\\d+ at`),
      )
    );
    assert.match(
      lines[6],
      /^enrolled "s5": 6 faces added from \d+ frames \(label 4, new person, 6 faces in all; the server knows 5 people\)$/,
    );
    assert.match(
      server.output(),
      /enrolled "s5" \(label 4, new\): 6 faces added, 6 in all, saved in \S+\/train\/s5\//,
    );
    assert.equal((await jpegsIn(`${train}/s5`)).length, 6);

    // Both worker threads name s5 now (requests alternate between them).
    const live = await s5Named(server.endpoint, ["--in-flight", "2"]);
    assert.ok(live.named >= 28, `live: ${live.labels}`);

    // A restart trains on the saved photos: s5 is still known.
    const stopped = await server.stop("SIGINT");
    assert.equal(stopped.code, 0, server.output());
    server = await startServer([
      "--train",
      train,
      "--workers",
      "1",
      "--stats",
      "0",
    ]);
    assert.match(server.output(), /^ {2}s5: 6 faces$/m);
    const restarted = await s5Named(server.endpoint);
    assert.ok(restarted.named >= 28, `restarted: ${restarted.labels}`);

    // This server was started without --allow-enrol: it refuses, and says so.
    const refused = await enroll([
      "s6",
      "--connect",
      server.endpoint,
      "--input",
      video,
      "--count",
      "2",
    ]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /^error: the server refused the enrolment: ENROL_REFUSED: enrolment is off on this server: start it with --allow-enrol/m,
    );
    assert.match(
      server.output(),
      /refused enrolment of "s6": enrolment is off/,
    );
    await assert.rejects(Deno.stat(`${train}/s6`));
  } finally {
    if (server) await server.stop("SIGINT");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("enroll: a resnet model file over CURVE: listed clients may enrol, the model is rewritten", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_enrol_e2e_" });
  const model = `${dir}/model.yml`;
  const video = `${dir}/s5.mp4`;
  let server: ServerProcess | undefined;
  try {
    const trained = await runProject("train", [
      "--recognizer",
      "resnet",
      "--out",
      model,
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    await personVideo(video, {
      person: "s5",
      images: [1, 2, 3, 4, 5, 6, 7, 10],
    });
    const allowed = `${dir}/allowed`;
    await Deno.mkdir(allowed);
    const keys = await makeKeys("server", dir);
    const alice = await makeKeys("alice", dir);
    await Deno.copyFile(alice.publicPath, `${allowed}/alice.pub`);
    const curve = [
      "--curve-server-key",
      keys.publicPath,
      "--curve-secret",
      alice.secretPath,
    ];
    // No --allow-enrol: the list of allowed clients is the authorisation.
    server = await startServer([
      "--model",
      model,
      "--curve-secret",
      keys.secretPath,
      "--allow-clients",
      allowed,
      "--workers",
      "1",
      "--stats",
      "0",
    ]);
    const run = await enroll([
      "s5",
      "--connect",
      server.endpoint,
      "--input",
      video,
      "--count",
      "5",
      ...curve,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^enrolled "s5": 5 faces added/m);
    assert.equal((await jpegsIn(`${model}.faces/s5`)).length, 5);
    const live = await s5Named(server.endpoint, curve);
    assert.ok(live.named >= 28, `live: ${live.labels}`);

    await server.stop("SIGINT");
    server = await startServer([
      "--model",
      model,
      "--workers",
      "1",
      "--stats",
      "0",
    ]);
    assert.match(server.output(), /loaded model \S+: \d+ faces of 5 people/);
    const restarted = await s5Named(server.endpoint);
    assert.ok(restarted.named >= 28, `restarted: ${restarted.labels}`);
  } finally {
    if (server) await server.stop("SIGINT");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("enroll: with a remote worker connected, the enrolment reaches a thread and the log says the worker is not updated", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_enrol_e2e_" });
  const train = `${dir}/train`;
  const video = `${dir}/s5.mp4`;
  const backend = `tcp://127.0.0.1:${freePort()}`;
  const processes: ServerProcess[] = [];
  try {
    await copyDir(`${ROOT}train`, train);
    await personVideo(video, { person: "s5", images: [1, 2, 3] });
    const server = await startServer([
      "--train",
      train,
      "--allow-enrol",
      "--workers",
      "1",
      "--backend",
      backend,
      "--stats",
      "0",
    ]);
    processes.push(server);
    processes.push(await startWorker(["--connect", backend, "--train", train]));
    // Frames and the enrolment alternate between the thread and the remote
    // worker; a refusal by the remote worker is tried again.
    for (const count of ["2", "1"]) {
      const run = await enroll([
        "s5",
        "--connect",
        server.endpoint,
        "--input",
        video,
        "--count",
        count,
      ]);
      assert.equal(run.code, 0, run.stderr);
    }
    assert.match(
      server.output(),
      /^1 remote worker does not know the new faces of "s5" until restarted/m,
    );
    assert.match(
      server.output(),
      /enrolled "s5" \(label 4\): 1 face added, 3 in all/,
    );
    assert.equal((await jpegsIn(`${train}/s5`)).length, 3);
  } finally {
    for (const process of processes.reverse()) await process.stop("SIGINT");
    await Deno.remove(dir, { recursive: true });
  }
});
