/**
 * How steady names are along tracks: reads the `--json` lines of a client run
 * with tracks and of one without (`--no-track`) on the same clip, pairs each
 * tracked face with the raw face it overlaps most, and counts per track how
 * often the track's name changed and how often the raw per-frame label did,
 * with the names each track carried and the clip's truth (its `_truth.json`).
 *
 * ```sh
 * deno task server &
 * deno task client --input samples/sample.mp4 --every-frame --json --view none --in-flight 1 > tracked.json
 * deno task client --input samples/sample.mp4 --every-frame --json --view none --in-flight 1 --no-track > raw.json
 * deno run -A tools/eval_track_names.ts tracked.json raw.json samples/sample_truth.json
 * ```
 *
 * @module
 */

import { iou } from "../lib/tracking/boxes.ts";
import type { Box } from "../lib/images/image.ts";

interface LineFace extends Box {
  label: string | null;
  track?: number;
  name?: string;
}

interface TruthFace extends Box {
  name: string;
}

async function lines(path: string): Promise<{ faces: LineFace[] }[]> {
  return (await Deno.readTextFile(path)).trim().split("\n")
    .filter((line) => line.length > 0).map((line) => JSON.parse(line));
}

function changes(values: string[]): number {
  return values.filter((v, i) => i > 0 && v !== values[i - 1]).length;
}

async function main(): Promise<void> {
  const [trackedPath, rawPath, truthPath] = Deno.args;
  if (!rawPath) {
    console.error(
      "usage: deno run -A tools/eval_track_names.ts TRACKED.json RAW.json [TRUTH.json]",
    );
    Deno.exit(2);
  }
  const tracked = await lines(trackedPath);
  const raw = await lines(rawPath);
  const truth: { faces: TruthFace[] }[] = truthPath
    ? JSON.parse(await Deno.readTextFile(truthPath))
    : [];
  const names = new Map<number, string[]>();
  const labels = new Map<number, string[]>();
  const truths = new Map<number, Set<string>>();
  const push = <T>(map: Map<number, T[]>, key: number, value: T) =>
    map.set(key, [...(map.get(key) ?? []), value]);
  tracked.forEach((frame, i) => {
    for (const face of frame.faces) {
      const track = face.track!;
      push(names, track, face.name!);
      const expected = truth[i]?.faces.find((t) => iou(t, face) > 0.3);
      truths.set(
        track,
        (truths.get(track) ?? new Set()).add(expected?.name ?? "-"),
      );
      const best = (raw[i]?.faces ?? [])
        .map((r) => ({ r, overlap: iou(r, face) }))
        .sort((a, b) => b.overlap - a.overlap)[0];
      if (best && best.overlap >= 0.5) push(labels, track, best.r.label ?? "-");
    }
  });
  let trackedChanges = 0;
  let rawChanges = 0;
  for (const [track, seq] of [...names].sort((a, b) => a[0] - b[0])) {
    const own = labels.get(track) ?? [];
    trackedChanges += changes(seq);
    rawChanges += changes(own);
    console.log(
      `track ${track}: ${seq.length} faces, name changes ${
        changes(seq)
      }, raw label changes ${changes(own)}, names ${
        [...new Set(seq)].join("/")
      }, truth ${[...(truths.get(track) ?? [])].join("/")}`,
    );
  }
  console.log(
    `changes within tracks: ${trackedChanges} with tracks, ${rawChanges} per-frame labels`,
  );
}

if (import.meta.main) await main();
