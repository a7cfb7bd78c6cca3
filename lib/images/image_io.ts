/**
 * Image files in and out: JPEG (baseline files decoded here exactly as
 * libjpeg / `cv2.imread` does, others by `jpeg-js`; encoded by a baseline
 * encoder here, about 3x faster than jpeg-js's), PNG (own codec on top of
 * `node:zlib`) and PGM/PPM (P2, P3, P5, P6). Formats are recognised by their
 * magic bytes, never by the file name. Every problem with an input file
 * (corrupt, truncated, unsupported, too large) becomes an `ImageError` whose
 * message starts with the file name and states the reason.
 *
 * Also raw pixel helpers for BGR frames (`fromBgr`, `toBgr`, `toRgb`).
 *
 * @module
 */

import jpeg from "jpeg-js";
import { deflateSync, inflateSync } from "node:zlib";
import type { Image } from "./image.ts";

/** Default upper bound on `width * height` of a decoded image (40 megapixels). */
export const DEFAULT_MAX_PIXELS = 40_000_000;

/** Options for {@linkcode decodeImage}. */
export interface DecodeOptions {
  /** Name used in error messages (usually the file path). Default "image". */
  name?: string;
  /**
   * Return a 1-channel image, converted like `cv2.cvtColor(RGB2GRAY)`
   * (bit-exact).
   */
  grey?: boolean;
  /** Refuse images with more pixels than this. Default 40 000 000. */
  maxPixels?: number;
  /**
   * Keep a JPEG's pixels as stored instead of turning them upright by its
   * EXIF orientation tag (which `cv2.imread` and this module do by default).
   */
  ignoreOrientation?: boolean;
}

/** Options for {@linkcode readImage}: those of {@linkcode decodeImage} but the name. */
export type ReadOptions = Omit<DecodeOptions, "name">;

/** Thrown for every unreadable image; the message names the file and reason. */
export class ImageError extends Error {
  /** Creates the error; `name` is the file name, `reason` what is wrong. */
  constructor(fileName: string, reason: string) {
    super(`${fileName}: ${reason}`);
    this.name = "ImageError";
  }
}

/** Internal signal: a format decoder found a problem (reason only). */
class FormatError extends Error {}

/**
 * Decodes a JPEG, PNG, PGM or PPM file held in memory. Grey sources give a
 * 1-channel image, colour sources a 3-channel RGB image; alpha is dropped
 * (as `cv2.imread(..., IMREAD_COLOR)` does) and 16-bit samples keep their
 * high byte. With `grey: true` the result is always 1-channel.
 *
 * @throws {ImageError} when the bytes are not a supported, intact image.
 */
export function decodeImage(
  bytes: Uint8Array,
  options: DecodeOptions = {},
): Image {
  const name = options.name ?? "image";
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  let image: Image;
  try {
    image = decodeByMagic(bytes, maxPixels);
    if (!options.ignoreOrientation && bytes[0] === 0xff) {
      image = orient(image, jpegOrientation(bytes));
    }
  } catch (err) {
    if (err instanceof FormatError) throw new ImageError(name, err.message);
    // Anything thrown by jpeg-js or zlib on hostile input.
    const reason = err instanceof Error ? err.message : String(err);
    throw new ImageError(name, `corrupt image (${reason})`);
  }
  return options.grey ? greyOf(image) : image;
}

/**
 * Reads and decodes an image file (see {@linkcode decodeImage}).
 *
 * @throws {ImageError} when the file is missing, unreadable or not an image.
 */
export async function readImage(
  path: string,
  options: ReadOptions = {},
): Promise<Image> {
  let bytes: Uint8Array;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new ImageError(path, "not a regular file");
    if (info.size > 512 * 1024 * 1024) {
      throw new ImageError(path, `file too large (${info.size} bytes)`);
    }
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof ImageError) throw err;
    if (err instanceof Deno.errors.NotFound) {
      throw new ImageError(path, "file not found");
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new ImageError(path, "permission denied");
    }
    const reason = err instanceof Error ? err.message : String(err);
    throw new ImageError(path, `cannot read file (${reason})`);
  }
  return decodeImage(bytes, { ...options, name: path });
}

function decodeByMagic(bytes: Uint8Array, maxPixels: number): Image {
  if (bytes.length === 0) throw new FormatError("empty file");
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    return decodeJpeg(bytes, maxPixels);
  }
  if (
    bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 &&
    bytes[2] === 0x4e && bytes[3] === 0x47
  ) {
    return decodePng(bytes, maxPixels);
  }
  if (bytes.length >= 2 && bytes[0] === 0x50) { // 'P'
    const kind = bytes[1] - 0x30;
    if (kind === 2 || kind === 3 || kind === 5 || kind === 6) {
      return decodePnm(bytes, maxPixels);
    }
    if (kind === 1 || kind === 4 || kind === 7) {
      throw new FormatError(
        `unsupported Netpbm variant P${kind} (only P2, P3, P5, P6)`,
      );
    }
  }
  throw new FormatError("unsupported image format (not JPEG, PNG, PGM or PPM)");
}

// ---------------------------------------------------------------------------
// JPEG

interface JpegFrame {
  width: number;
  height: number;
  components: number;
}

/** Size and component count from the first SOF segment, if any. */
function jpegFrame(bytes: Uint8Array): JpegFrame | undefined {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1];
    if (marker === 0xff) { // fill byte
      i++;
      continue;
    }
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 &&
      marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      return {
        height: (bytes[i + 5] << 8) | bytes[i + 6],
        width: (bytes[i + 7] << 8) | bytes[i + 8],
        components: bytes[i + 9],
      };
    }
    if (marker === 0xda || marker === 0xd9) return undefined;
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    i += 2 + length;
  }
  return undefined;
}

function decodeJpeg(bytes: Uint8Array, maxPixels: number): Image {
  const frame = jpegFrame(bytes);
  if (frame === undefined) {
    throw new FormatError("corrupt or truncated JPEG (no frame header)");
  }
  if (frame.components !== 1 && frame.components !== 3) {
    throw new FormatError(
      `unsupported JPEG with ${frame.components} colour components`,
    );
  }
  if (frame.width * frame.height > maxPixels) {
    throw tooLarge(frame.width, frame.height, maxPixels);
  }
  const exact = decodeBaselineJpeg(bytes);
  if (exact !== undefined) return exact;
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: true,
      maxResolutionInMP: Math.max(1, Math.ceil(maxPixels / 1e6)),
      maxMemoryUsageInMB: 1024,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new FormatError(`corrupt or truncated JPEG (${reason})`);
  }
  const { width, height } = decoded;
  if (!(width > 0 && height > 0)) {
    throw new FormatError("corrupt JPEG (zero width or height)");
  }
  const rgb = decoded.data;
  if (frame.components === 3) {
    return { width, height, channels: 3, data: rgb };
  }
  const data = new Uint8Array(width * height);
  for (let i = 0, j = 0; i < data.length; i++, j += 3) data[i] = rgb[j];
  return { width, height, channels: 1, data };
}

// ---------------------------------------------------------------------------
// Baseline JPEG decoder, written to reproduce libjpeg(-turbo)'s default
// output exactly: "islow" integer IDCT, fancy (triangle) chroma upsampling
// and fixed-point YCbCr to RGB. Handles baseline/extended Huffman JPEGs with
// one interleaved scan and 4:4:4, 4:2:2, 4:2:0 or grey sampling; anything
// else (progressive, arithmetic, other layouts) returns undefined and goes
// to jpeg-js.

interface BaselineComponent {
  id: number;
  h: number;
  v: number;
  tq: number;
  blocksPerLine: number;
  blocksPerColumn: number;
  plane: Uint8Array; // blocksPerLine * 8 wide
  dcTable: Int32Array | undefined;
  acTable: Int32Array | undefined;
  pred: number;
}

/**
 * Huffman lookup: a 9-bit fast table, plus canonical maxcode/valptr arrays
 * for longer codes.
 */
