/**
 * PNG in and out with `pngjs` (pure JavaScript on `node:zlib`, synchronous).
 * Decoding is lossless, so the only choices are the ones `cv2.imread`
 * makes: alpha and transparency are dropped, 16-bit samples keep their high
 * byte, 1, 2 and 4-bit grey is scaled to 0..255, palettes are looked up.
 * Checked against `cv2.imread` on every PNG fixture in tests/fixtures/images
 * (max difference 0), including sub-byte Adam7, which `fast-png` 7 cannot
 * decode, and a colour key (pngjs paints keyed pixels black, so the key is
 * removed before it runs). It is slower
 * than the hand-written codec it replaced (640x480 RGB: 8.5 ms against
 * 4.4 ms, best of 7), which does not matter for files read from disk.
 *
 * Before pngjs runs, one walk over the chunks gives each fault its own
 * reason (cut short, CRC mismatch, no IEND) and refuses huge images from the
 * IHDR alone, before anything is inflated (pngjs bounds inflation of
 * non-interlaced data only; PNGs come from local files, never from the
 * network, where frames are JPEG or raw pixels). `@jsquash/png` (Rust's
 * `png` in WebAssembly) is also exact, but each error leaks WebAssembly
 * memory until the instance breaks, with no way to start a fresh one.
 *
 * @module
 */

// @ts-types="@types/pngjs"
import { PNG } from "pngjs";
import { Buffer } from "node:buffer";
import { crc32 } from "node:zlib";
import { checkImage, type Image } from "./image.ts";
import { FormatError, tooLarge } from "./_format_error.ts";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The IHDR fields this module needs, and where a colour key is. */
interface PngLayout {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  /** Start and end of the tRNS chunk (header to CRC), if there is one. */
  trns?: [number, number];
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) |
    bytes[at + 3]) >>> 0;
}

/** Walks the chunks: structure, CRCs and size, without inflating anything. */
function pngLayout(bytes: Uint8Array, maxPixels: number): PngLayout {
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== SIGNATURE[i]) {
      throw new FormatError("corrupt PNG (bad signature)");
    }
  }
  let layout: PngLayout | undefined;
  let hasImageData = false;
  let hasPalette = false;
  let at = 8;
  while (at < bytes.length) {
    if (at + 12 > bytes.length) {
      throw new FormatError("truncated PNG (incomplete chunk header)");
    }
    const length = readU32(bytes, at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const end = at + 12 + length;
    if (length > 0x7fffffff || end > bytes.length) {
      throw new FormatError(`truncated PNG (${type} chunk cut short)`);
    }
    if (crc32(bytes.subarray(at + 4, end - 4)) !== readU32(bytes, end - 4)) {
      throw new FormatError(`corrupt PNG (CRC mismatch in ${type} chunk)`);
    }
    if (layout === undefined) {
      if (type !== "IHDR" || length !== 13) {
        throw new FormatError("corrupt PNG (does not start with IHDR)");
      }
      layout = {
        width: readU32(bytes, at + 8),
        height: readU32(bytes, at + 12),
        depth: bytes[at + 16],
        colorType: bytes[at + 17],
      };
      if (layout.width === 0 || layout.height === 0) {
        throw new FormatError("corrupt PNG (zero width or height)");
      }
      if (layout.width * layout.height > maxPixels) {
        throw tooLarge(layout, maxPixels);
      }
    } else if (type === "IDAT") {
      hasImageData = true;
    } else if (type === "PLTE") {
      hasPalette = true;
    } else if (type === "tRNS") {
      layout.trns = [at, end];
    } else if (type === "IEND") {
      if (!hasImageData) {
        throw new FormatError("truncated PNG (no image data)");
      }
      if (layout.colorType === 3 && !hasPalette) {
        throw new FormatError("corrupt PNG (palette image without PLTE)");
      }
      return layout;
    }
    at = end;
  }
  throw new FormatError(
    layout === undefined
      ? "truncated PNG (no IHDR)"
      : "truncated PNG (no IEND chunk)",
  );
}

/**
 * Decodes a PNG to grey (colour types 0 and 4) or RGB (the others), as
 * `cv2.imread` does.
 *
 * @throws {FormatError} for a damaged, truncated, unsupported or too large
 * file.
 */
export function decodePng(bytes: Uint8Array, maxPixels: number): Image {
  const layout = pngLayout(bytes, maxPixels);
  const { width, height, depth, colorType } = layout;
  let input = bytes;
  if (layout.trns !== undefined && (colorType === 0 || colorType === 2)) {
    // pngjs paints colour-keyed pixels black; cv2.imread keeps their colour.
    const [start, end] = layout.trns;
    input = new Uint8Array(bytes.length - (end - start));
    input.set(bytes.subarray(0, start));
    input.set(bytes.subarray(end), start);
  }
  // skipRescale: 16-bit samples arrive whole (a Uint16Array, whatever the
  // typings say), so the high byte can be kept as libpng does.
  let rgba: ArrayLike<number>;
  try {
    rgba = PNG.sync.read(
      Buffer.from(input.buffer, input.byteOffset, input.length),
      { checkCRC: false, skipRescale: true },
    ).data;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new FormatError(`corrupt PNG (${reason})`);
  }
  const grey = colorType === 0 || colorType === 4;
  const channels = grey ? 1 : 3;
  const out = new Uint8Array(width * height * channels);
  // Palette entries are 8-bit already; grey below 8 bits is scaled up.
  const shift = depth === 16 ? 8 : 0;
  const scale = colorType !== 3 && depth < 8 ? 255 / ((1 << depth) - 1) : 1;
  for (let i = 0, j = 0; i < out.length; i += channels, j += 4) {
    for (let k = 0; k < channels; k++) {
      out[i + k] = (rgba[j + k] >> shift) * scale;
    }
  }
  return { width, height, channels, data: out };
}

/** Encodes an image (grey or RGB) as an 8-bit PNG of the same colour type. */
export function encodePng(image: Image): Uint8Array {
  checkImage(image);
  const colorType = image.channels === 1 ? 0 : 2;
  const { data } = image;
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(data.buffer, data.byteOffset, data.length);
  const out = PNG.sync.write(png, {
    colorType,
    inputColorType: colorType,
    inputHasAlpha: false,
    bitDepth: 8,
  });
  return new Uint8Array(out); // a copy: small Buffers share a pool
}
