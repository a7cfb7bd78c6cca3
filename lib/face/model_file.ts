/**
 * Model files: a {@linkcode PackedRecognizer} in OpenCV's FileStorage YAML
 * (`%YAML:1.0`), whatever the recogniser. {@linkcode loadModel} returns the
 * kind the file holds, whatever the file's name.
 *
 * - `lbph`: OpenCV's own file, the one `cv2.face.LBPHFaceRecognizer.write`
 *   writes and `read` reads. Models trained by Python's cv2.face load here,
 *   and models saved here load in cv2.face; the float32 histograms
 *   round-trip exactly and {@linkcode formatModel} writes byte for byte what
 *   OpenCV writes for the same model. OpenCV's file has no room for how
 *   faces are prepared: a loaded LBPH model prepares them the default way.
 * - any other kind (`resnet`): the same dialect, with the fields at the top
 *   level; byte for byte what `cv2.FileStorage` writes for them, so Python
 *   reads it with `cv2.FileStorage(path, cv2.FILE_STORAGE_READ)`:
 *
 * ```yaml
 * %YAML:1.0
 * ---
 * recognizer: resnet
 * threshold: 5.9999999999999998e-01
 * params:
 *    align: 1
 * descriptors: !!opencv-matrix
 *    rows: 20
 *    cols: 128
 *    dt: f
 *    data: [ -1.02345668e-01, 4.53218333e-02, 9.81250033e-02, ... ]
 * labels: !!opencv-matrix
 *    rows: 20
 *    cols: 1
 *    dt: i
 *    data: [ 0, 0, 0, 0, 0, 1, ... ]
 * labelsInfo:
 *    -
 *       label: 0
 *       value: s1
 * ```
 *
 * The YAML is read by lib/face/_yaml_reader.ts (why not a YAML package is
 * said there) and written by lib/face/_yaml_writer.ts.
 *
 * @module
 */

import {
  clip,
  type MapNode,
  type Node,
  ParseError,
  parseInt32,
  parseMatrix,
  parseReal,
  parseYaml,
  required,
} from "./_yaml_reader.ts";
import { formatReal, matrixLines, namesLines } from "./_yaml_writer.ts";
import { createLbphRecognizer, LbphRecognizer } from "./lbph.ts";
import type { PackedRecognizer, Recognizer } from "./recognizer.ts";
import { isRecognizerKind, unpackRecognizer } from "./recognizers.ts";

/** The top-level key of OpenCV's LBPH file. */
const LBPH_KEY = "opencv_lbphfaces";

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/**
 * Parses the text of a model file into the recogniser it holds, packed.
 * `name` (the file name) is used in error messages.
 *
 * @throws {Error} naming the file and what is wrong when the text is not a
 * valid model.
 */
export function parseModel(text: string, name = "model"): PackedRecognizer {
  let what = ""; // the kind, once known
  try {
    const root = parseYaml(text);
    if (root.entries.has("recognizer")) {
      const kind = root.entries.get("recognizer")!;
      if (kind.kind === "scalar" && isRecognizerKind(kind.text)) {
        what = kind.text;
      }
      return readFields(root);
    }
    const [key, top] = root.entries.entries().next().value as [string, Node];
    if (top.kind !== "map") {
      throw new ParseError(`"${key}" is not a map of model settings`);
    }
    if (key !== LBPH_KEY && !top.entries.has("histograms")) {
      throw new ParseError(
        `"${key}" is not an LBPH model (expected "${LBPH_KEY}"), nor a facezmq model (no "recognizer" field)`,
      );
    }
    what = "LBPH";
    return readLbph(top, `"${key}"`);
  } catch (err) {
    if (
      err instanceof ParseError ||
      (err instanceof Error && err.message.startsWith("LBPH"))
    ) {
      throw new Error(
        `${name}: not a valid ${what && `${what} `}model file: ${err.message}`,
      );
    }
    throw err;
  }
}

/** OpenCV's `LBPHFaceRecognizer::read`, into the packed form. */
function readLbph(top: MapNode, where: string): PackedRecognizer {
  // OpenCV: a missing or zero threshold keeps the default DBL_MAX.
  const thresholdNode = top.entries.get("threshold");
  let threshold = thresholdNode === undefined
    ? 0
    : parseReal(thresholdNode, "threshold");
  if (Number.isNaN(threshold)) throw new ParseError("threshold is NaN");
  if (threshold === 0) threshold = Number.MAX_VALUE;
  const params = {
    radius: parseInt32(required(top, "radius", where), "radius"),
    neighbors: parseInt32(required(top, "neighbors", where), "neighbors"),
    gridX: parseInt32(required(top, "grid_x", where), "grid_x"),
    gridY: parseInt32(required(top, "grid_y", where), "grid_y"),
  };
  const n = new LbphRecognizer(params).histogramSize; // checks the ranges

  const histNode = required(top, "histograms", where);
  if (histNode.kind !== "seq") {
    throw new ParseError(`"histograms" (line ${histNode.line}) is not a list`);
  }
  const descriptors = new Float32Array(histNode.items.length * n);
  histNode.items.forEach((item, i) => {
    const m = parseMatrix(item, `histogram ${i}`);
    if (m.dt !== "f") {
      throw new ParseError(`histogram ${i} has dt "${m.dt}", expected "f"`);
    }
    if (m.data.length !== n) {
      throw new ParseError(
        `histogram ${i} has ${m.data.length} values but grid ${params.gridX}x${params.gridY} with ${params.neighbors} neighbors needs ${n}`,
      );
    }
    descriptors.set(m.data, i * n);
  });
  const labels = readLabels(required(top, "labels", where));
  if (labels.length !== histNode.items.length) {
    throw new ParseError(
      `${histNode.items.length} histograms but ${labels.length} labels`,
    );
  }
  return {
    kind: "lbph",
    params,
    threshold,
    descriptors,
    labels,
    names: readNames(top.entries.get("labelsInfo")),
  };
}

