/**
 * OpenCV's own model file for LBPH: the `%YAML:1.0` file that
 * `cv2.face.LBPHFaceRecognizer.write("model.yml")` writes and `read` reads.
 * Models trained by Python's cv2.face load here, and models saved here load in
 * cv2.face; the float32 histograms round-trip exactly. {@linkcode formatModel}
 * writes byte for byte what OpenCV writes for the same model.
 *
 * The parser understands the YAML subset OpenCV writes (block maps and
 * sequences by indentation, flow `[...]` lists wrapped over lines,
 * `!!opencv-matrix` tags, plain and quoted scalars); it is not a general YAML
 * parser.
 *
 * @module
 */

import { LbphRecognizer } from "./lbph.ts";

/** A parsed YAML node. */
type Node = MapNode | SeqNode | ScalarNode;

interface MapNode {
  kind: "map";
  tag?: string;
  line: number;
  entries: Map<string, Node>;
}

interface SeqNode {
  kind: "seq";
  tag?: string;
  line: number;
  items: Node[];
}

interface ScalarNode {
  kind: "scalar";
  tag?: string;
  line: number;
  text: string;
  quoted: boolean;
}

interface Line {
  /** 1-based line number in the file. */
  number: number;
  indent: number;
  text: string;
}

class ParseError extends Error {}

/** Wrap margin of OpenCV's YAML emitter (`FileStorage::Impl::wrapMargin`). */
const WRAP_MARGIN = 71;
/** OpenCV's `CV_FS_MAX_LEN`: the longest string it writes. */
const MAX_STRING = 4096;

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  const raw = text.split("\n");
  for (let i = 0; i < raw.length; i++) {
    let t = raw[i];
    if (t.endsWith("\r")) t = t.slice(0, -1);
    const trimmed = t.trimStart();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    if (trimmed.startsWith("%") && lines.length === 0) continue; // %YAML:1.0
    if (trimmed === "---" || trimmed === "...") continue;
    if (t.includes("\t") && t.search(/\S/) > t.indexOf("\t")) {
      throw new ParseError(`line ${i + 1}: tab in indentation`);
    }
    lines.push({
      number: i + 1,
      indent: t.length - trimmed.length,
      text: trimmed.trimEnd(),
    });
  }
  return lines;
}

/** Recursive-descent parser over indented lines. */
class Parser {
  #lines: Line[];
  #pos = 0;

  constructor(lines: Line[]) {
    this.#lines = lines;
  }

  parseDocument(): MapNode {
    if (this.#lines.length === 0) throw new ParseError("the file is empty");
    const first = this.#lines[0];
    const node = this.#block(first.indent);
    if (this.#pos < this.#lines.length) {
      const l = this.#lines[this.#pos];
      throw new ParseError(`line ${l.number}: unexpected indentation`);
    }
    if (node.kind !== "map") {
      throw new ParseError(`line ${first.number}: the top level is not a map`);
    }
    return node;
  }

  /** Parses the block (map, sequence or lone flow node) starting at the current line. */
  #block(indent: number): Node {
    const line = this.#lines[this.#pos];
    if (line.text === "-" || line.text.startsWith("- ")) {
      return this.#sequence(indent);
    }
    if (line.text.startsWith("[") || line.text.startsWith("{")) {
      this.#pos++;
      return this.#flowValue(line.text, undefined, line.number);
    }
    return this.#map(indent);
  }

  #map(indent: number): MapNode {
    const node: MapNode = {
      kind: "map",
      line: this.#lines[this.#pos].number,
      entries: new Map(),
    };
    while (this.#pos < this.#lines.length) {
      const line = this.#lines[this.#pos];
      if (line.indent < indent) break;
      if (line.indent > indent) {
        throw new ParseError(`line ${line.number}: unexpected indentation`);
      }
      const colon = findKeyColon(line.text);
      if (colon < 0) {
        throw new ParseError(
          `line ${line.number}: expected "key: value", got "${
            clip(line.text)
          }"`,
        );
      }
      const key = unquoteKey(line.text.slice(0, colon).trim(), line.number);
      const rest = line.text.slice(colon + 1).trim();
      this.#pos++;
      node.entries.set(key, this.#value(rest, indent, line.number));
    }
    return node;
  }