interface DecodeTable {
  fast: Int32Array; // (length << 8) | symbol, or 0 when longer than 9 bits
  maxcode: Int32Array; // per length 1..16, -1 if none
  valptr: Int32Array;
  mincode: Int32Array;
  symbols: Uint8Array;
}

const FAST_BITS = 9;

function buildDecodeTable(
  counts: Uint8Array,
  symbols: Uint8Array,
): DecodeTable {
  const fast = new Int32Array(1 << FAST_BITS);
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    const n = counts[length - 1];
    if (n > 0) {
      valptr[length] = k;
      mincode[length] = code;
      for (let i = 0; i < n; i++) {
        if (length <= FAST_BITS) {
          const shift = FAST_BITS - length;
          const start = code << shift;
          for (let j = 0; j < 1 << shift; j++) {
            fast[start + j] = (length << 8) | symbols[k];
          }
        }
        code++;
        k++;
      }
      maxcode[length] = code - 1;
    }
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff; // sentinel: invalid code
  return { fast, maxcode, valptr, mincode, symbols };
}

/** Reads entropy-coded bits, removing stuffed zeros, stopping at markers. */
class BitReader {
  pos: number;
  bits = 0;
  count = 0;
  marker = false;
  padded = 0; // zero bytes fed after a marker or the end of the data
  constructor(readonly data: Uint8Array, start: number) {
    this.pos = start;
  }

  fill(): void {
    while (this.count <= 24) {
      let byte = 0;
      if (!this.marker && this.pos < this.data.length) {
        byte = this.data[this.pos];
        if (byte === 0xff) {
          const next = this.data[this.pos + 1];
          if (next === 0) {
            this.pos += 2;
          } else {
            this.marker = true; // leave the marker for the caller
            byte = 0;
            this.padded++;
          }
        } else {
          this.pos++;
        }
      } else {
        this.padded++;
      }
      this.bits = ((this.bits << 8) | byte) >>> 0;
      this.count += 8;
    }
  }

  peek(n: number): number {
    if (this.count < n) this.fill();
    return (this.bits >>> (this.count - n)) & ((1 << n) - 1);
  }

  skip(n: number): void {
    this.count -= n;
    this.bits &= this.count === 32 ? 0xffffffff : (1 << this.count) - 1;
  }

  get(n: number): number {
    if (n === 0) return 0;
    const v = this.peek(n);
    this.skip(n);
    return v;
  }

  decode(t: DecodeTable): number {
    const look = this.peek(FAST_BITS);
    const entry = t.fast[look];
    if (entry !== 0) {
      this.skip(entry >> 8);
      return entry & 0xff;
    }
    const code = this.peek(16);
    for (let length = FAST_BITS + 1; length <= 16; length++) {
      const c = code >>> (16 - length);
      if (t.maxcode[length] >= 0 && c <= t.maxcode[length]) {
        this.skip(length);
        return t.symbols[t.valptr[length] + c - t.mincode[length]];
      }
    }
    throw new FormatError("corrupt JPEG (bad Huffman code)");
  }

  /** Throws when decoding used bits beyond the data (cut short). */
  checkComplete(): void {
    if (this.count < this.padded * 8) {
      throw new FormatError("truncated JPEG (image data ends early)");
    }
  }

  /** Skips to after the next RSTn marker. */
  restart(): void {
    this.checkComplete();
    this.padded = 0;
    this.bits = 0;
    this.count = 0;
    this.marker = false;
    const d = this.data;
    while (this.pos + 1 < d.length) {
      if (
        d[this.pos] === 0xff && d[this.pos + 1] >= 0xd0 &&
        d[this.pos + 1] <= 0xd7
      ) {
        this.pos += 2;
        return;
      }
      this.pos++;
    }
  }
}

function extend(v: number, n: number): number {
  return v < 1 << (n - 1) ? v - (1 << n) + 1 : v;
}

// islow IDCT constants (CONST_BITS 13, PASS1_BITS 2).
const F0298 = 2446, F0390 = 3196, F0541 = 4433, F0765 = 6270, F0899 = 7373;
const F1175 = 9633, F1501 = 12299, F1847 = 15137, F1961 = 16069;
const F2053 = 16819, F2562 = 20995, F3072 = 25172;

/** libjpeg's jpeg_idct_islow: dequantised coefficients to 8x8 samples. */
function idctIslow(
  coef: Int32Array,
  quant: Uint16Array,
  ws: Int32Array,
  out: Uint8Array,
  outPos: number,
  stride: number,
): void {
  for (let c = 0; c < 8; c++) {
    if (
      coef[8 + c] === 0 && coef[16 + c] === 0 && coef[24 + c] === 0 &&
      coef[32 + c] === 0 && coef[40 + c] === 0 && coef[48 + c] === 0 &&
      coef[56 + c] === 0
    ) {
      const dc = (coef[c] * quant[c]) << 2;
      for (let r = 0; r < 8; r++) ws[r * 8 + c] = dc;
      continue;
    }
    let z2 = coef[16 + c] * quant[16 + c];
    let z3 = coef[48 + c] * quant[48 + c];
    let z1 = (z2 + z3) * F0541;
    let tmp2 = z1 + z3 * -F1847;
    let tmp3 = z1 + z2 * F0765;
    z2 = coef[c] * quant[c];
    z3 = coef[32 + c] * quant[32 + c];
    let tmp0 = (z2 + z3) * 8192;
    let tmp1 = (z2 - z3) * 8192;
    const tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
    tmp0 = coef[56 + c] * quant[56 + c];
    tmp1 = coef[40 + c] * quant[40 + c];
    tmp2 = coef[24 + c] * quant[24 + c];
    tmp3 = coef[8 + c] * quant[8 + c];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * F1175;
    tmp0 *= F0298;
    tmp1 *= F2053;
    tmp2 *= F3072;
    tmp3 *= F1501;
    z1 *= -F0899;
    z2 *= -F2562;
    z3 = z3 * -F1961 + z5;
    z4 = z4 * -F0390 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    ws[c] = (tmp10 + tmp3 + 1024) >> 11;
    ws[56 + c] = (tmp10 - tmp3 + 1024) >> 11;
    ws[8 + c] = (tmp11 + tmp2 + 1024) >> 11;
    ws[48 + c] = (tmp11 - tmp2 + 1024) >> 11;
    ws[16 + c] = (tmp12 + tmp1 + 1024) >> 11;
    ws[40 + c] = (tmp12 - tmp1 + 1024) >> 11;
    ws[24 + c] = (tmp13 + tmp0 + 1024) >> 11;
    ws[32 + c] = (tmp13 - tmp0 + 1024) >> 11;
  }
  for (let r = 0; r < 8; r++) {
    const w = r * 8;
    const o = outPos + r * stride;
    let z2 = ws[w + 2];
    let z3 = ws[w + 6];
    let z1 = (z2 + z3) * F0541;
    let tmp2 = z1 + z3 * -F1847;
    let tmp3 = z1 + z2 * F0765;
    let tmp0 = (ws[w] + ws[w + 4]) * 8192;
    let tmp1 = (ws[w] - ws[w + 4]) * 8192;
    const tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
    tmp0 = ws[w + 7];
    tmp1 = ws[w + 5];
    tmp2 = ws[w + 3];
    tmp3 = ws[w + 1];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * F1175;
    tmp0 *= F0298;
    tmp1 *= F2053;
    tmp2 *= F3072;
    tmp3 *= F1501;
    z1 *= -F0899;
    z2 *= -F2562;
    z3 = z3 * -F1961 + z5;
    z4 = z4 * -F0390 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    out[o] = clampSample((tmp10 + tmp3 + 131072) >> 18);
    out[o + 7] = clampSample((tmp10 - tmp3 + 131072) >> 18);
    out[o + 1] = clampSample((tmp11 + tmp2 + 131072) >> 18);
    out[o + 6] = clampSample((tmp11 - tmp2 + 131072) >> 18);
    out[o + 2] = clampSample((tmp12 + tmp1 + 131072) >> 18);
    out[o + 5] = clampSample((tmp12 - tmp1 + 131072) >> 18);
    out[o + 3] = clampSample((tmp13 + tmp0 + 131072) >> 18);
    out[o + 4] = clampSample((tmp13 - tmp0 + 131072) >> 18);
  }
}

