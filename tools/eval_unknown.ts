/**
 * Measures recognition in `detect` mode on ORL faces (AT&T Laboratories
 * Cambridge / Olivetti Research Laboratory): how often known people are named
 * right, and how well strangers are told apart as `unknown`.
 *
 * People s1..s20: images 1-5 train, images 6-10 test (known). People
 * s21..s40: images 6-10 test (strangers, never trained). Test images are
 * placed, scaled by --scale, on a 640x480 grey canvas as a camera would see
 * them, then detected, prepared and named exactly as the server does.
 *
 * ```sh
 * deno run -A tools/eval_unknown.ts [--orl ../shared/data/orl] [--size 100] [--equalize true] [--margin 0] [--scale 2] [--ambiguity 0.93]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { FaceDetector, SERVER_DETECT_OPTIONS } from "../lib/face/detector.ts";
import { resizeGrey } from "../lib/face/face_prep.ts";
import type { Image } from "../lib/images/image.ts";
import { readImage } from "../lib/images/image_io.ts";
import { DEFAULT_AMBIGUITY, nameFaces } from "../lib/face/naming.ts";
import { largestFace } from "../lib/face/detector.ts";
import { trainFromFolder } from "../lib/face/training.ts";
import { bestSplit, leaveOneOutDistances } from "../lib/face/calibration.ts";
import { percentile } from "../lib/measure/stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    orl: { type: "string", default: "../shared/data/orl" },
    size: { type: "string", default: "100" },
    equalize: { type: "string", default: "true" },
    margin: { type: "string", default: "0" },
    scale: { type: "string", default: "2" },
    known: { type: "string", default: "20" },
    ambiguity: { type: "string", default: String(DEFAULT_AMBIGUITY) },
  },
});
const orl = values.orl!;
const prep = {
  size: Number(values.size),
  equalize: values.equalize === "true",
  margin: Number(values.margin),
};
const scale = Number(values.scale);
const knownPeople = Number(values.known);
const ambiguity = Number(values.ambiguity);

// Training folder: links to images 1-5 of the known people.
const trainDir = await Deno.makeTempDir({ prefix: "facezmq_eval_" });
for (let p = 1; p <= knownPeople; p++) {
  await Deno.mkdir(`${trainDir}/s${p}`);
  for (let i = 1; i <= 5; i++) {
    await Deno.symlink(
      await Deno.realPath(`${orl}/s${p}/${i}.pgm`),
      `${trainDir}/s${p}/${i}.pgm`,
    );
  }
}
const detector = await FaceDetector.create();
const trained = await trainFromFolder(trainDir, {
  faces: "detect",
  detector,
  prep,
  onWarning: (w) => console.error(w),
});
await Deno.remove(trainDir, { recursive: true });
const recognizer = trained.recognizer;

function onCanvas(face: Image): Image {
  const scaled = resizeGrey(
    face,
    Math.round(face.width * scale),
    Math.round(face.height * scale),
  );
  const canvas: Image = {
    width: 640,
    height: 480,
    channels: 1,
    data: new Uint8Array(640 * 480).fill(128),
  };
  const x0 = Math.round((640 - scaled.width) / 2);
  const y0 = Math.round((480 - scaled.height) / 2);
  for (let y = 0; y < scaled.height; y++) {
    canvas.data.set(
      scaled.data.subarray(y * scaled.width, (y + 1) * scaled.width),
      (y0 + y) * 640 + x0,
    );
  }
  return canvas;
}

let knownTotal = 0;
let knownRight = 0;
let knownWrong = 0;
let knownUnknown = 0;
let missed = 0;
let strangers = 0;
let strangersRejected = 0;
const knownDistances: number[] = [];
let nearestRight = 0;
const strangerDistances: number[] = [];
for (let p = 1; p <= 40; p++) {
  const isKnown = p <= knownPeople;
  for (let i = 6; i <= 10; i++) {
    const grey = await readImage(`${orl}/s${p}/${i}.pgm`, { grey: true });
    const canvas = onCanvas(grey);
    const box = largestFace(detector.detect(canvas, SERVER_DETECT_OPTIONS));
    if (!box) {
      missed++;
      continue;
    }
    const [face] = nameFaces(canvas, [box], { recognizer, ambiguity });
    if (isKnown) {
      knownTotal++;
      knownDistances.push(face.distance);
      const nearest = recognizer.nearestTwo(recognizer.describe(canvas, box))
        .best;
      if (recognizer.labelNames.get(nearest.label) === `s${p}`) nearestRight++;
      if (face.label === `s${p}`) knownRight++;
      else if (face.label === "unknown") knownUnknown++;
      else knownWrong++;
    } else {
      strangers++;
      strangerDistances.push(face.distance);
      if (face.label === "unknown") strangersRejected++;
    }
  }
}
detector.close();

// Ranking quality regardless of the threshold: area under the ROC curve.
let pairs = 0;
let ordered = 0;
for (const k of knownDistances) {
  for (const s of strangerDistances) {
    pairs++;
    if (k < s) ordered++;
    else if (k === s) ordered += 0.5;
  }
}
const pct = (a: number, b: number) =>
  `${((100 * a) / Math.max(b, 1)).toFixed(1)}%`;
console.log(
  JSON.stringify({
    prep,
    scale,
    threshold: Number(recognizer.threshold.toFixed(2)),
  }),
);
console.log(
  `known: ${knownRight}/${knownTotal} named right (${
    pct(knownRight, knownTotal)
  }), ` +
    `${knownUnknown} called unknown, ${knownWrong} named as somebody else; ` +
    `strangers: ${strangersRejected}/${strangers} called unknown (${
      pct(strangersRejected, strangers)
    }); ` +
    `${missed} images with no face detected; known-vs-stranger AUC ${
      (ordered / pairs).toFixed(3)
    }`,
);
console.log(
  `nearest training face is the right person for ${
    pct(nearestRight, knownTotal)
  } of known test faces`,
);
const { unknown: looStrangers } = leaveOneOutDistances(recognizer);
for (const far of [0.01, 0.02, 0.05, 0.1]) {
  const t = percentile(looStrangers, far * 100);
  const named = knownDistances.filter((d) => d < t).length;
  const rejected = strangerDistances.filter((d) => d >= t).length;
  console.log(
    `threshold ${t.toFixed(1)} (${
      far * 100
    }% of training strangers accepted): known within ${
      pct(named, knownTotal)
    }, strangers rejected ${pct(rejected, strangers)}`,
  );
}
const best = bestSplit(knownDistances, strangerDistances);
console.log(
  `best threshold on these test faces: ${best.threshold.toFixed(1)} (${
    (best.threshold / recognizer.threshold).toFixed(3)
  } x the calibrated one): known within ${
    (best.knownAccepted * 100).toFixed(1)
  }%, strangers rejected ${(best.unknownRejected * 100).toFixed(1)}%`,
);