/** The top-level fields of a facezmq model (see the module doc). */
function readFields(root: MapNode): PackedRecognizer {
  const where = "the file";
  const kindNode = required(root, "recognizer", where);
  const kind = kindNode.kind === "scalar" ? kindNode.text : "";
  if (!isRecognizerKind(kind)) {
    throw new ParseError(
      `unknown recogniser "${clip(kind)}" (line ${kindNode.line})`,
    );
  }
  const thresholdNode = root.entries.get("threshold");
  const threshold = thresholdNode === undefined
    ? Number.MAX_VALUE
    : parseReal(thresholdNode, "threshold");
  if (Number.isNaN(threshold)) throw new ParseError("threshold is NaN");

  const params: Record<string, number> = {};
  const paramsNode = root.entries.get("params");
  if (paramsNode !== undefined) {
    if (paramsNode.kind !== "map") {
      throw new ParseError(`"params" (line ${paramsNode.line}) is not a map`);
    }
    for (const [key, value] of paramsNode.entries) {
      params[key] = parseReal(value, `params ${key}`);
    }
  }

  const m = parseMatrix(required(root, "descriptors", where), "descriptors");
  if (m.data.length > 0 && m.dt !== "f") {
    throw new ParseError(`descriptors have dt "${m.dt}", expected "f"`);
  }
  const labels = readLabels(required(root, "labels", where));
  if (labels.length !== m.rows) {
    throw new ParseError(`${m.rows} descriptors but ${labels.length} labels`);
  }
  return {
    kind,
    params,
    threshold,
    descriptors: Float32Array.from(m.data),
    labels,
    names: readNames(root.entries.get("labelsInfo")),
  };
}

function readLabels(node: Node): number[] {
  const m = parseMatrix(node, "labels");
  if (m.data.length > 0 && m.dt !== "i") {
    throw new ParseError(`labels have dt "${m.dt}", expected "i"`);
  }
  return m.data.map((v, i) => {
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
      throw new ParseError(`label ${i} is not a 32-bit integer`);
    }
    return v;
  });
}

function readNames(info: Node | undefined): [number, string][] {
  const names: [number, string][] = [];
  if (info === undefined || info.kind !== "seq") return names;
  for (const [i, item] of info.items.entries()) {
    if (item.kind !== "map") {
      throw new ParseError(`labelsInfo item ${i} is not a map`);
    }
    const where = `labelsInfo item ${i}`;
    const label = parseInt32(required(item, "label", where), `${where} label`);
    const value = required(item, "value", where);
    if (value.kind !== "scalar") {
      throw new ParseError(`${where} value is not text`);
    }
    names.push([label, value.text]);
  }
  return names;
}

/**
 * Reads a model file (written by {@linkcode saveModel}, or an LBPH model
 * written by cv2.face) as the recogniser it holds.
 *
 * @throws {Error} naming the file when it cannot be read, is not a model, or
 * holds a recogniser that is not available here.
 */
export async function loadModel(path: string): Promise<Recognizer> {
  const packed = parseModel(await readText(path), path);
  try {
    return await unpackRecognizer(packed);
  } catch (err) {
    throw new Error(`${path}: ${errorText(err)}`);
  }
}