function clampSample(v: number): number {
  const x = v + 128;
  return x < 0 ? 0 : x > 255 ? 255 : x;
}

/** Decodes a baseline JPEG exactly like libjpeg, or returns undefined. */
function decodeBaselineJpeg(bytes: Uint8Array): Image | undefined {
  const quant: (Uint16Array | undefined)[] = [];
  const dcTables: (DecodeTable | undefined)[] = [];
  const acTables: (DecodeTable | undefined)[] = [];
  let frame:
    | { width: number; height: number; components: BaselineComponent[] }
    | undefined;
  let restartInterval = 0;
  let adobeTransform = -1;
  let jfif = false;
  let i = 2;
  const segmentEnd = (at: number) => {
    const end = at + 2 + ((bytes[at + 2] << 8) | bytes[at + 3]);
    if (end > bytes.length) {
      throw new FormatError("truncated JPEG (segment cut short)");
    }
    return end;
  };
  while (i + 3 < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0xd9) break;
    const end = segmentEnd(i);
    const s = i + 4;
    switch (marker) {
      case 0xdb: { // DQT
        let p = s;
        while (p < end) {
          const precision = bytes[p] >> 4;
          const id = bytes[p] & 15;
          p++;
          if (id > 3) return undefined;
          const table = new Uint16Array(64);
          for (let k = 0; k < 64; k++) {
            table[ZIGZAG[k]] = precision
              ? (bytes[p] << 8) | bytes[p + 1]
              : bytes[p];
            p += precision ? 2 : 1;
          }
          quant[id] = table;
        }
        break;
      }
      case 0xc4: { // DHT
        let p = s;
        while (p < end) {
          const cls = bytes[p] >> 4;
          const id = bytes[p] & 15;
          if (id > 3 || cls > 1) return undefined;
          const counts = bytes.subarray(p + 1, p + 17);
          let total = 0;
          for (let k = 0; k < 16; k++) total += counts[k];
          if (total > 256 || p + 17 + total > end) {
            throw new FormatError("corrupt JPEG (bad Huffman table)");
          }
          const table = buildDecodeTable(
            counts,
            bytes.subarray(p + 17, p + 17 + total),
          );
          (cls === 0 ? dcTables : acTables)[id] = table;
          p += 17 + total;
        }
        break;
      }
      case 0xc0:
      case 0xc1: { // SOF0 baseline, SOF1 extended sequential Huffman
        if (frame !== undefined || bytes[s] !== 8) return undefined;
        const height = (bytes[s + 1] << 8) | bytes[s + 2];
        const width = (bytes[s + 3] << 8) | bytes[s + 4];
        const n = bytes[s + 5];
        if (width === 0 || height === 0 || (n !== 1 && n !== 3)) {
          return undefined;
        }
        const components: BaselineComponent[] = [];
        for (let k = 0; k < n; k++) {
          const c = s + 6 + 3 * k;
          components.push({
            id: bytes[c],
            h: bytes[c + 1] >> 4,
            v: bytes[c + 1] & 15,
            tq: bytes[c + 2] & 3,
            blocksPerLine: 0,
            blocksPerColumn: 0,
            plane: new Uint8Array(0),
            dcTable: undefined,
            acTable: undefined,
            pred: 0,
          });
        }
        frame = { width, height, components };
        break;
      }
      case 0xdd: // DRI
        restartInterval = (bytes[s] << 8) | bytes[s + 1];
        break;
      case 0xe0:
        if (bytes[s] === 0x4a && bytes[s + 1] === 0x46) jfif = true;
        break;
      case 0xee:
        if (bytes[s] === 0x41 && bytes[s + 1] === 0x64) {
          adobeTransform = bytes[s + 11];
        }
        break;
      case 0xda: // SOS
        if (frame === undefined) return undefined;
        return decodeBaselineScan(
          bytes,
          s,
          end,
          frame,
          quant,
          dcTables,
          acTables,
          restartInterval,
          adobeTransform,
          jfif,
        );
      default:
        if (marker >= 0xc0 && marker <= 0xcf) return undefined; // other SOFs, DAC
    }
    i = end;
  }
  return undefined;
}

function decodeBaselineScan(
  bytes: Uint8Array,
  s: number,
  end: number,
  frame: { width: number; height: number; components: BaselineComponent[] },
  quant: (Uint16Array | undefined)[],
  dcTables: (DecodeTable | undefined)[],
  acTables: (DecodeTable | undefined)[],
  restartInterval: number,
  adobeTransform: number,
  jfif: boolean,
): Image | undefined {
  const { width, height, components } = frame;
  const n = bytes[s];
  if (n !== components.length) return undefined; // non-interleaved scans
  const order: BaselineComponent[] = [];
  const dc: DecodeTable[] = [];
  const ac: DecodeTable[] = [];
  for (let k = 0; k < n; k++) {
    const id = bytes[s + 1 + 2 * k];
    const sel = bytes[s + 2 + 2 * k];
    const c = components.find((x) => x.id === id);
    const d = dcTables[sel >> 4];
    const a = acTables[sel & 15];
    if (c === undefined || d === undefined || a === undefined) return undefined;
    if (quant[c.tq] === undefined) return undefined;
    order.push(c);
    dc.push(d);
    ac.push(a);
  }
  const p = s + 1 + 2 * n;
  if (bytes[p] !== 0 || bytes[p + 1] !== 63 || bytes[p + 2] !== 0) {
    return undefined;
  }
  if (n === 3) {
    const [y, cb, cr] = components;
    // Luma at the full rate, both chroma planes alike at full or half rate.
    const rh = y.h / cb.h;
    const rv = y.v / cb.v;
    const layoutOk = cb.h === cr.h && cb.v === cr.v &&
      ((rh === 1 && rv === 1) || (rh === 2 && rv === 1) ||
        (rh === 2 && rv === 2));
    if (!layoutOk || y.h > 2 || y.v > 2) return undefined;
    if (adobeTransform === 0) return undefined; // stored as RGB
    if (!jfif && y.id === 0x52 && cb.id === 0x47 && cr.id === 0x42) {
      return undefined; // component ids "RGB"
    }
  } else {
    components[0].h = components[0].v = 1; // one component: 1 block per MCU
  }
  const hmax = Math.max(...components.map((c) => c.h));
  const vmax = Math.max(...components.map((c) => c.v));
  const mcusX = Math.ceil(width / (8 * hmax));
  const mcusY = Math.ceil(height / (8 * vmax));
  for (const c of components) {
    c.blocksPerLine = mcusX * c.h;
    c.blocksPerColumn = mcusY * c.v;
    c.plane = new Uint8Array(c.blocksPerLine * 8 * c.blocksPerColumn * 8);
  }
  const reader = new BitReader(bytes, end);
  const coef = new Int32Array(64);
  const ws = new Int32Array(64);
  const total = mcusX * mcusY;
  for (let m = 0; m < total; m++) {
    if (restartInterval > 0 && m > 0 && m % restartInterval === 0) {
      reader.restart();
      for (const c of order) c.pred = 0;
    }
    const mx = m % mcusX;
    const my = (m - mx) / mcusX;
    for (let k = 0; k < n; k++) {
      const c = order[k];
      const table = quant[c.tq]!;
      const stride = c.blocksPerLine * 8;
      for (let v = 0; v < c.v; v++) {
        for (let h = 0; h < c.h; h++) {
          coef.fill(0);
          const t = reader.decode(dc[k]);
          if (t > 11) throw new FormatError("corrupt JPEG (bad DC value)");
          c.pred += t === 0 ? 0 : extend(reader.get(t), t);
          coef[0] = c.pred;
          for (let z = 1; z < 64;) {
            const rs = reader.decode(ac[k]);
            const size = rs & 15;
            const run = rs >> 4;
            if (size === 0) {
              if (run !== 15) break;
              z += 16;
              continue;
            }
            z += run;
            if (z > 63) throw new FormatError("corrupt JPEG (bad AC run)");
            coef[ZIGZAG[z]] = extend(reader.get(size), size);
            z++;
          }
          const row = (my * c.v + v) * 8;
          const col = (mx * c.h + h) * 8;
          idctIslow(coef, table, ws, c.plane, row * stride + col, stride);
        }
      }
    }
  }
  reader.checkComplete();
  if (n === 1) {
    const c = components[0];
    const stride = c.blocksPerLine * 8;
    const data = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      data.set(c.plane.subarray(y * stride, y * stride + width), y * width);
    }
    return { width, height, channels: 1, data };
  }
  const [yc, cbc, crc] = components;
  const rh = hmax / cbc.h;
  const rv = vmax / cbc.v;
  const cw = Math.ceil(width / rh);
  const ch = Math.ceil(height / rv);
  const cb = upsample(cbc, rh, rv, cw, ch, width, height);
  const cr = upsample(crc, rh, rv, cw, ch, width, height);
  const yStride = yc.blocksPerLine * 8;
  const data = new Uint8Array(width * height * 3);
  const tables = colourTables();
  for (let y = 0, o = 0, q = 0; y < height; y++) {
    const yRow = y * yStride;
    for (let x = 0; x < width; x++, o += 3, q++) {
      const lum = yc.plane[yRow + x];
      const b = cb[q];
      const r = cr[q];
      data[o] = clamp255(lum + tables.crR[r]);
      data[o + 1] = clamp255(lum + ((tables.cbG[b] + tables.crG[r]) >> 16));
      data[o + 2] = clamp255(lum + tables.cbB[b]);
    }
  }
  return { width, height, channels: 3, data };
}

