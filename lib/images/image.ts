/**
 * The in-memory image shared by every module (8-bit pixels, row-major,
 * interleaved channels, no row padding) and the conversions between its
 * pixel layouts: RGB, grey, and the BGR bytes of OpenCV and ffmpeg.
 *
 * @module
 */

/** An 8-bit image. `channels` 1 is grey, 3 is RGB (in that order). */
export interface Image {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 1 for grey, 3 for RGB. */
  channels: 1 | 3;
  /** `width * height * channels` bytes, row after row. */
  data: Uint8Array;
}

/** An axis-aligned rectangle in pixel coordinates. */
export interface Box {
  /** Left edge. */
  x: number;
  /** Top edge. */
  y: number;
  /** Width. */
  w: number;
  /** Height. */
  h: number;
}

/**
 * Converts an RGB image to grey with OpenCV's fixed-point RGB2GRAY weights
 * (0.299 R + 0.587 G + 0.114 B in 15-bit fixed point), so that the result equals
 * `cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)`. A grey image is returned as is.
 */
export function toGrey(image: Image): Image {
  if (image.channels === 1) return image;
  const n = image.width * image.height;
  const out = new Uint8Array(n);
  const src = image.data;
  // OpenCV's integer path: R2Y = 9798, G2Y = 19235, B2Y = 3735, shift 15.
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[i] = (src[j] * 9798 + src[j + 1] * 19235 + src[j + 2] * 3735 + 16384) >>
      15;
  }
  return { width: image.width, height: image.height, channels: 1, data: out };
}

/**
 * Converts raw BGR bytes (OpenCV's and ffmpeg's `bgr24` order) to grey with
 * the same weights and rounding as `cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)`
 * (OpenCV's 15-bit fixed point).
 */
export function greyFromBgr(
  bytes: Uint8Array,
  width: number,
  height: number,
): Image {
  const n = width * height;
  if (bytes.length !== n * 3) {
    throw new Error(
      `expected ${n * 3} BGR bytes for ${width}x${height}, got ${bytes.length}`,
    );
  }
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[i] =
      (bytes[j] * 3735 + bytes[j + 1] * 19235 + bytes[j + 2] * 9798 + 16384) >>
      15;
  }
  return { width, height, channels: 1, data: out };
}

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

/**
 * Checks that an image is well formed: a positive size, 1 or 3 channels and
 * exactly `width * height * channels` bytes. Encoders call it first, so a
 * malformed image fails with its shape in the message rather than as
 * garbage output.
 *
 * @throws {Error} naming the shape and byte count when they disagree.
 */
export function checkImage(image: Image): void {
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