  #sequence(indent: number): SeqNode {
    const node: SeqNode = {
      kind: "seq",
      line: this.#lines[this.#pos].number,
      items: [],
    };
    while (this.#pos < this.#lines.length) {
      const line = this.#lines[this.#pos];
      if (line.indent < indent) break;
      if (line.indent > indent) {
        throw new ParseError(`line ${line.number}: unexpected indentation`);
      }
      if (!(line.text === "-" || line.text.startsWith("- "))) {
        throw new ParseError(
          `line ${line.number}: expected a "- " sequence item`,
        );
      }
      const rest = line.text.slice(1).trim();
      this.#pos++;
      if (rest !== "" && findKeyColon(rest) >= 0 && !rest.startsWith("!!")) {
        // "- key: value" starts an inline map: re-read it as a map at the
        // column where the key starts.
        const keyIndent = line.indent + line.text.indexOf(rest);
        this.#pos--;
        this.#lines[this.#pos] = {
          number: line.number,
          indent: keyIndent,
          text: rest,
        };
        node.items.push(this.#map(keyIndent));
        continue;
      }
      node.items.push(this.#value(rest, indent, line.number));
    }
    return node;
  }

  /** The value after "key:" or "-": inline, tagged, or a nested block. */
  #value(rest: string, indent: number, lineNumber: number): Node {
    let tag: string | undefined;
    if (rest.startsWith("!!")) {
      const space = rest.search(/\s/);
      tag = space < 0 ? rest.slice(2) : rest.slice(2, space);
      rest = space < 0 ? "" : rest.slice(space).trim();
    }
    if (rest === "") {
      const next = this.#lines[this.#pos];
      if (next === undefined || next.indent <= indent) {
        return {
          kind: "scalar",
          tag,
          line: lineNumber,
          text: "",
          quoted: false,
        };
      }
      const node = this.#block(next.indent);
      if (tag !== undefined) node.tag = tag;
      return node;
    }
    if (rest.startsWith("[") || rest.startsWith("{")) {
      return this.#flowValue(rest, tag, lineNumber);
    }
    return parseScalar(rest, tag, lineNumber);
  }

  /**
   * A flow list whose first line (already consumed) holds `start`, continued
   * over the following lines until its bracket closes.
   */
  #flowValue(start: string, tag: string | undefined, lineNumber: number) {
    const parts = [start];
    let text = start;
    while (!flowClosed(text)) {
      const next = this.#lines[this.#pos];
      if (next === undefined) {
        throw new ParseError(
          `line ${lineNumber}: the list "${
            clip(start)
          }" is not closed (file truncated?)`,
        );
      }
      parts.push(next.text);
      text = next.text;
      this.#pos++;
    }
    const joined = parts.join(" ");
    return parseFlow(joined, tag, lineNumber);
  }
}

/** Whether the flow text that ends with this line has closed its outermost bracket. */
function flowClosed(lastLine: string): boolean {
  return lastLine.endsWith("]") || lastLine.endsWith("}");
}

function clip(text: string): string {
  return text.length > 40 ? text.slice(0, 40) + "..." : text;
}

/** Index of the ":" that ends a key (outside quotes, followed by space or end), or -1. */
function findKeyColon(text: string): number {
  if (text.startsWith('"') || text.startsWith("'")) {
    const q = text[0];
    let i = 1;
    while (i < text.length && text[i] !== q) i += text[i] === "\\" ? 2 : 1;
    const after = i + 1;
    return text[after] === ":" &&
        (after + 1 === text.length || text[after + 1] === " ")
      ? after
      : -1;
  }
  if (text.startsWith("[") || text.startsWith("{")) return -1;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ":" && (i + 1 === text.length || text[i + 1] === " ")) {
      return i;
    }
  }
  return -1;
}

function unquoteKey(key: string, line: number): string {
  if (key.startsWith('"') || key.startsWith("'")) {
    return parseScalar(key, undefined, line).text;
  }
  return key;
}