function clamp255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

let ycc:
  | { crR: Int32Array; cbB: Int32Array; crG: Int32Array; cbG: Int32Array }
  | undefined;

/** libjpeg's jdcolor.c tables (SCALEBITS 16). */
function colourTables() {
  if (ycc === undefined) {
    ycc = {
      crR: new Int32Array(256),
      cbB: new Int32Array(256),
      crG: new Int32Array(256),
      cbG: new Int32Array(256),
    };
    for (let i = 0; i < 256; i++) {
      const x = i - 128;
      ycc.crR[i] = (91881 * x + 32768) >> 16;
      ycc.cbB[i] = (116130 * x + 32768) >> 16;
      ycc.crG[i] = -46802 * x;
      ycc.cbG[i] = -22554 * x + 32768;
    }
  }
  return ycc;
}

/**
 * Chroma plane to full size with libjpeg's fancy upsampling (triangle
 * filter, h2v1 or h2v2), or as is for 1x1. Returns width * height samples.
 */
function upsample(
  c: BaselineComponent,
  rh: number,
  rv: number,
  cw: number,
  ch: number,
  width: number,
  height: number,
): Uint8Array {
  const stride = c.blocksPerLine * 8;
  const src = c.plane;
  const out = new Uint8Array(width * height);
  const row = new Uint8Array(cw * 2 + 2);
  const colsum = new Int32Array(cw + 1);
  for (let y = 0; y < height; y++) {
    if (rh === 1) {
      out.set(src.subarray(y * stride, y * stride + width), y * width);
      continue;
    }
    if (rv === 1) {
      // h2v1: horizontal triangle filter only.
      const s = y * stride;
      if (cw === 1) {
        row[0] = row[1] = src[s];
      } else {
        row[0] = src[s];
        row[1] = (src[s] * 3 + src[s + 1] + 2) >> 2;
        for (let x = 1; x < cw - 1; x++) {
          const v = src[s + x] * 3;
          row[2 * x] = (v + src[s + x - 1] + 1) >> 2;
          row[2 * x + 1] = (v + src[s + x + 1] + 2) >> 2;
        }
        const last = cw - 1;
        row[2 * last] = (src[s + last] * 3 + src[s + last - 1] + 1) >> 2;
        row[2 * last + 1] = src[s + last];
      }
    } else {
      // h2v2: 3/4 nearer row + 1/4 farther row, then across columns.
      const iy = y >> 1;
      let other = y & 1 ? iy + 1 : iy - 1;
      if (other < 0) other = 0;
      if (other > ch - 1) other = ch - 1;
      const s0 = iy * stride;
      const s1 = other * stride;
      for (let x = 0; x < cw; x++) colsum[x] = src[s0 + x] * 3 + src[s1 + x];
      if (cw === 1) {
        row[0] = (colsum[0] * 4 + 8) >> 4;
        row[1] = (colsum[0] * 4 + 7) >> 4;
      } else {
        row[0] = (colsum[0] * 4 + 8) >> 4;
        row[1] = (colsum[0] * 3 + colsum[1] + 7) >> 4;
        for (let x = 1; x < cw - 1; x++) {
          row[2 * x] = (colsum[x] * 3 + colsum[x - 1] + 8) >> 4;
          row[2 * x + 1] = (colsum[x] * 3 + colsum[x + 1] + 7) >> 4;
        }
        const last = cw - 1;
        row[2 * last] = (colsum[last] * 3 + colsum[last - 1] + 8) >> 4;
        row[2 * last + 1] = (colsum[last] * 4 + 7) >> 4;
      }
    }
    out.set(row.subarray(0, width), y * width);
  }
  return out;
}

/**
 * The EXIF orientation (1..8) of a JPEG, from the APP1 "Exif" segment's
 * first IFD; 1 when absent or unreadable.
 */
function jpegOrientation(bytes: Uint8Array): number {
  let i = 2;
  while (i + 4 < bytes.length && bytes[i] === 0xff) {
    const marker = bytes[i + 1];
    if (marker === 0xda || marker === 0xd9) break;
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    if (
      marker === 0xe1 && length >= 16 && i + 2 + length <= bytes.length &&
      String.fromCharCode(...bytes.subarray(i + 4, i + 8)) === "Exif"
    ) {
      return exifOrientation(bytes.subarray(i + 10, i + 2 + length));
    }
    i += 2 + length;
  }
  return 1;
}

function exifOrientation(tiff: Uint8Array): number {
  if (tiff.length < 8) return 1;
  const little = tiff[0] === 0x49 && tiff[1] === 0x49; // "II"
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return 1;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.length);
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > tiff.length) return 1;
  const count = view.getUint16(ifd, little);
  for (let k = 0; k < count; k++) {
    const entry = ifd + 2 + 12 * k;
    if (entry + 12 > tiff.length) break;
    if (view.getUint16(entry, little) === 0x0112) {
      const value = view.getUint16(entry + 8, little);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

/** Applies an EXIF orientation so that the picture is upright. */
function orient(image: Image, orientation: number): Image {
  if (orientation === 1) return image;
  const { width: w, height: h, channels: c } = image;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8Array(image.data.length);
  const src = image.data;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let sx: number, sy: number;
      switch (orientation) {
        case 2: // mirrored
          sx = w - 1 - x;
          sy = y;
          break;
        case 3: // rotated 180
          sx = w - 1 - x;
          sy = h - 1 - y;
          break;
        case 4: // flipped vertically
          sx = x;
          sy = h - 1 - y;
          break;
        case 5: // transposed
          sx = y;
          sy = x;
          break;
        case 6: // stored rotated 90 counter-clockwise: turn clockwise
          sx = y;
          sy = h - 1 - x;
          break;
        case 7: // transversed
          sx = w - 1 - y;
          sy = h - 1 - x;
          break;
        default: // 8: stored rotated 90 clockwise: turn counter-clockwise
          sx = w - 1 - y;
          sy = x;
      }
      const o = (y * ow + x) * c;
      const i = (sy * w + sx) * c;
      for (let k = 0; k < c; k++) out[o + k] = src[i + k];
    }
  }
  return { width: ow, height: oh, channels: c, data: out };
}

