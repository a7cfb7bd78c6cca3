/**
 * JPEG decoding by libjpeg-turbo, as MozJPEG's decoder compiled to
 * WebAssembly in `@jsquash/jpeg`. It is the library behind `cv2.imread`,
 * with the same defaults (islow IDCT, fancy upsampling, fixed-point YCbCr),
 * so the pixels are OpenCV's exactly: max difference 0 on every JPEG fixture
 * in tests/fixtures/images (4:2:0, 4:4:4, grey, progressive, EXIF
 * orientations 3, 5, 6, 8) and on a 500x375 photo. It replaced a
 * hand-written baseline decoder (also exact) and jpeg-js for everything
 * else (progressive files off by up to 8 levels). A 640x480 frame, best of
 * 7 runs on a busy 2-core machine: baseline 3.4 ms (hand-written 4.0 ms),
 * progressive 4.3 ms (jpeg-js 11.6 ms). The first decode in a process also
 * compiles the WebAssembly: 20 to 90 ms.
 *
 * The package's `decode()` is async. Here the Emscripten module is built
 * from a synchronously compiled `WebAssembly.Module` through its
 * `instantiateWasm` hook, after which its `decode` is an ordinary function,
 * so `decodeImage` stays synchronous. The `.wasm` file is read from the
 * installed npm package on the first decode (read permission on
 * node_modules).
 *
 * libjpeg's fatal errors unwind out of the WebAssembly without freeing its
 * stack or heap, and after about a hundred of them the instance hangs; so an
 * instance that failed is dropped and the next decode builds a fresh one
 * (under 1 ms). Warnings come through its stderr: "Premature end of JPEG
 * file" is reported as truncation, where libjpeg would pad with grey.
 *
 * @module
 */

import createMozJpeg from "@jsquash/jpeg/codec/dec/mozjpeg_dec.js";
import type { Image } from "./image.ts";
import { jpegHeader, JpegHeaderError } from "./jpeg_header.ts";
import { CodecError, FormatError, tooLarge } from "./_format_error.ts";

/** Options for {@linkcode decodeJpeg}. */
export interface DecodeJpegOptions {
  /** Refuse frames with more pixels than this. */
  maxPixels: number;
  /** Keep the pixels as stored instead of turning them by EXIF orientation. */
  ignoreOrientation?: boolean;
}

/** The part of the Emscripten module that this file uses. */
interface MozJpegModule {
  decode(data: Uint8Array, preserveOrientation: boolean): ImageData | null;
}

// libjpeg's JWRN_JPEG_EOF: the data ended before the last scan did.
const PREMATURE_END = "Premature end of JPEG file";

let compiled: WebAssembly.Module | undefined;
let instance: MozJpegModule | undefined;
const messages: string[] = [];

function wasmUrl(): URL {
  const url = new URL(
    import.meta.resolve("@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm"),
  );
  if (url.protocol !== "file:") {
    throw new CodecError(
      `cannot read MozJPEG's WebAssembly from ${url}: install npm packages ` +
        `into node_modules ("nodeModulesDir": "auto" in deno.json)`,
    );
  }
  return url;
}

function instantiate(): MozJpegModule {
  try {
    compiled ??= new WebAssembly.Module(Deno.readFileSync(wasmUrl()));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CodecError(`cannot load the JPEG decoder: ${reason}`);
  }
  const wasm = compiled;
  const module: Record<string, unknown> = {
    noInitialRun: true,
    print: (line: string) => messages.push(line),
    printErr: (line: string) => messages.push(line),
    instantiateWasm: (
      imports: WebAssembly.Imports,
      done: (instance: WebAssembly.Instance) => void,
    ) => {
      const created = new WebAssembly.Instance(wasm, imports);
      done(created);
      return created.exports;
    },
  };
  // The factory fills `module` in before it returns; its promise only
  // repeats that.
  void createMozJpeg(module);
  if (typeof module.decode !== "function") {
    throw new CodecError("MozJPEG's WebAssembly did not start synchronously");
  }
  return module as unknown as MozJpegModule;
}

function libjpegDecode(bytes: Uint8Array, upright: boolean): ImageData {
  instance ??= instantiate();
  messages.length = 0;
  let result: ImageData | null;
  try {
    result = instance.decode(bytes, upright);
  } catch (err) {
    instance = undefined;
    const reason = messages.at(-1) ??
      (err instanceof Error ? err.message : String(err));
    throw new FormatError(`corrupt JPEG (${reason})`);
  }
  if (messages.includes(PREMATURE_END)) {
    throw new FormatError("truncated JPEG (image data ends early)");
  }
  if (result === null) {
    throw new FormatError(`corrupt JPEG (${messages.at(-1) ?? "no image"})`);
  }
  return result;
}

/**
 * Decodes a JPEG as `cv2.imread` does: grey files to 1 channel, colour
 * files to RGB, turned upright by their EXIF orientation unless asked not to.
 *
 * @throws {FormatError} for a damaged, truncated, unsupported or too large file.
 */
export function decodeJpeg(
  bytes: Uint8Array,
  options: DecodeJpegOptions,
): Image {
  let header;
  try {
    header = jpegHeader(bytes);
  } catch (err) {
    if (!(err instanceof JpegHeaderError)) throw err;
    throw new FormatError(`corrupt or truncated JPEG (${err.reason})`);
  }
  const { components, precision } = header;
  if (components !== 1 && components !== 3) {
    throw new FormatError(
      `unsupported JPEG with ${components} colour components`,
    );
  }
  if (precision !== 8) {
    throw new FormatError(`unsupported JPEG with ${precision}-bit samples`);
  }
  if (header.width * header.height > options.maxPixels) {
    throw tooLarge(header, options.maxPixels);
  }
  // libjpeg always hands back RGBA; keep what the file has.
  const { width, height, data: rgba } = libjpegDecode(
    bytes,
    !options.ignoreOrientation,
  );
  const n = width * height;
  if (components === 1) {
    const data = new Uint8Array(n);
    for (let i = 0, j = 0; i < n; i++, j += 4) data[i] = rgba[j];
    return { width, height, channels: 1, data };
  }
  const data = new Uint8Array(n * 3);
  for (let i = 0, j = 0; i < data.length; i += 3, j += 4) {
    data[i] = rgba[j];
    data[i + 1] = rgba[j + 1];
    data[i + 2] = rgba[j + 2];
  }
  return { width, height, channels: 3, data };
}
