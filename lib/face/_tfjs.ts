/**
 * Private: TensorFlow.js (WASM backend) and the two face-api networks the
 * resnet recogniser needs, loaded once per thread.
 *
 * - `FaceLandmark68Net`: 68 landmarks (iBUG 300-W layout) of a 112x112 RGB
 *   face crop;
 * - `FaceRecognitionNet`: dlib's ResNet-29 face descriptor
 *   (`dlib_face_recognition_resnet_model_v1`, converted by face-api) of a
 *   150x150 RGB face chip, 128 numbers, not normalised.
 *
 * tfjs' ESM builds do not load under Deno (extensionless imports inside
 * the packages), so face-api's CommonJS node-wasm build is loaded with
 * `createRequire`; it brings `@tensorflow/tfjs` and
 * `@tensorflow/tfjs-backend-wasm`. The three packages are deno.json imports,
 * so that Deno (`nodeModulesDir: "auto"`) puts them in node_modules on the
 * first run of a clean checkout. The WASM binary and the weights are read
 * from those packages; nothing is fetched. SIMD is used, threads are not:
 * the server already runs one recogniser per Worker thread.
 *
 * @module
 */

import { createRequire } from "node:module";
import process from "node:process";

/** Side of the landmark net's square RGB input. */
export const LANDMARK_INPUT = 112;
/** Side of the descriptor net's square RGB input (the face chip). */
export const DESCRIPTOR_INPUT = 150;
/** Numbers in a descriptor. */
export const DESCRIPTOR_SIZE = 128;

/** The loaded networks; every call is synchronous. */
export interface FaceNets {
  /**
   * The 68 landmarks of a `LANDMARK_INPUT`-square RGB crop (3 bytes per pixel,
   * row after row), as fractions of the crop's width and height: x0, y0, x1,
   * y1, ...
   */
  landmarks(rgb: Uint8Array): Float32Array;
  /** The descriptor of a `DESCRIPTOR_INPUT`-square RGB face chip. */
  descriptor(rgb: Uint8Array): Float32Array;
  /** Bytes of tensor memory the loaded weights take. */
  readonly weightBytes: number;
}

// deno-lint-ignore no-explicit-any
type Any = any;

let loading: Promise<FaceNets> | undefined;

/**
 * Loads TensorFlow.js and the two networks; the first call per thread does
 * the work (about 0.2 s), later calls share it.
 */
export function loadFaceNets(): Promise<FaceNets> {
  loading ??= load().catch((error) => {
    loading = undefined;
    throw new Error(
      `cannot load the face networks (npm @vladmandic/face-api and @tensorflow/tfjs-backend-wasm): ${
        error instanceof Error ? error.message : error
      }`,
    );
  });
  return loading;
}

/**
 * Parts of `@tensorflow/tfjs` that face-api's node-wasm build pulls in
 * (it requires the whole of it) and never uses for these two networks: the
 * WebGL backend, the graph-model converter, tf.data and tf.layers. Given to
 * it as empty modules, they cost nothing: about 25 MB less per thread (16
 * MB of JS heap), the same outputs to the bit.
 */
const UNUSED_TFJS = [
  "@tensorflow/tfjs-backend-webgl",
  "@tensorflow/tfjs-converter",
  "@tensorflow/tfjs-data",
  "@tensorflow/tfjs-layers",
];

