/**
 * Image files in and out: JPEG (via `jpeg-js`), PNG (own decoder on top of
 * `node:zlib`) and PGM/PPM (P2, P3, P5, P6). Formats are recognised by their
 * magic bytes, never by the file name. Every problem with an input file
 * (corrupt, truncated, unsupported, too large) becomes an `Error` whose
 * message starts with the file name and states the reason.
 *
 * Also raw pixel helpers for BGR frames (`fromBgr`, `toBgr`).
 *
 * @module
 */

import jpeg from "jpeg-js";
import { deflateSync, inflateSync } from "node:zlib";
import { type Image, toGrey } from "./image.ts";

/** Default upper bound on `width * height` of a decoded image (40 megapixels). */
export const DEFAULT_MAX_PIXELS = 40_000_000;

/** Options for {@linkcode decodeImage}. */
export interface DecodeOptions {
  /** Name used in error messages (usually the file path). Default "image". */
  name?: string;
  /** Return a 1-channel image (OpenCV-exact RGB to grey conversion). */
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
  return options.grey ? toGrey(image) : image;
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
  /** 1..100, default 85. */
  quality?: number;
}

/** Encodes an image (grey or RGB) as a baseline JPEG. */
export function encodeJpeg(
  image: Image,
  options: EncodeJpegOptions = {},
): Uint8Array {
  checkImage(image);
  const n = image.width * image.height;
  const rgba = new Uint8Array(n * 4);
  const src = image.data;
  if (image.channels === 3) {
    for (let i = 0, j = 0, k = 0; i < n; i++, j += 3, k += 4) {
      rgba[k] = src[j];
      rgba[k + 1] = src[j + 1];
      rgba[k + 2] = src[j + 2];
      rgba[k + 3] = 255;
    }
  } else {
    for (let i = 0, k = 0; i < n; i++, k += 4) {
      rgba[k] = rgba[k + 1] = rgba[k + 2] = src[i];
      rgba[k + 3] = 255;
    }
  }
  const quality = Math.min(100, Math.max(1, Math.round(options.quality ?? 85)));
  const out = jpeg.encode(
    { width: image.width, height: image.height, data: rgba },
    quality,
  );
  return new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length);
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
  return encodePnm(toGrey(image));
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
