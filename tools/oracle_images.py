#!/usr/bin/python3
"""Oracle for tests/image_io_test.ts: image files and their native decodings.

Run with the system Python that has native OpenCV (not a pyenv python):

    /usr/bin/python3 tools/oracle_images.py

Takes a 96x72 crop of /work/shared/data/detection/2008_002506.jpg (PASCAL VOC
2011) and writes, under tests/fixtures/images/, the crop in many encodings:
JPEGs written by cv2 (4:2:0, progressive, grey) and ffmpeg (4:4:4), PNGs written by cv2
(RGB, grey, 16-bit, BGRA), by ffmpeg (palette, grey+alpha, 1-bit) and by a
small encoder below (Adam7 interlaced, 4-bit palette, 2-bit grey), and
copies of the 4:4:4 JPEG with an EXIF orientation tag (3, 5, 6, 8). For every
file, cv2.imread's decoding is written next to it as <file>.pnm (P6 RGB, or
P5 when the file is grey) and listed in manifest.json.
"""

import json
import os
import struct
import subprocess
import zlib

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "images")
SRC = "/work/shared/data/detection/2008_002506.jpg"


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png(width, height, depth, color_type, rows_by_pass, interlace=0, plte=None):
    """rows_by_pass: list (one per pass) of lists of packed row bytes."""
    raw = b"".join(b"\x00" + r for rows in rows_by_pass for r in rows)
    out = b"\x89PNG\r\n\x1a\n"
    out += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, interlace))
    if plte is not None:
        out += chunk(b"PLTE", plte)
    out += chunk(b"IDAT", zlib.compress(raw, 9))
    out += chunk(b"IEND", b"")
    return out


def pack_bits(values, depth):
    bits = "".join(format(int(v), "0%db" % depth) for v in values)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def main():
    os.makedirs(OUT, exist_ok=True)
    bgr = cv2.imread(SRC, cv2.IMREAD_COLOR)[60:132, 200:296].copy()  # 72 x 96
    h, w = bgr.shape[:2]
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    rng = np.random.default_rng(7)

    def path(name):
        return os.path.join(OUT, name)

    cv2.imwrite(path("crop.ppm"), bgr)
    cv2.imwrite(path("crop_grey.pgm"), grey)
    cv2.imwrite(path("crop_420.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
    cv2.imwrite(path("crop_progressive.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 80,
                                                    cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    cv2.imwrite(path("crop_grey.jpg"), grey, [cv2.IMWRITE_JPEG_QUALITY, 90])
    cv2.imwrite(path("crop_rgb.png"), bgr)
    cv2.imwrite(path("crop_grey.png"), grey)
    # 16-bit: random low bytes, so only a decoder that keeps the high byte matches.
    cv2.imwrite(path("crop_rgb16.png"), bgr.astype(np.uint16) * 256 + rng.integers(0, 256, bgr.shape, dtype=np.uint16))
    cv2.imwrite(path("crop_grey16.png"), grey.astype(np.uint16) * 256 + rng.integers(0, 256, grey.shape, dtype=np.uint16))
    bgra = np.dstack([bgr, rng.integers(0, 256, (h, w), dtype=np.uint8)])
    cv2.imwrite(path("crop_rgba.png"), bgra)
    for name, fmt in [("crop_pal8.png", "pal8"), ("crop_ya8.png", "ya8"), ("crop_mono.png", "monob"),
                      ("crop_444.jpg", "yuvj444p")]:
        subprocess.run(["/usr/bin/ffmpeg", "-v", "error", "-y", "-i", path("crop.ppm"),
                        "-pix_fmt", fmt, path(name)], check=True)
    # Hand-made: Adam7 interlaced RGB, 4-bit palette, 2-bit grey.
    rgb = bgr[:, :, ::-1]
    passes = []
    for (x0, y0, dx, dy) in ADAM7:
        passes.append([rgb[y, x0::dx].tobytes() for y in range(y0, h, dy)] if x0 < w else [])
    with open(path("crop_adam7.png"), "wb") as f:
        f.write(png(w, h, 8, 2, passes, interlace=1))
    idx4 = (grey // 16).astype(np.uint8)
    plte = bytes(b for i in range(16) for b in (i * 16, 255 - i * 16, (i * 37) % 256))
    with open(path("crop_pal4.png"), "wb") as f:
        f.write(png(w, h, 4, 3, [[pack_bits(r, 4) for r in idx4]], plte=plte))
    g2 = (grey // 64).astype(np.uint8)
    with open(path("crop_grey2.png"), "wb") as f:
        f.write(png(w, h, 2, 0, [[pack_bits(r, 2) for r in g2]]))

    # EXIF orientation: cv2.imread turns the picture upright; so must we.
    with open(path("crop_444.jpg"), "rb") as f:
        jpg = f.read()
    for orientation, order in [(3, "MM"), (5, "II"), (6, "MM"), (8, "II")]:
        e = "<" if order == "II" else ">"
        tiff = order.encode() + struct.pack(e + "HI", 42, 8)
        tiff += struct.pack(e + "H", 1) + struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0)
        tiff += struct.pack(e + "I", 0)
        app1 = b"Exif\0\0" + tiff
        with open(path("crop_exif%d.jpg" % orientation), "wb") as f:
            f.write(jpg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpg[2:])

    # Grey conversion check: random colours, where 14-bit and 15-bit fixed
    # point RGB2GRAY formulas disagree on about 1 pixel in 400.
    noise = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)  # BGR
    cv2.imwrite(path("noise.ppm"), noise)
    cv2.imwrite(path("noise_grey.pgm"), cv2.cvtColor(noise, cv2.COLOR_BGR2GRAY))

    manifest = []
    for name in sorted(os.listdir(OUT)):
        if not (name.endswith(".jpg") or name.endswith(".png")):
            continue
        is_grey = any(k in name for k in ("grey", "ya8", "mono"))
        if is_grey:
            img = cv2.imread(path(name), cv2.IMREAD_GRAYSCALE)
            cv2.imwrite(path(name + ".pgm"), img)
            expected = name + ".pgm"
        else:
            img = cv2.imread(path(name), cv2.IMREAD_COLOR)
            cv2.imwrite(path(name + ".ppm"), img)  # cv2 writes BGR as P6 RGB
            expected = name + ".ppm"
        manifest.append({"file": name, "expected": expected, "channels": 1 if is_grey else 3})
    # What libjpeg makes of the crop at quality 85 (4:2:0): our encoder uses
    # the same standard tables, so sizes and errors should be close.
    reference = {}
    for name, img in [("crop.ppm", bgr), ("crop_grey.pgm", grey)]:
        ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
        decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        reference[name] = {"quality": 85, "bytes": int(len(data)),
                           "psnr": round(float(cv2.PSNR(decoded, img)), 3)}
    with open(path("manifest.json"), "w") as f:
        json.dump({"opencv": cv2.__version__, "source": "crop of 2008_002506.jpg (PASCAL VOC 2011)",
                   "images": manifest, "jpegEncoding": reference}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