/** Options for {@linkcode encodeJpeg}. */
export interface EncodeJpegOptions {
  /** 1..100 with the IJG (libjpeg) scale, default 85. */
  quality?: number;
}

/** Zigzag scan order: ZIGZAG[k] is the natural (row-major) index. */
// deno-fmt-ignore
const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
  12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
  58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);

// JPEG standard (Annex K) tables, natural order.
// deno-fmt-ignore
const LUMA_QUANT = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
  14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
  49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
// deno-fmt-ignore
const CHROMA_QUANT = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
  24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
  ...new Array(32).fill(99),
];
// Huffman tables: code counts per length 1..16, then symbols.
const DC_LUMA_COUNTS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CHROMA_COUNTS = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_SYMBOLS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_LUMA_COUNTS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
// deno-fmt-ignore
const AC_LUMA_SYMBOLS = [
  0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13,
  0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42,
  0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a,
  0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35,
  0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a,
  0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67,
  0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84,
  0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
  0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3,
  0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
  0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1,
  0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4,
  0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
];
const AC_CHROMA_COUNTS = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
// deno-fmt-ignore
const AC_CHROMA_SYMBOLS = [
  0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51,
  0x07, 0x61, 0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1,
  0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24,
  0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a,
  0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
  0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66,
  0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82,
  0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96,
  0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
  0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
  0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9,
  0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4,
  0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
];
/** AAN DCT output scale factors. */
const AAN = [
  1,
  1.387039845,
  1.306562965,
  1.175875602,
  1,
  0.785694958,
  0.5411961,
  0.275899379,
];

/** Canonical Huffman codes: code and length per symbol (0..255). */
interface HuffmanTable {
  counts: number[];
  symbols: number[];
  code: Uint16Array;
  size: Uint8Array;
}

function huffmanTable(counts: number[], symbols: number[]): HuffmanTable {
  const code = new Uint16Array(256);
  const size = new Uint8Array(256);
  let next = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    for (let i = 0; i < counts[length - 1]; i++) {
      code[symbols[k]] = next++;
      size[symbols[k]] = length;
      k++;
    }
    next <<= 1;
  }
  return { counts, symbols, code, size };
}

let jpegTables:
  | {
    dcLuma: HuffmanTable;
    acLuma: HuffmanTable;
    dcChroma: HuffmanTable;
    acChroma: HuffmanTable;
  }
  | undefined;

/** IJG quality scaling of a base table; returns it in natural order. */
function scaledQuant(base: number[], quality: number): Uint8Array {
  const scale = quality < 50 ? Math.floor(5000 / quality) : 200 - quality * 2;
  const out = new Uint8Array(64);
  for (let i = 0; i < 64; i++) {
    out[i] = Math.min(
      255,
      Math.max(1, Math.floor((base[i] * scale + 50) / 100)),
    );
  }
  return out;
}

/** Multipliers that fold the AAN scaling into quantisation. */
function divisors(quant: Uint8Array): Float32Array {
  const out = new Float32Array(64);
  for (let row = 0; row < 8; row++) {
    for (let col = 0; col < 8; col++) {
      const i = row * 8 + col;
      out[i] = 1 / (quant[i] * AAN[row] * AAN[col] * 8);
    }
  }
  return out;
}

/** Byte writer with JPEG bit packing and 0xFF stuffing. */
class JpegWriter {
  buffer: Uint8Array;
  length = 0;
  bits = 0;
  bitCount = 0;

  constructor(capacity: number) {
    this.buffer = new Uint8Array(capacity);
  }

  reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const bigger = new Uint8Array((this.buffer.length + extra) * 2);
    bigger.set(this.buffer.subarray(0, this.length));
    this.buffer = bigger;
  }

  byte(value: number): void {
    this.buffer[this.length++] = value;
  }

  word(value: number): void {
    this.buffer[this.length++] = value >> 8;
    this.buffer[this.length++] = value & 0xff;
  }

  bytes(values: ArrayLike<number>): void {
    this.reserve(values.length);
    for (let i = 0; i < values.length; i++) {
      this.buffer[this.length++] = values[i];
    }
  }

  /** Appends the low `size` bits of `code` to the entropy-coded data. */
  put(code: number, size: number): void {
    this.bits = (this.bits << size) | (code & ((1 << size) - 1));
    this.bitCount += size;
    while (this.bitCount >= 8) {
      this.bitCount -= 8;
      const b = (this.bits >> this.bitCount) & 0xff;
      this.buffer[this.length++] = b;
      if (b === 0xff) this.buffer[this.length++] = 0;
    }
    this.bits &= (1 << this.bitCount) - 1;
  }

  /** Pads the last byte with 1 bits. */
  flush(): void {
    if (this.bitCount > 0) this.put(0x7f, 8 - this.bitCount);
  }
}

/** Forward DCT (AAN, float) of an 8x8 block in place, then quantisation. */
function fdctQuantise(
  block: Float32Array,
  div: Float32Array,
  out: Int32Array,
): void {
  for (let pass = 0; pass < 2; pass++) {
    // pass 0: rows (stride 1 within, 8 between); pass 1: columns.
    const step = pass === 0 ? 1 : 8;
    const next = pass === 0 ? 8 : 1;
    for (let k = 0, base = 0; k < 8; k++, base += next) {
      const i0 = base, i1 = base + step, i2 = base + 2 * step;
      const i3 = base + 3 * step, i4 = base + 4 * step, i5 = base + 5 * step;
      const i6 = base + 6 * step, i7 = base + 7 * step;
      const t0 = block[i0] + block[i7];
      const t7 = block[i0] - block[i7];
      const t1 = block[i1] + block[i6];
      const t6 = block[i1] - block[i6];
      const t2 = block[i2] + block[i5];
      const t5 = block[i2] - block[i5];
      const t3 = block[i3] + block[i4];
      const t4 = block[i3] - block[i4];
      const t10 = t0 + t3;
      const t13 = t0 - t3;
      const t11 = t1 + t2;
      const t12 = t1 - t2;
      block[i0] = t10 + t11;
      block[i4] = t10 - t11;
      const z1 = (t12 + t13) * 0.707106781;
      block[i2] = t13 + z1;
      block[i6] = t13 - z1;
      const s10 = t4 + t5;
      const s11 = t5 + t6;
      const s12 = t6 + t7;
      const z5 = (s10 - s12) * 0.382683433;
      const z2 = 0.5411961 * s10 + z5;
      const z4 = 1.306562965 * s12 + z5;
      const z3 = s11 * 0.707106781;
      const z11 = t7 + z3;
      const z13 = t7 - z3;
      block[i5] = z13 + z2;
      block[i3] = z13 - z2;
      block[i1] = z11 + z4;
      block[i7] = z11 - z4;
    }
  }
  for (let k = 0; k < 64; k++) {
    const natural = ZIGZAG[k];
    const v = block[natural] * div[natural];
    out[k] = v < 0 ? -Math.floor(0.5 - v) : Math.floor(v + 0.5);
  }
}

/** Huffman-codes one quantised block (zigzag order); returns its DC. */
function encodeBlock(
  w: JpegWriter,
  coefs: Int32Array,
  previousDc: number,
  dc: HuffmanTable,
  ac: HuffmanTable,
): number {
  w.reserve(512);
  const diff = coefs[0] - previousDc;
  const dcCategory = bitLength(diff);
  w.put(dc.code[dcCategory], dc.size[dcCategory]);
  if (dcCategory > 0) {
    w.put(diff < 0 ? diff - 1 : diff, dcCategory);
  }
  let last = 63;
  while (last > 0 && coefs[last] === 0) last--;
  let run = 0;
  for (let k = 1; k <= last; k++) {
    const v = coefs[k];
    if (v === 0) {
      run++;
      continue;
    }
    while (run >= 16) {
      w.put(ac.code[0xf0], ac.size[0xf0]);
      run -= 16;
    }
    const category = bitLength(v);
    const symbol = (run << 4) | category;
    w.put(ac.code[symbol], ac.size[symbol]);
    w.put(v < 0 ? v - 1 : v, category);
    run = 0;
  }
  if (last < 63) w.put(ac.code[0], ac.size[0]);
  return coefs[0];
}

