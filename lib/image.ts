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
 * (0.299 R + 0.587 G + 0.114 B, 14-bit rounding), so that the result equals
 * `cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)`. A grey image is returned as is.
 */
export function toGrey(image: Image): Image {
  if (image.channels === 1) return image;
  const n = image.width * image.height;
  const out = new Uint8Array(n);
  const src = image.data;
  // OpenCV: R2Y = 4899, G2Y = 9617, B2Y = 1868, shift 14, rounding 1 << 13.
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[i] = (src[j] * 4899 + src[j + 1] * 9617 + src[j + 2] * 1868 + 8192) >>
      14;
  }
  return { width: image.width, height: image.height, channels: 1, data: out };
}

/**
 * Converts raw BGR bytes (OpenCV's and ffmpeg's `bgr24` order) to grey with
 * the same weights and rounding as `cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)`.
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
      (bytes[j] * 1868 + bytes[j + 1] * 9617 + bytes[j + 2] * 4899 + 8192) >>
      14;
  }
  return { width, height, channels: 1, data: out };
}