function parseScalar(
  text: string,
  tag: string | undefined,
  line: number,
): ScalarNode {
  if (text.startsWith('"')) {
    let out = "";
    let i = 1;
    for (; i < text.length && text[i] !== '"'; i++) {
      let c = text[i];
      if (c === "\\") {
        i++;
        const e = text[i];
        if (e === "n") c = "\n";
        else if (e === "r") c = "\r";
        else if (e === "t") c = "\t";
        else if (e === "x") {
          const hex = text.slice(i + 1, i + 3);
          if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
            throw new ParseError(`line ${line}: bad escape "\\x${hex}"`);
          }
          c = String.fromCharCode(parseInt(hex, 16));
          i += 2;
        } else if (e === undefined) {
          throw new ParseError(`line ${line}: string ends after a backslash`);
        } else c = e;
      }
      out += c;
    }
    if (i >= text.length) {
      throw new ParseError(`line ${line}: unterminated string ${clip(text)}`);
    }
    if (text.slice(i + 1).trim() !== "") {
      throw new ParseError(`line ${line}: text after the closing quote`);
    }
    return { kind: "scalar", tag, line, text: out, quoted: true };
  }
  if (text.startsWith("'")) {
    const end = text.lastIndexOf("'");
    if (end === 0) {
      throw new ParseError(`line ${line}: unterminated string ${clip(text)}`);
    }
    return {
      kind: "scalar",
      tag,
      line,
      text: text.slice(1, end).replaceAll("''", "'"),
      quoted: true,
    };
  }
  return { kind: "scalar", tag, line, text, quoted: false };
}

/** Parses `[ a, b, ... ]` (scalars only, or empty) or `{ k: v, ... }`. */
function parseFlow(
  text: string,
  tag: string | undefined,
  line: number,
): Node {
  const open = text[0];
  const close = open === "[" ? "]" : "}";
  if (!text.endsWith(close)) {
    throw new ParseError(`line ${line}: "${clip(text)}" is not closed`);
  }
  const inner = text.slice(1, -1).trim();
  const items: string[] = [];
  if (inner !== "") {
    if (!inner.includes('"') && !inner.includes("'")) {
      // Fast path for the long numeric lists of histograms.
      for (const part of inner.split(",")) items.push(part.trim());
    } else {
      let start = 0;
      let quote = "";
      for (let i = 0; i < inner.length; i++) {
        const c = inner[i];
        if (quote !== "") {
          if (c === "\\") i++;
          else if (c === quote) quote = "";
        } else if (c === '"' || c === "'") quote = c;
        else if (c === ",") {
          items.push(inner.slice(start, i).trim());
          start = i + 1;
        }
      }
      items.push(inner.slice(start).trim());
    }
  }
  if (open === "[") {
    if (items.some((s) => s.startsWith("[") || s.startsWith("{"))) {
      throw new ParseError(`line ${line}: nested lists are not supported`);
    }
    return {
      kind: "seq",
      tag,
      line,
      items: items.map((s) => parseScalar(s, undefined, line)),
    };
  }
  const entries = new Map<string, Node>();
  for (const item of items) {
    const colon = findKeyColon(item);
    if (colon < 0) {
      throw new ParseError(`line ${line}: expected "key: value" in "{...}"`);
    }
    entries.set(
      unquoteKey(item.slice(0, colon).trim(), line),
      parseScalar(item.slice(colon + 1).trim(), undefined, line),
    );
  }
  return { kind: "map", tag, line, entries };
}

// ---------------------------------------------------------------------------
// Interpreting the parsed tree
// ---------------------------------------------------------------------------

function parseReal(node: Node, what: string): number {
  if (node.kind !== "scalar" || node.quoted) {
    throw new ParseError(`${what} is not a number`);
  }
  const t = node.text;
  if (t === ".Inf" || t === "+.Inf") return Infinity;
  if (t === "-.Inf") return -Infinity;
  if (t === ".Nan" || t === ".NaN") return NaN;
  // Number("") is 0 and Number("0x10") is 16: accept only decimal numbers.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
    throw new ParseError(`${what} is not a number: "${clip(t)}"`);
  }
  return Number(t);
}

function parseInt32(node: Node, what: string): number {
  const v = parseReal(node, what);
  if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
    throw new ParseError(`${what} is not a 32-bit integer`);
  }
  return v;
}

function required(map: MapNode, key: string, where: string): Node {
  const node = map.entries.get(key);
  if (node === undefined) {
    throw new ParseError(`missing "${key}" in ${where}`);
  }
  return node;
}

interface Matrix {
  rows: number;
  cols: number;
  dt: string;
  data: number[];
}