async function load(): Promise<FaceNets> {
  const require = createRequire(import.meta.url);
  const faceApiDir = require.resolve("@vladmandic/face-api/package.json")
    .replace(/package\.json$/, "");
  const tfjs = createRequire(
    require.resolve("@tensorflow/tfjs", { paths: [faceApiDir] }),
  );
  for (const name of UNUSED_TFJS) {
    const path = tfjs.resolve(name);
    require.cache[path] ??= {
      id: path,
      filename: path,
      loaded: true,
      exports: {},
    } as Any;
  }
  const faceapi: Any = require(
    "@vladmandic/face-api/dist/face-api.node-wasm.js",
  );
  const tf: Any = faceapi.tf;
  // Production mode before any backend starts: tfjs' `warn` hints (such as
  // "install our node backend" when a CPU tensor is made under Node) stay
  // out of the server's log. Real errors still throw.
  tf.enableProdMode();
  const packageDir = (name: string) =>
    require.resolve(`${name}/package.json`).replace(/package\.json$/, "");
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  tf.setWasmPaths(packageDir("@tensorflow/tfjs-backend-wasm") + "dist/");
  // Emscripten's start-up adds process-wide uncaughtException and
  // unhandledRejection listeners that rethrow wrapped in `abort(...)`; they
  // would change how every later error of the thread is reported, so the
  // listeners it adds are taken off again.
  const before = {
    exception: new Set(process.listeners("uncaughtException")),
    rejection: new Set(process.listeners("unhandledRejection")),
  };
  try {
    if (!(await tf.setBackend("wasm"))) {
      throw new Error("the tfjs WASM backend did not start");
    }
    await tf.ready();
  } finally {
    for (const listener of process.listeners("uncaughtException")) {
      if (!before.exception.has(listener)) {
        process.removeListener("uncaughtException", listener);
      }
    }
    for (const listener of process.listeners("unhandledRejection")) {
      if (!before.rejection.has(listener)) {
        process.removeListener("unhandledRejection", listener);
      }
    }
  }

  const bytesBefore = tf.memory().numBytes;
  const modelDir = packageDir("@vladmandic/face-api") + "model/";
  const landmarkNet = new faceapi.FaceLandmark68Net();
  const descriptorNet = new faceapi.FaceRecognitionNet();
  await loadWeights(tf, landmarkNet, modelDir, "face_landmark_68_model");
  await loadWeights(tf, descriptorNet, modelDir, "face_recognition_model");
  const weightBytes = tf.memory().numBytes - bytesBefore;

  const run = (
    net: Any,
    rgb: Uint8Array,
    side: number,
    size: number,
    forward: (input: Any) => Any,
  ): Float32Array => {
    if (rgb.length !== side * side * 3) {
      throw new Error(
        `${
          net.constructor?.name ?? "net"
        }: expected a ${side}x${side} RGB input, got ${rgb.length} bytes`,
      );
    }
    const out = tf.tidy(() =>
      forward(
        new faceapi.NetInput([tf.tensor3d(rgb, [side, side, 3], "int32")]),
      )
    );
    try {
      const values = out.dataSync() as Float32Array;
      if (values.length !== size) {
        throw new Error(`expected ${size} outputs, got ${values.length}`);
      }
      return Float32Array.from(values);
    } finally {
      out.dispose();
    }
  };
  const nets: FaceNets = {
    // runNet gives the landmarks as fractions of the square input; forwardInput
    // would only rescale them to the same square.
    landmarks: (rgb) =>
      run(
        landmarkNet,
        rgb,
        LANDMARK_INPUT,
        136,
        (input) => landmarkNet.runNet(input),
      ),
    descriptor: (rgb) =>
      run(
        descriptorNet,
        rgb,
        DESCRIPTOR_INPUT,
        DESCRIPTOR_SIZE,
        (input) => descriptorNet.forwardInput(input),
      ),
    weightBytes,
  };
  // A network's first run in a thread sets up its kernels (XNNPACK packs
  // the weights, the WASM heap grows): 50-370 ms, against 7 and 18 ms for
  // later faces. Paid here, at start, rather than by a client's frame.
  nets.landmarks(new Uint8Array(LANDMARK_INPUT * LANDMARK_INPUT * 3));
  nets.descriptor(new Uint8Array(DESCRIPTOR_INPUT * DESCRIPTOR_INPUT * 3));
  return nets;
}

/** Reads a face-api weights manifest and its shards into a network. */
async function loadWeights(
  tf: Any,
  net: Any,
  dir: string,
  name: string,
): Promise<void> {
  const manifest = JSON.parse(
    await Deno.readTextFile(`${dir}${name}-weights_manifest.json`),
  ) as { paths: string[]; weights: unknown[] }[];
  const map: Record<string, unknown> = {};
  for (const group of manifest) {
    const shards = await Promise.all(
      group.paths.map((path) => Deno.readFile(dir + path)),
    );
    const bytes = new Uint8Array(shards.reduce((n, s) => n + s.length, 0));
    let offset = 0;
    for (const shard of shards) {
      bytes.set(shard, offset);
      offset += shard.length;
    }
    Object.assign(map, tf.io.decodeWeights(bytes.buffer, group.weights));
  }
  net.loadFromWeightMap(map);
}