function bitLength(v: number): number {
  let a = v < 0 ? -v : v;
  let n = 0;
  while (a > 0) {
    n++;
    a >>= 1;
  }
  return n;
}

/**
 * Encodes an image as a baseline JFIF JPEG: grey as one component, RGB as
 * YCbCr 4:2:0 (libjpeg's default), standard tables scaled by `quality` as
 * libjpeg does.
 */
export function encodeJpeg(
  image: Image,
  options: EncodeJpegOptions = {},
): Uint8Array {
  checkImage(image);
  const quality = Math.min(100, Math.max(1, Math.round(options.quality ?? 85)));
  if (jpegTables === undefined) {
    jpegTables = {
      dcLuma: huffmanTable(DC_LUMA_COUNTS, DC_SYMBOLS),
      acLuma: huffmanTable(AC_LUMA_COUNTS, AC_LUMA_SYMBOLS),
      dcChroma: huffmanTable(DC_CHROMA_COUNTS, DC_SYMBOLS),
      acChroma: huffmanTable(AC_CHROMA_COUNTS, AC_CHROMA_SYMBOLS),
    };
  }
  const t = jpegTables;
  const { width, height, channels } = image;
  const colour = channels === 3;
  const lumaQuant = scaledQuant(LUMA_QUANT, quality);
  const chromaQuant = scaledQuant(CHROMA_QUANT, quality);
  const w = new JpegWriter(Math.max(4096, (width * height * channels) >> 2));

  // Headers: SOI, JFIF APP0, DQT, SOF0, DHT, SOS.
  w.word(0xffd8);
  w.bytes([0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1]);
  w.bytes([0, 0]);
  const tables = colour ? [lumaQuant, chromaQuant] : [lumaQuant];
  w.word(0xffdb);
  w.word(2 + 65 * tables.length);
  tables.forEach((q, id) => {
    w.byte(id);
    const zz = new Array<number>(64);
    for (let k = 0; k < 64; k++) zz[k] = q[ZIGZAG[k]];
    w.bytes(zz);
  });
  w.word(0xffc0);
  w.word(8 + 3 * channels);
  w.byte(8);
  w.word(height);
  w.word(width);
  w.byte(channels);
  if (colour) {
    w.bytes([1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  } else {
    w.bytes([1, 0x11, 0]);
  }
  const huff: [number, HuffmanTable][] = colour
    ? [[0x00, t.dcLuma], [0x10, t.acLuma], [0x01, t.dcChroma], [
      0x11,
      t.acChroma,
    ]]
    : [[0x00, t.dcLuma], [0x10, t.acLuma]];
  for (const [id, table] of huff) {
    w.word(0xffc4);
    w.word(2 + 1 + 16 + table.symbols.length);
    w.byte(id);
    w.bytes(table.counts);
    w.bytes(table.symbols);
  }
  w.word(0xffda);
  w.word(6 + 2 * channels);
  w.byte(channels);
  if (colour) {
    w.bytes([1, 0x00, 2, 0x11, 3, 0x11]);
  } else {
    w.bytes([1, 0x00]);
  }
  w.bytes([0, 63, 0]);

  const lumaDiv = divisors(lumaQuant);
  const chromaDiv = divisors(chromaQuant);
  const block = new Float32Array(64);
  const coefs = new Int32Array(64);
  const src = image.data;
  let dcY = 0, dcCb = 0, dcCr = 0;
  if (!colour) {
    for (let by = 0; by < height; by += 8) {
      for (let bx = 0; bx < width; bx += 8) {
        for (let y = 0; y < 8; y++) {
          const row = Math.min(by + y, height - 1) * width;
          for (let x = 0; x < 8; x++) {
            block[y * 8 + x] = src[row + Math.min(bx + x, width - 1)] - 128;
          }
        }
        fdctQuantise(block, lumaDiv, coefs);
        dcY = encodeBlock(w, coefs, dcY, t.dcLuma, t.acLuma);
      }
    }
  } else {
    // One 16x16 MCU at a time: Y, Cb, Cr of every pixel, edges repeated.
    const ys = new Float32Array(256);
    const cbs = new Float32Array(256);
    const crs = new Float32Array(256);
    for (let my = 0; my < height; my += 16) {
      for (let mx = 0; mx < width; mx += 16) {
        for (let y = 0; y < 16; y++) {
          const row = Math.min(my + y, height - 1) * width;
          for (let x = 0; x < 16; x++) {
            const p = (row + Math.min(mx + x, width - 1)) * 3;
            const r = src[p], g = src[p + 1], b = src[p + 2];
            const i = y * 16 + x;
            ys[i] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
            cbs[i] = -0.168735892 * r - 0.331264108 * g + 0.5 * b;
            crs[i] = 0.5 * r - 0.418687589 * g - 0.081312411 * b;
          }
        }
        for (let k = 0; k < 4; k++) {
          const ox = (k & 1) * 8, oy = (k >> 1) * 8;
          for (let y = 0; y < 8; y++) {
            for (let x = 0; x < 8; x++) {
              block[y * 8 + x] = ys[(oy + y) * 16 + ox + x];
            }
          }
          fdctQuantise(block, lumaDiv, coefs);
          dcY = encodeBlock(w, coefs, dcY, t.dcLuma, t.acLuma);
        }
        for (let c = 0; c < 2; c++) {
          const plane = c === 0 ? cbs : crs;
          for (let y = 0; y < 8; y++) {
            for (let x = 0; x < 8; x++) {
              const i = y * 32 + x * 2;
              block[y * 8 + x] =
                (plane[i] + plane[i + 1] + plane[i + 16] + plane[i + 17]) / 4;
            }
          }
          fdctQuantise(block, chromaDiv, coefs);
          if (c === 0) {
            dcCb = encodeBlock(w, coefs, dcCb, t.dcChroma, t.acChroma);
          } else {
            dcCr = encodeBlock(w, coefs, dcCr, t.dcChroma, t.acChroma);
          }
        }
      }
    }
  }
  w.flush();
  w.reserve(2);
  w.word(0xffd9);
  return w.buffer.slice(0, w.length);
}

// ---------------------------------------------------------------------------
// PNG

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

let crcTable: Uint32Array | undefined;

function crc32(bytes: Uint8Array, start: number, end: number): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) {
    c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) |
    bytes[at + 3]) >>> 0;
}

/** Samples per pixel for each PNG colour type. */
const PNG_SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const PNG_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced: boolean;
}