function parseMatrix(node: Node, what: string): Matrix {
  if (node.kind !== "map" || node.tag !== "opencv-matrix") {
    throw new ParseError(
      `${what} (line ${node.line}) is not an !!opencv-matrix`,
    );
  }
  const where = `${what} (line ${node.line})`;
  const rows = parseInt32(required(node, "rows", where), `${where} rows`);
  const cols = parseInt32(required(node, "cols", where), `${where} cols`);
  const dtNode = required(node, "dt", where);
  if (dtNode.kind !== "scalar") throw new ParseError(`${where} dt is not text`);
  const dataNode = required(node, "data", where);
  if (dataNode.kind !== "seq") {
    throw new ParseError(`${where} data is not a list`);
  }
  if (rows < 0 || cols < 0) {
    throw new ParseError(`${where} has a negative size ${rows}x${cols}`);
  }
  if (dataNode.items.length !== rows * cols) {
    throw new ParseError(
      `${where} is ${rows}x${cols} but has ${dataNode.items.length} values (file truncated or edited?)`,
    );
  }
  const data = new Array<number>(dataNode.items.length);
  for (let i = 0; i < data.length; i++) {
    const item = dataNode.items[i] as ScalarNode;
    data[i] = parseReal(item, `${where} value ${i}`);
  }
  return { rows, cols, dt: dtNode.text, data };
}

/**
 * Parses the text of an OpenCV LBPH model file. `name` (the file name) is
 * used in error messages.
 *
 * @throws {Error} naming the file and what is wrong when the text is not a
 * valid LBPH model.
 */
export function parseModel(text: string, name = "model"): LbphRecognizer {
  try {
    return interpret(new Parser(splitLines(text)).parseDocument());
  } catch (err) {
    if (err instanceof ParseError) {
      throw new Error(`${name}: not a valid LBPH model file: ${err.message}`);
    }
    if (err instanceof Error && err.message.startsWith("LBPH")) {
      throw new Error(`${name}: not a valid LBPH model file: ${err.message}`);
    }
    throw err;
  }
}

function interpret(root: MapNode): LbphRecognizer {
  const [topName, top] = root.entries.entries().next().value as [string, Node];
  if (top.kind !== "map") {
    throw new ParseError(`"${topName}" is not a map of model settings`);
  }
  if (topName !== "opencv_lbphfaces" && !top.entries.has("histograms")) {
    throw new ParseError(
      `"${topName}" is not an LBPH model (expected "opencv_lbphfaces")`,
    );
  }
  const where = `"${topName}"`;
  // OpenCV: a missing or zero threshold keeps the default DBL_MAX.
  const thresholdNode = top.entries.get("threshold");
  let threshold = thresholdNode === undefined
    ? 0
    : parseReal(thresholdNode, "threshold");
  if (Number.isNaN(threshold)) throw new ParseError("threshold is NaN");
  if (threshold === 0) threshold = Number.MAX_VALUE;
  const radius = parseInt32(required(top, "radius", where), "radius");
  const neighbors = parseInt32(required(top, "neighbors", where), "neighbors");
  const gridX = parseInt32(required(top, "grid_x", where), "grid_x");
  const gridY = parseInt32(required(top, "grid_y", where), "grid_y");
  const recognizer = new LbphRecognizer({
    radius,
    neighbors,
    gridX,
    gridY,
    threshold,
  });

  const histNode = required(top, "histograms", where);
  if (histNode.kind !== "seq") {
    throw new ParseError(`"histograms" (line ${histNode.line}) is not a list`);
  }
  const histograms = histNode.items.map((item, i) => {
    const m = parseMatrix(item, `histogram ${i}`);
    if (m.dt !== "f") {
      throw new ParseError(`histogram ${i} has dt "${m.dt}", expected "f"`);
    }
    if (m.data.length !== recognizer.histogramSize) {
      throw new ParseError(
        `histogram ${i} has ${m.data.length} values but grid ${gridX}x${gridY} with ${neighbors} neighbors needs ${recognizer.histogramSize}`,
      );
    }
    return Float32Array.from(m.data);
  });

  const labelsMatrix = parseMatrix(required(top, "labels", where), "labels");
  if (labelsMatrix.data.length > 0 && labelsMatrix.dt !== "i") {
    throw new ParseError(`labels have dt "${labelsMatrix.dt}", expected "i"`);
  }
  const labels = labelsMatrix.data.map((v, i) => {
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
      throw new ParseError(`label ${i} is not a 32-bit integer`);
    }
    return v;
  });
  if (labels.length !== histograms.length) {
    throw new ParseError(
      `${histograms.length} histograms but ${labels.length} labels`,
    );
  }
  recognizer.addHistograms(histograms, labels);

  const info = top.entries.get("labelsInfo");
  if (info !== undefined && info.kind === "seq") {
    for (const [i, item] of info.items.entries()) {
      if (item.kind !== "map") {
        throw new ParseError(`labelsInfo item ${i} is not a map`);
      }
      const label = parseInt32(
        required(item, "label", `labelsInfo item ${i}`),
        `labelsInfo item ${i} label`,
      );
      const value = required(item, "value", `labelsInfo item ${i}`);
      if (value.kind !== "scalar") {
        throw new ParseError(`labelsInfo item ${i} value is not text`);
      }
      recognizer.labelNames.set(label, value.text);
    }
  }
  return recognizer;
}

