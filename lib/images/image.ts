/**
 * The in-memory image shared by every module: 8-bit pixels, row-major,
 * interleaved channels, no row padding.
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