function decodePng(bytes: Uint8Array, maxPixels: number): Image {
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== PNG_SIGNATURE[i]) {
      throw new FormatError("corrupt PNG (bad signature)");
    }
  }
  let header: PngHeader | undefined;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let idatLength = 0;
  let ended = false;
  let at = 8;
  while (at < bytes.length) {
    if (at + 12 > bytes.length) {
      throw new FormatError("truncated PNG (incomplete chunk header)");
    }
    const length = readU32(bytes, at);
    const type = String.fromCharCode(
      bytes[at + 4],
      bytes[at + 5],
      bytes[at + 6],
      bytes[at + 7],
    );
    const dataStart = at + 8;
    const dataEnd = dataStart + length;
    if (length > 0x7fffffff || dataEnd + 4 > bytes.length) {
      throw new FormatError(`truncated PNG (${type} chunk cut short)`);
    }
    if (crc32(bytes, at + 4, dataEnd) !== readU32(bytes, dataEnd)) {
      throw new FormatError(`corrupt PNG (CRC mismatch in ${type} chunk)`);
    }
    const data = bytes.subarray(dataStart, dataEnd);
    if (header === undefined && type !== "IHDR") {
      throw new FormatError("corrupt PNG (first chunk is not IHDR)");
    }
    if (type === "IHDR") {
      header = parseIhdr(data, maxPixels);
    } else if (type === "PLTE") {
      if (length % 3 !== 0 || length === 0 || length > 768) {
        throw new FormatError("corrupt PNG (bad PLTE length)");
      }
      palette = data;
    } else if (type === "IDAT") {
      idat.push(data);
      idatLength += length;
    } else if (type === "IEND") {
      ended = true;
      break;
    } else if ((bytes[at + 4] & 0x20) === 0) {
      throw new FormatError(`unsupported PNG (unknown critical chunk ${type})`);
    }
    at = dataEnd + 4;
  }
  if (header === undefined) throw new FormatError("truncated PNG (no IHDR)");
  if (idat.length === 0) throw new FormatError("truncated PNG (no image data)");
  if (!ended) throw new FormatError("truncated PNG (no IEND chunk)");
  if (header.colorType === 3 && palette === undefined) {
    throw new FormatError("corrupt PNG (palette image without PLTE)");
  }
  const compressed = new Uint8Array(idatLength);
  let offset = 0;
  for (const part of idat) {
    compressed.set(part, offset);
    offset += part.length;
  }
  const passes = pngPasses(header);
  let expected = 0;
  for (const p of passes) {
    if (p.width > 0 && p.height > 0) expected += p.height * (1 + p.rowBytes);
  }
  let raw: Uint8Array;
  try {
    raw = inflateSync(compressed, { maxOutputLength: expected + 1 });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new FormatError(`corrupt PNG (image data: ${reason})`);
  }
  if (raw.length < expected) {
    throw new FormatError("truncated PNG (image data ends early)");
  }
  return pngPixels(header, passes, raw, palette);
}

function parseIhdr(data: Uint8Array, maxPixels: number): PngHeader {
  if (data.length !== 13) throw new FormatError("corrupt PNG (bad IHDR)");
  const width = readU32(data, 0);
  const height = readU32(data, 4);
  const depth = data[8];
  const colorType = data[9];
  if (width === 0 || height === 0) {
    throw new FormatError("corrupt PNG (zero width or height)");
  }
  if (width * height > maxPixels) throw tooLarge(width, height, maxPixels);
  const depths = PNG_DEPTHS[colorType];
  if (depths === undefined) {
    throw new FormatError(`corrupt PNG (colour type ${colorType})`);
  }
  if (!depths.includes(depth)) {
    throw new FormatError(
      `unsupported PNG bit depth ${depth} for colour type ${colorType}`,
    );
  }
  if (data[10] !== 0 || data[11] !== 0) {
    throw new FormatError("unsupported PNG compression or filter method");
  }
  if (data[12] > 1) throw new FormatError("unsupported PNG interlace method");
  return { width, height, depth, colorType, interlaced: data[12] === 1 };
}

interface PngPass {
  x0: number;
  y0: number;
  dx: number;
  dy: number;
  width: number;
  height: number;
  rowBytes: number;
}

function pngPasses(h: PngHeader): PngPass[] {
  const bitsPerPixel = PNG_SAMPLES[h.colorType] * h.depth;
  const grid = h.interlaced ? ADAM7 : [[0, 0, 1, 1]];
  return grid.map(([x0, y0, dx, dy]) => {
    const width = Math.ceil((h.width - x0) / dx);
    const height = Math.ceil((h.height - y0) / dy);
    const rowBytes = Math.ceil((width * bitsPerPixel) / 8);
    return { x0, y0, dx, dy, width, height, rowBytes };
  });
}

/** Undoes the PNG row filters of one pass in place. */
function unfilter(
  raw: Uint8Array,
  start: number,
  pass: PngPass,
  bpp: number,
): void {
  const stride = pass.rowBytes + 1;
  for (let y = 0; y < pass.height; y++) {
    const row = start + y * stride;
    const filter = raw[row];
    const cur = row + 1;
    const prev = cur - stride; // only read when y > 0
    const n = pass.rowBytes;
    switch (filter) {
      case 0:
        break;
      case 1:
        for (let i = bpp; i < n; i++) {
          raw[cur + i] = (raw[cur + i] + raw[cur + i - bpp]) & 0xff;
        }
        break;
      case 2:
        if (y > 0) {
          for (let i = 0; i < n; i++) {
            raw[cur + i] = (raw[cur + i] + raw[prev + i]) & 0xff;
          }
        }
        break;
      case 3:
        for (let i = 0; i < n; i++) {
          const left = i >= bpp ? raw[cur + i - bpp] : 0;
          const up = y > 0 ? raw[prev + i] : 0;
          raw[cur + i] = (raw[cur + i] + ((left + up) >> 1)) & 0xff;
        }
        break;
      case 4:
        for (let i = 0; i < n; i++) {
          const a = i >= bpp ? raw[cur + i - bpp] : 0;
          const b = y > 0 ? raw[prev + i] : 0;
          const c = i >= bpp && y > 0 ? raw[prev + i - bpp] : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          raw[cur + i] = (raw[cur + i] + pred) & 0xff;
        }
        break;
      default:
        throw new FormatError(`corrupt PNG (unknown row filter ${filter})`);
    }
  }
}

function pngPixels(
  h: PngHeader,
  passes: PngPass[],
  raw: Uint8Array,
  palette: Uint8Array | undefined,
): Image {
  const samples = PNG_SAMPLES[h.colorType];
  const bpp = Math.max(1, (samples * h.depth) >> 3);
  const grey = h.colorType === 0 || h.colorType === 4;
  const channels = grey ? 1 : 3;
  const out = new Uint8Array(h.width * h.height * channels);
  const paletteSize = palette ? palette.length / 3 : 0;
  const maxValue = (1 << h.depth) - 1;
  const byteStep = h.depth === 16 ? 2 : 1;
  let start = 0;
  for (const pass of passes) {
    if (pass.width === 0 || pass.height === 0) continue;
    unfilter(raw, start, pass, bpp);
    for (let y = 0; y < pass.height; y++) {
      const row = start + y * (pass.rowBytes + 1) + 1;
      const outY = pass.y0 + y * pass.dy;
      for (let x = 0; x < pass.width; x++) {
        const o = (outY * h.width + pass.x0 + x * pass.dx) * channels;
        if (h.depth < 8) {
          const bit = x * h.depth;
          const v = (raw[row + (bit >> 3)] >> (8 - h.depth - (bit & 7))) &
            maxValue;
          if (h.colorType === 3) {
            if (v >= paletteSize) {
              throw new FormatError("corrupt PNG (palette index out of range)");
            }
            out[o] = palette![v * 3];
            out[o + 1] = palette![v * 3 + 1];
            out[o + 2] = palette![v * 3 + 2];
          } else {
            out[o] = (v * 255) / maxValue; // exact for depths 1, 2, 4
          }
          continue;
        }
        // 8 or 16 bits: the first byte of each sample is its high byte.
        const p = row + x * samples * byteStep;
        if (h.colorType === 3) {
          const v = raw[p];
          if (v >= paletteSize) {
            throw new FormatError("corrupt PNG (palette index out of range)");
          }
          out[o] = palette![v * 3];
          out[o + 1] = palette![v * 3 + 1];
          out[o + 2] = palette![v * 3 + 2];
        } else if (grey) {
          out[o] = raw[p];
        } else {
          out[o] = raw[p];
          out[o + 1] = raw[p + byteStep];
          out[o + 2] = raw[p + 2 * byteStep];
        }
      }
    }
    start += pass.height * (pass.rowBytes + 1);
  }
  return { width: h.width, height: h.height, channels, data: out };
}

/**
 * Encodes an image (grey or RGB) as an 8-bit PNG (filter "Paeth" on every
 * row, zlib level 6).
 */