/**
 * Reads an OpenCV LBPH model file (as written by cv2.face's `write` or by
 * {@linkcode saveModel}).
 *
 * @throws {Error} naming the file when it cannot be read or is not a model.
 */
export async function loadModel(path: string): Promise<LbphRecognizer> {
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
  return parseModel(text, path);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------
// Writing, as OpenCV's YAML emitter does
// ---------------------------------------------------------------------------

/**
 * `printf("%.<precision>e")` with C's round-half-to-even on the exact binary
 * value (JavaScript's toExponential rounds exact ties up instead).
 */
function formatExponent(value: number, precision: number): string {
  // Only an exact tie (digit precision+2 is a 5 followed by zeros) can round
  // differently; anything else takes the fast path.
  const probe = value.toExponential(precision + 1);
  if (probe[probe.indexOf("e") - 1] !== "5") {
    return cExponent(value.toExponential(precision));
  }
  const exact = value.toExponential(100); // "-d.ddd...e+x", exact for our values
  const negative = exact.startsWith("-");
  const body = negative ? exact.slice(1) : exact;
  const e = body.indexOf("e");
  let exponent = Number(body.slice(e + 1));
  const digits = (body[0] + body.slice(2, e)).split("").map(Number);
  const kept = digits.slice(0, precision + 1);
  const next = digits[precision + 1];
  const restNonZero = digits.slice(precision + 2).some((d) => d !== 0);
  const roundUp = next > 5 || (next === 5 &&
    (restNonZero || kept[precision] % 2 === 1));
  if (roundUp) {
    let i = precision;
    while (i >= 0 && kept[i] === 9) kept[i--] = 0;
    if (i >= 0) kept[i]++;
    else {
      kept.unshift(1);
      kept.pop();
      exponent++;
    }
  }
  const sign = exponent < 0 ? "-" : "+";
  const exp = String(Math.abs(exponent)).padStart(2, "0");
  return `${negative ? "-" : ""}${kept[0]}.${
    kept.slice(1).join("")
  }e${sign}${exp}`;
}

/** JavaScript's "1.5e-7" exponent as C's "1.5e-07". */
function cExponent(text: string): string {
  const e = text.indexOf("e");
  const sign = text[e + 1];
  const digits = text.slice(e + 2);
  return `${text.slice(0, e)}e${sign}${
    digits.length < 2 ? "0" + digits : digits
  }`;
}

/** OpenCV's `fs::floatToString` / `doubleToString`. */
function formatReal(value: number, precision: number): string {
  if (Number.isNaN(value)) return ".Nan";
  if (!Number.isFinite(value)) return value < 0 ? "-.Inf" : ".Inf";
  if (
    Number.isInteger(value) && value >= -2147483648 && value <= 2147483647
  ) {
    return `${value === 0 ? 0 : value}.`;
  }
  return formatExponent(value, precision);
}

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** OpenCV's YAML `writeString`: quotes and escapes when needed (on UTF-8 bytes). */
function formatString(value: string): string {
  const bytes = new TextEncoder().encode(value);
  if (bytes.length > MAX_STRING) {
    throw new Error(`the name "${clip(value)}" is too long for OpenCV`);
  }
  let needQuote = bytes.length === 0 || bytes[0] === 32 ||
    bytes[bytes.length - 1] === 32;
  const out: number[] = [];
  for (const c of bytes) {
    if (
      !needQuote && !isAlnum(c) && !"_ -()/+;".includes(String.fromCharCode(c))
    ) {
      needQuote = true;
    }
    const printable = c >= 32;
    if (!isAlnum(c) && (!printable || c === 92 || c === 39 || c === 34)) {
      out.push(92); // backslash
      if (printable) out.push(c);
      else if (c === 10) out.push(110); // n
      else if (c === 13) out.push(114); // r
      else if (c === 9) out.push(116); // t
      else {
        throw new Error(
          `the name "${
            clip(value)
          }" contains a control character that OpenCV cannot read back`,
        );
      }
    } else out.push(c);
  }
  const first = bytes[0];
  if (
    !needQuote &&
    ((first >= 48 && first <= 57) || first === 43 || first === 45 ||
      first === 46)
  ) {
    needQuote = true;
  }
  const text = new TextDecoder().decode(new Uint8Array(out));
  return needQuote ? `"${text}"` : text;
}

/** Appends a flow list `key: [ a, b, ... ]`, wrapped as OpenCV wraps it. */
function writeFlow(
  lines: string[],
  indent: number,
  key: string,
  items: string[],
): void {
  const inner = indent + 4; // continuation lines of a flow list
  let line = `${" ".repeat(indent)}${key}: [`;
  if (items.length === 0) {
    lines.push(line + "]");
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (i > 0) line += ",";
    const newOffset = line.length + item.length;
    if (newOffset > WRAP_MARGIN && newOffset - inner > 10) {
      lines.push(line);
      line = " ".repeat(inner);
    } else {
      line += " ";
    }
    line += item;
  }
  lines.push(line + " ]");
}

function writeMatrix(
  lines: string[],
  indent: number,
  header: string,
  matrix: { rows: number; cols: number; dt: string; data: string[] },
): void {
  lines.push(header);
  const pad = " ".repeat(indent);
  lines.push(`${pad}rows: ${matrix.rows}`);
  lines.push(`${pad}cols: ${matrix.cols}`);
  lines.push(`${pad}dt: ${matrix.dt}`);
  writeFlow(lines, indent, "data", matrix.data);
}

/**
 * The model as OpenCV's `LBPHFaceRecognizer::write` formats it: the same
 * text, byte for byte, as cv2.face writes for the same model. Names in
 * `labelNames` go to `labelsInfo`, sorted by label as OpenCV's map is.
 */
export function formatModel(recognizer: LbphRecognizer): string {
  const lines: string[] = ["%YAML:1.0", "---", "opencv_lbphfaces:"];
  lines.push(`   threshold: ${formatReal(recognizer.threshold, 16)}`);
  lines.push(`   radius: ${recognizer.radius}`);
  lines.push(`   neighbors: ${recognizer.neighbors}`);
  lines.push(`   grid_x: ${recognizer.gridX}`);
  lines.push(`   grid_y: ${recognizer.gridY}`);
  const histograms = recognizer.histograms;
  lines.push("   histograms:");
  if (histograms.length === 0) lines.push("      []");
  for (const h of histograms) {
    const data = new Array<string>(h.length);
    for (let i = 0; i < h.length; i++) data[i] = formatReal(h[i], 8);
    writeMatrix(lines, 9, "      - !!opencv-matrix", {
      rows: 1,
      cols: h.length,
      dt: "f",
      data,
    });
  }
  const labels = recognizer.labels;
  writeMatrix(lines, 6, "   labels: !!opencv-matrix", {
    rows: labels.length,
    cols: labels.length === 0 ? 0 : 1,
    dt: labels.length === 0 ? "u" : "i",
    data: labels.map(String),
  });
  lines.push("   labelsInfo:");
  const names = [...recognizer.labelNames.entries()].sort((a, b) =>
    a[0] - b[0]
  );
  if (names.length === 0) lines.push("      []");
  for (const [label, name] of names) {
    if (!Number.isInteger(label)) {
      throw new Error(`label ${label} of "${name}" is not an integer`);
    }
    lines.push("      -");
    lines.push(`         label: ${label}`);
    lines.push(`         value: ${formatString(name)}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * Writes the model to `path` in OpenCV's YAML format, atomically: the text
 * goes to a temporary file beside it, which is then renamed over `path`, so
 * a reader never sees a half-written model.
 *
 * @throws {Error} naming the file when it cannot be written.
 */
export async function saveModel(
  path: string,
  recognizer: LbphRecognizer,
): Promise<void> {
  const text = formatModel(recognizer);
  const temp = `${path}.tmp-${Deno.pid}-${
    Math.random().toString(36).slice(2, 10)
  }`;
  try {
    await Deno.writeTextFile(temp, text);
    await Deno.rename(temp, path);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw new Error(`${path}: cannot save the model: ${errorText(err)}`);
  }
}