async function readText(path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`${path}: model file not found`);
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new Error(`${path}: permission denied reading the model file`);
    }
    if (err instanceof Deno.errors.IsADirectory) {
      throw new Error(`${path}: is a directory, not a model file`);
    }
    throw new Error(`${path}: cannot read the model file: ${errorText(err)}`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${path}: not a text (YAML) model file`);
  }
  if (text.includes("\0")) {
    throw new Error(`${path}: not a text (YAML) model file`);
  }
  return text;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/** float32 values as OpenCV writes them. */
function floats(values: Float32Array): string[] {
  const out = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = formatReal(values[i], 8);
  return out;
}

/**
 * The model file's text (see the module doc): for LBPH the same text, byte
 * for byte, as cv2.face writes for the same model (names go to
 * `labelsInfo`, sorted by label as OpenCV's map is).
 *
 * @throws {Error} when the descriptors do not fit the labels, or a name
 * cannot be written.
 */
export function formatModel(packed: PackedRecognizer): string {
  return (packed.kind === "lbph" ? formatLbph(packed) : formatFields(packed))
    .join("\n") + "\n";
}

/** OpenCV's `LBPHFaceRecognizer::write`. */
function formatLbph(packed: PackedRecognizer): string[] {
  const r = createLbphRecognizer({ params: packed.params });
  const n = r.histogramSize;
  const count = packed.labels.length;
  checkSize(packed, n);
  const lines = ["%YAML:1.0", "---", `${LBPH_KEY}:`];
  lines.push(`   threshold: ${formatReal(packed.threshold, 16)}`);
  lines.push(`   radius: ${r.radius}`);
  lines.push(`   neighbors: ${r.neighbors}`);
  lines.push(`   grid_x: ${r.gridX}`);
  lines.push(`   grid_y: ${r.gridY}`);
  lines.push("   histograms:");
  if (count === 0) lines.push("      []");
  for (let i = 0; i < count; i++) {
    const h = packed.descriptors.subarray(i * n, (i + 1) * n);
    lines.push(
      ...matrixLines("      - !!opencv-matrix", {
        rows: 1,
        cols: n,
        dt: "f",
        data: floats(h),
      }, { indent: 9 }),
    );
  }
  // OpenCV's labels are a Mat: an empty one is 0x0 of type CV_8U.
  lines.push(
    ...matrixLines("   labels: !!opencv-matrix", {
      rows: count,
      cols: count === 0 ? 0 : 1,
      dt: count === 0 ? "u" : "i",
      data: packed.labels.map(String),
    }, { indent: 6 }),
  );
  lines.push(...namesLines(packed.names, { indent: 3 }));
  return lines;
}

/** The top-level fields, as `cv2.FileStorage` writes them. */
function formatFields(packed: PackedRecognizer): string[] {
  const count = packed.labels.length;
  const cols = count === 0 ? 0 : packed.descriptors.length / count;
  checkSize(packed, cols);
  const lines = ["%YAML:1.0", "---", `recognizer: ${packed.kind}`];
  lines.push(`threshold: ${formatReal(packed.threshold, 16)}`);
  const params = Object.entries(packed.params);
  lines.push("params:");
  if (params.length === 0) lines.push("   {}");
  for (const [key, value] of params) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new Error(`parameter name "${clip(key)}" cannot be written`);
    }
    lines.push(`   ${key}: ${formatParam(value)}`);
  }
  lines.push(
    ...matrixLines("descriptors: !!opencv-matrix", {
      rows: count,
      cols,
      dt: "f",
      data: floats(packed.descriptors),
    }, { indent: 3 }),
  );
  lines.push(
    ...matrixLines("labels: !!opencv-matrix", {
      rows: count,
      cols: 1,
      dt: "i",
      data: packed.labels.map(String),
    }, { indent: 3 }),
  );
  lines.push(...namesLines(packed.names, { indent: 0 }));
  return lines;
}

/** An int as `cv::FileStorage` writes an int, anything else as a double. */
function formatParam(value: number): string {
  return Number.isInteger(value) && Math.abs(value) <= 2147483647
    ? String(value)
    : formatReal(value, 16);
}

function checkSize(packed: PackedRecognizer, n: number): void {
  const count = packed.labels.length;
  if (!Number.isInteger(n) || packed.descriptors.length !== count * n) {
    throw new Error(
      `${packed.descriptors.length} descriptor values do not make ${count} descriptors` +
        (packed.kind === "lbph" ? ` of ${n} values` : ""),
    );
  }
  for (const label of packed.labels) {
    if (!Number.isInteger(label)) {
      throw new Error(`label ${label} is not an integer`);
    }
  }
}

/**
 * Writes the recogniser to `path` (see the module doc), atomically (see
 * {@linkcode writeAtomically}): a reader never sees a half-written model.
 *
 * @throws {Error} naming the file when it cannot be written.
 */
export async function saveModel(
  path: string,
  recognizer: Recognizer,
): Promise<void> {
  const text = formatModel(recognizer.pack());
  try {
    await writeAtomically(path, new TextEncoder().encode(text));
  } catch (err) {
    throw new Error(`${path}: cannot save the model: ${errorText(err)}`);
  }
}

/**
 * Writes `bytes` to a hidden temporary file beside `path` (training skips
 * names starting with `.`), flushes it to disk, and renames it over `path`:
 * a reader, or a restart after a crash, sees the old file or the new one.
 * Model files and enrolled photos are saved this way.
 *
 * @throws the file system's error, after removing the temporary file.
 */
export async function writeAtomically(
  path: string,
  bytes: Uint8Array,
): Promise<void> {
  const slash = path.lastIndexOf("/");
  const temp = `${path.slice(0, slash + 1)}.${
    path.slice(slash + 1)
  }.tmp-${Deno.pid}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true });
    try {
      for (let offset = 0; offset < bytes.length;) {
        offset += await file.write(bytes.subarray(offset));
      }
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}