export function encodePng(image: Image): Uint8Array {
  checkImage(image);
  const { width, height, channels } = image;
  const rowBytes = width * channels;
  const raw = new Uint8Array(height * (rowBytes + 1));
  const src = image.data;
  for (let y = 0; y < height; y++) {
    const o = y * (rowBytes + 1);
    const s = y * rowBytes;
    raw[o] = 4;
    for (let i = 0; i < rowBytes; i++) {
      const a = i >= channels ? src[s + i - channels] : 0;
      const b = y > 0 ? src[s + i - rowBytes] : 0;
      const c = i >= channels && y > 0 ? src[s + i - rowBytes - channels] : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      raw[o + 1 + i] = (src[s + i] - pred) & 0xff;
    }
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : 2;
  const idat = new Uint8Array(deflateSync(raw, { level: 6 }));
  const parts = [
    Uint8Array.from(PNG_SIGNATURE),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", idat),
    pngChunk("IEND", new Uint8Array(0)),
  ];
  return concat(parts);
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

// ---------------------------------------------------------------------------
// PGM / PPM

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b ||
    c === 0x0c;
}

/** Reads whitespace/comment separated decimal tokens of a Netpbm file. */
class PnmReader {
  at = 2;
  constructor(readonly bytes: Uint8Array) {}

  skipSpace(): void {
    const b = this.bytes;
    while (this.at < b.length) {
      if (isSpace(b[this.at])) {
        this.at++;
      } else if (b[this.at] === 0x23) { // '#': comment to end of line
        while (this.at < b.length && b[this.at] !== 0x0a) this.at++;
      } else {
        break;
      }
    }
  }

  number(what: string): number {
    this.skipSpace();
    const b = this.bytes;
    if (this.at >= b.length) {
      throw new FormatError(`truncated PGM/PPM (missing ${what})`);
    }
    let value = 0;
    let digits = 0;
    while (this.at < b.length && b[this.at] >= 0x30 && b[this.at] <= 0x39) {
      value = value * 10 + b[this.at] - 0x30;
      this.at++;
      digits++;
      if (digits > 9) {
        throw new FormatError(`corrupt PGM/PPM (${what} too big)`);
      }
    }
    if (digits === 0) throw new FormatError(`corrupt PGM/PPM (bad ${what})`);
    return value;
  }
}

function decodePnm(bytes: Uint8Array, maxPixels: number): Image {
  const kind = bytes[1] - 0x30;
  const reader = new PnmReader(bytes);
  const width = reader.number("width");
  const height = reader.number("height");
  const maxval = reader.number("maxval");
  if (width === 0 || height === 0) {
    throw new FormatError("corrupt PGM/PPM (zero width or height)");
  }
  if (maxval === 0 || maxval > 65535) {
    throw new FormatError(`corrupt PGM/PPM (maxval ${maxval})`);
  }
  if (width * height > maxPixels) throw tooLarge(width, height, maxPixels);
  const channels = kind === 3 || kind === 6 ? 3 : 1;
  const count = width * height * channels;
  const out = new Uint8Array(count);
  const scale = (v: number) =>
    maxval === 255 ? v : Math.floor((v * 255 + (maxval >> 1)) / maxval);
  if (kind === 5 || kind === 6) {
    // Exactly one whitespace byte separates the header from the raster.
    if (reader.at >= bytes.length || !isSpace(bytes[reader.at])) {
      throw new FormatError("truncated PGM/PPM (no pixel data)");
    }
    const start = reader.at + 1;
    const bytesPerSample = maxval > 255 ? 2 : 1;
    if (bytes.length - start < count * bytesPerSample) {
      throw new FormatError(
        `truncated PGM/PPM (pixel data has ${bytes.length - start} of ${
          count * bytesPerSample
        } bytes)`,
      );
    }
    if (bytesPerSample === 1) {
      for (let i = 0; i < count; i++) {
        const v = bytes[start + i];
        if (v > maxval) {
          throw new FormatError("corrupt PGM/PPM (value > maxval)");
        }
        out[i] = scale(v);
      }
    } else {
      for (let i = 0; i < count; i++) {
        const v = (bytes[start + 2 * i] << 8) | bytes[start + 2 * i + 1];
        if (v > maxval) {
          throw new FormatError("corrupt PGM/PPM (value > maxval)");
        }
        out[i] = scale(v);
      }
    }
  } else {
    for (let i = 0; i < count; i++) {
      const v = reader.number("pixel value");
      if (v > maxval) throw new FormatError("corrupt PGM/PPM (value > maxval)");
      out[i] = scale(v);
    }
  }
  return { width, height, channels, data: out };
}

/** Encodes an image as binary PGM (P5, grey) or PPM (P6, RGB). */
export function encodePnm(image: Image): Uint8Array {
  checkImage(image);
  const magic = image.channels === 1 ? "P5" : "P6";
  const header = new TextEncoder().encode(
    `${magic}\n${image.width} ${image.height}\n255\n`,
  );
  return concat([header, image.data]);
}

/** Encodes an image as binary PGM (P5); RGB is converted to grey first. */
export function encodePgm(image: Image): Uint8Array {
  return encodePnm(greyOf(image));
}

// ---------------------------------------------------------------------------
// Raw pixels

/**
 * Wraps raw BGR bytes (OpenCV / ffmpeg `bgr24` order, no padding) as an RGB
 * image (copied).
 *
 * @throws {Error} when `bytes.length` is not `width * height * 3`.
 */
export function fromBgr(
  bytes: Uint8Array,
  width: number,
  height: number,
): Image {
  if (
    !Number.isInteger(width) || !Number.isInteger(height) || width <= 0 ||
    height <= 0
  ) {
    throw new Error(`fromBgr: bad size ${width}x${height}`);
  }
  if (bytes.length !== width * height * 3) {
    throw new Error(
      `fromBgr: expected ${
        width * height * 3
      } bytes for ${width}x${height} BGR, got ${bytes.length}`,
    );
  }
  const data = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 3) {
    data[i] = bytes[i + 2];
    data[i + 1] = bytes[i + 1];
    data[i + 2] = bytes[i];
  }
  return { width, height, channels: 3, data };
}

/** Returns the pixels as BGR bytes (grey is replicated to 3 channels). */
export function toBgr(image: Image): Uint8Array {
  checkImage(image);
  const n = image.width * image.height;
  const out = new Uint8Array(n * 3);
  const src = image.data;
  if (image.channels === 1) {
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      out[j] = out[j + 1] = out[j + 2] = src[i];
    }
  } else {
    for (let j = 0; j < out.length; j += 3) {
      out[j] = src[j + 2];
      out[j + 1] = src[j + 1];
      out[j + 2] = src[j];
    }
  }
  return out;
}

/** Returns an RGB image (grey is replicated to 3 channels; RGB as is). */
export function toRgb(image: Image): Image {
  if (image.channels === 3) return image;
  checkImage(image);
  const n = image.width * image.height;
  const data = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    data[j] = data[j + 1] = data[j + 2] = image.data[i];
  }
  return { width: image.width, height: image.height, channels: 3, data };
}

// ---------------------------------------------------------------------------
// Helpers

/**
 * RGB to grey exactly as OpenCV 4.x `cvtColor(RGB2GRAY)` on 8-bit pixels:
 * 15-bit fixed point (9798 R + 19235 G + 3735 B + 2^14) >> 15. Checked
 * against native OpenCV 4.6 and opencv-js 4.12 in tests/images/image_io_test.ts.
 */
function greyOf(image: Image): Image {
  if (image.channels === 1) return image;
  const n = image.width * image.height;
  const out = new Uint8Array(n);
  const src = image.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[i] = (src[j] * 9798 + src[j + 1] * 19235 + src[j + 2] * 3735 + 16384) >>
      15;
  }
  return { width: image.width, height: image.height, channels: 1, data: out };
}

function tooLarge(width: number, height: number, maxPixels: number): Error {
  return new FormatError(
    `image too large (${width}x${height} is more than ${maxPixels} pixels)`,
  );
}

function checkImage(image: Image): void {
  const expected = image.width * image.height * image.channels;
  if (
    !(image.width > 0 && image.height > 0) ||
    (image.channels !== 1 && image.channels !== 3) ||
    image.data.length !== expected
  ) {
    throw new Error(
      `invalid image: ${image.width}x${image.height}x${image.channels} with ${image.data.length} bytes`,
    );
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
