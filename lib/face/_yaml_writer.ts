/**
 * Writes OpenCV's FileStorage YAML (`%YAML:1.0`) as its emitter does, byte
 * for byte: number formats, string quoting, and flow lists wrapped at
 * OpenCV's margin. Models written from these lines read in cv2 as files of
 * its own (lib/face/model_file.ts).
 *
 * @module
 */

import { clip } from "./_yaml_reader.ts";

/** Wrap margin of OpenCV's YAML emitter (`FileStorage::Impl::wrapMargin`). */
const WRAP_MARGIN = 71;
/** OpenCV's `CV_FS_MAX_LEN`: the longest string it writes. */
const MAX_STRING = 4096;

/** Where a block starts: the column of its keys. */
export interface IndentOptions {
  /** Spaces before the keys (OpenCV indents by 3 per level). */
  indent: number;
}

/** An `!!opencv-matrix` with its values already formatted. */
export interface MatrixText {
  /** Rows. */
  rows: number;
  /** Columns. */
  cols: number;
  /** OpenCV's element type: `f` float32, `i` int32, `u` uint8. */
  dt: string;
  /** `rows * cols` values as {@linkcode formatReal} or `String` wrote them. */
  data: string[];
}

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

/**
 * OpenCV's `fs::floatToString` (precision 8, for float32) and
 * `doubleToString` (precision 16): integers as `1.`, `.Nan`, `.Inf`.
 */
export function formatReal(value: number, precision: number): string {
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

/**
 * OpenCV's YAML `writeString`: quotes and escapes when needed (on UTF-8
 * bytes), `\'` for an apostrophe included.
 *
 * @throws {Error} for a string OpenCV could not read back.
 */
export function formatString(value: string): string {
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

/** The flow list `key: [ a, b, ... ]`, wrapped as OpenCV wraps it. */
export function flowLines(
  key: string,
  items: readonly string[],
  options: IndentOptions,
): string[] {
  const lines: string[] = [];
  const inner = options.indent + 4; // continuation lines of a flow list
  let line = `${" ".repeat(options.indent)}${key}: [`;
  if (items.length === 0) return [line + "]"];
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
  return lines;
}

/**
 * A matrix: its `header` line (`key: !!opencv-matrix` or
 * `- !!opencv-matrix`), then its fields at `indent`.
 */
export function matrixLines(
  header: string,
  matrix: MatrixText,
  options: IndentOptions,
): string[] {
  const pad = " ".repeat(options.indent);
  return [
    header,
    `${pad}rows: ${matrix.rows}`,
    `${pad}cols: ${matrix.cols}`,
    `${pad}dt: ${matrix.dt}`,
    ...flowLines("data", matrix.data, options),
  ];
}

/**
 * `labelsInfo`, the names by label as OpenCV's face recognisers write them
 * (a sequence of `label`/`value` maps, sorted by label as OpenCV's map is).
 */
export function namesLines(
  names: Iterable<[number, string]>,
  options: IndentOptions,
): string[] {
  const key = " ".repeat(options.indent);
  const item = " ".repeat(options.indent + 3);
  const field = " ".repeat(options.indent + 6);
  const lines = [`${key}labelsInfo:`];
  const sorted = [...names].sort((a, b) => a[0] - b[0]);
  if (sorted.length === 0) lines.push(`${item}[]`);
  for (const [label, name] of sorted) {
    if (!Number.isInteger(label)) {
      throw new Error(`label ${label} of "${name}" is not an integer`);
    }
    lines.push(`${item}-`);
    lines.push(`${field}label: ${label}`);
    lines.push(`${field}value: ${formatString(name)}`);
  }
  return lines;
}
