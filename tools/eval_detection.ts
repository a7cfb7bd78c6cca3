/**
 * Measures face detection on the annotated photos (dlib's training.xml and
 * testing.xml over PASCAL VOC 2011 images) and times detection on a 640x480
 * frame.
 *
 *     deno run --allow-read tools/eval_detection.ts [--data DIR | --fixtures]
 *       [--cascade default|alt|FILE] [--runs N]
 *
 * `--data DIR` reads the JPEG photos and XML files from DIR (default
 * /work/shared/data/detection). `--fixtures` reads instead the grey PGMs
 * that native OpenCV decoded (tests/fixtures/detection/, with copies of the
 * XML files), which removes the jpeg-js vs libjpeg decoding difference.
 *
 * A truth box counts as found when an unused detection has its centre inside
 * it or IoU >= 0.3 (dlib's boxes are tighter than Haar's). Detections that
 * match no truth box are false positives.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Box, Image } from "../lib/images/image.ts";
import { readImage } from "../lib/images/image_io.ts";
import {
  type DetectOptions,
  FaceDetector,
  SERVER_DETECT_OPTIONS,
} from "../lib/face/detector.ts";
import { loadOpenCV } from "../lib/face/opencv.ts";
import {
  hits as countHits,
  median,
  parseAnnotations,
  score,
} from "./_detection_score.ts";

/** A parameter set to evaluate; `shrink` sets maxWidth to width * shrink. */
interface Config extends DetectOptions {
  name: string;
  shrink?: number;
}

const CONFIGS: Config[] = [
  { name: "1.1/3", scaleFactor: 1.1, minNeighbors: 3 },
  { name: "1.1/5", scaleFactor: 1.1, minNeighbors: 5 },
  { name: "1.2/5", scaleFactor: 1.2, minNeighbors: 5 },
  { name: "1.1/3 half", scaleFactor: 1.1, minNeighbors: 3, shrink: 0.5 },
  { name: "1.1/5 half", scaleFactor: 1.1, minNeighbors: 5, shrink: 0.5 },
  { name: "1.2/5 half", scaleFactor: 1.2, minNeighbors: 5, shrink: 0.5 },
  { name: "1.1/4 half", scaleFactor: 1.1, minNeighbors: 4, shrink: 0.5 },
  { name: "1.1/5 min 30", scaleFactor: 1.1, minNeighbors: 5, minSize: 30 },
  // The original Python design: alt cascade, 1.2/5, full size.
  { name: "alt 1.2/5", cascade: "alt", scaleFactor: 1.2, minNeighbors: 5 },
  { name: "server", ...SERVER_DETECT_OPTIONS },
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: "string", default: "/work/shared/data/detection" },
      cascade: { type: "string" },
      runs: { type: "string", default: "10" },
      fixtures: { type: "boolean", default: false },
    },
  });
  const dir = values.fixtures
    ? fileURLToPath(new URL("../tests/fixtures/detection/", import.meta.url))
    : values.data!;
  const runs = Number(values.runs);
  const detector = await FaceDetector.create({ cascade: values.cascade });
  const sets: [string, Map<string, Box[]>][] = [];
  for (const file of ["training.xml", "testing.xml"]) {
    sets.push([
      file,
      parseAnnotations(await Deno.readTextFile(join(dir, file))),
    ]);
  }
  const images = new Map<string, Image>();
  for (const [, annotations] of sets) {
    for (const name of annotations.keys()) {
      const file = values.fixtures ? name.replace(/\.jpg$/, ".pgm") : name;
      images.set(name, await readImage(join(dir, file), { grey: true }));
    }
  }
  console.log(
    `cascade: ${values.cascade ?? "default"} (rows naming one use their own)`,
  );
  console.log(
    `images: ${values.fixtures ? "cv2-decoded grey PGMs" : "JPEGs"} in ${dir}`,
  );
  console.log("config        training      testing       all");
  for (const config of CONFIGS) {
    const { name, shrink, ...options } = config;
    const cells: string[] = [];
    let allHits = 0, allTruth = 0, allFp = 0;
    for (const [, annotations] of sets) {
      let hits = 0, truth = 0, fp = 0;
      for (const [file, truths] of annotations) {
        const image = images.get(file)!;
        const found = detector.detect(
          image,
          shrink
            ? { ...options, maxWidth: Math.round(image.width * shrink) }
            : options,
        );
        const s = score(truths, found);
        hits += countHits(s.hit);
        fp += s.fp;
        truth += truths.length;
      }
      cells.push(`${hits}/${truth} fp ${fp}`.padEnd(14));
      allHits += hits;
      allTruth += truth;
      allFp += fp;
    }
    console.log(
      `${name.padEnd(14)}${cells.join("")}${allHits}/${allTruth} fp ${allFp}`,
    );
  }

  // Timing on a 640x480 frame: a photo scaled up with cv.resize.
  const cv = await loadOpenCV();
  const photo = images.get("2008_002506.jpg") ?? [...images.values()][0];
  const src = new cv.Mat(photo.height, photo.width, cv.CV_8UC1);
  src.data.set(photo.data);
  const dst = new cv.Mat();
  cv.resize(src, dst, new cv.Size(640, 480), 0, 0, cv.INTER_LINEAR);
  const frame: Image = {
    width: 640,
    height: 480,
    channels: 1,
    data: dst.data.slice(),
  };
  src.delete();
  dst.delete();
  // Round robin over the settings, so that load from other processes
  // spreads over all of them alike.
  const timings: [string, DetectOptions][] = [
    ["1.1/3 full", { scaleFactor: 1.1, minNeighbors: 3 }],
    ["1.1/5 full", { minNeighbors: 5 }],
    ["1.2/5 full", { scaleFactor: 1.2, minNeighbors: 5 }],
    ["1.1/5 minSize 60", { minNeighbors: 5, minSize: 60 }],
    ["1.2/5 minSize 60", { scaleFactor: 1.2, minNeighbors: 5, minSize: 60 }],
    ["1.1/5 maxWidth 320", { minNeighbors: 5, maxWidth: 320 }],
    ["1.2/5 maxWidth 320", {
      scaleFactor: 1.2,
      minNeighbors: 5,
      maxWidth: 320,
    }],
    ["1.1/5 maxWidth 240", { minNeighbors: 5, maxWidth: 240 }],
    ["alt 1.2/5 full", { cascade: "alt", scaleFactor: 1.2, minNeighbors: 5 }],
    ["previous server", {
      scaleFactor: 1.2,
      minNeighbors: 5,
      minSize: 60,
      maxWidth: 320,
    }],
    ["server defaults", SERVER_DETECT_OPTIONS],
  ];
  const times = timings.map(() => [] as number[]);
  const faces = timings.map(() => 0);
  for (let i = 0; i < runs; i++) {
    timings.forEach(([, options], k) => {
      const t = performance.now();
      faces[k] = detector.detect(frame, options).length;
      times[k].push(performance.now() - t);
    });
  }
  console.log(`\ndetect on a 640x480 grey frame, median of ${runs} runs:`);
  timings.forEach(([label], k) => {
    console.log(
      `  ${label.padEnd(20)} ${median(times[k]).toFixed(1)} ms (${
        faces[k]
      } faces)`,
    );
  });
  detector.close();
}

if (import.meta.main) {
  try {
    await main();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    Deno.exit(1);
  }
}
