#!/usr/bin/python3
"""Oracle for tests/face/detector_test.ts: native OpenCV Haar detection boxes.

Run with the system Python that has native OpenCV (not a pyenv python):

    /usr/bin/python3 tools/oracle_detect.py

For each photo in /work/shared/data/detection/ (PASCAL VOC 2011, annotations from
the dlib examples) it converts to grey with cv2 (BGR2GRAY), writes the grey image
as tests/fixtures/detection/<name>.pgm, and runs
cv2.CascadeClassifier(...).detectMultiScale with a few parameter sets:
data/haarcascade_frontalface_default.xml ones go to
tests/fixtures/detection/expected.json, those naming a "cascade" to
expected_alt.json. A "maxWidth" case first shrinks the grey image with
cv2.resize(INTER_AREA) to the given width (height rounded), detects there and
scales the boxes back with round-half-up, as lib/face/detector.ts does. A
"confirm" case is lib/face/detector.ts's two-stage search written again here
with cv2 calls (confirm() below): its boxes come from detectMultiScale calls on
windows of the photo, so WASM must match them exactly too.

    /usr/bin/python3 tools/oracle_detect.py --frames DIR [--cascade alt]
        [--scale-factor 1.2] [--min-neighbors 5] [--runs N]

prints, as JSON, the full-frame boxes and detect times of every PGM in DIR
(for tools/eval_detect_settings.ts).
"""

import argparse
import json
import math
import os
import re
import shutil
import sys
import time

import cv2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = "/work/shared/data/detection"
OUT = os.path.join(ROOT, "tests", "fixtures", "detection")
CASCADE = os.path.join(ROOT, "data", "haarcascade_frontalface_default.xml")
CASCADES = {
    "default": CASCADE,
    "alt": os.path.join(ROOT, "data", "haarcascade_frontalface_alt.xml"),
}
JPEG_FIXTURE = "2008_002506.jpg"

CASES = [
    {"name": "default", "scaleFactor": 1.1, "minNeighbors": 3},
    {"name": "1.2/5", "scaleFactor": 1.2, "minNeighbors": 5},
    {"name": "minSize30", "scaleFactor": 1.1, "minNeighbors": 3, "minSize": 30},
    {"name": "maxSize60", "scaleFactor": 1.1, "minNeighbors": 3, "maxSize": 60},
    {"name": "maxWidth320", "scaleFactor": 1.1, "minNeighbors": 3, "maxWidth": 320},
    {"name": "server", "scaleFactor": 1.1, "minNeighbors": 5, "minSize": 60, "maxWidth": 320},
]

# Cases with their own cascade, in expected_alt.json.
ALT_CASES = [
    # The original Python design's settings.
    {"name": "original", "cascade": "alt", "scaleFactor": 1.2, "minNeighbors": 5},
    {"name": "alt 1.1/3", "cascade": "alt", "scaleFactor": 1.1, "minNeighbors": 3},
    {"name": "alt maxWidth320 30-150", "cascade": "alt", "scaleFactor": 1.2, "minNeighbors": 3,
     "minSize": 30, "maxSize": 150, "maxWidth": 320},
    {"name": "confirm 400/3", "cascade": "alt", "scaleFactor": 1.2, "minNeighbors": 3,
     "maxWidth": 400, "confirm": True},
    {"name": "confirm full size 30-120", "cascade": "alt", "scaleFactor": 1.2, "minNeighbors": 4,
     "minSize": 30, "maxSize": 120, "confirm": True},
    {"name": "confirm default 320", "cascade": "default", "scaleFactor": 1.1, "minNeighbors": 3,
     "maxWidth": 320, "confirm": True},
]

# lib/face/detector.ts's CONFIRM_MARGIN, CONFIRM_MIN, CONFIRM_MAX, GROUP_EPS.
CONFIRM_MARGIN = 0.3
CONFIRM_MIN = 0.7
CONFIRM_MAX = 1.5
GROUP_EPS = 0.2


def rnd(v):
    """Round half up, like JavaScript's Math.round for positive values."""
    return int(math.floor(v + 0.5))


def shrink(img, max_width):
    w = int(math.floor(max_width))
    h = max(1, rnd(img.shape[0] * w / img.shape[1]))
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def scan(cascade, img, scale, case, min_size, max_size, min_neighbors):
    """detectMultiScale on img, `scale` times smaller than the frame; sizes
    in frame pixels (0 = no limit), boxes in img's pixels."""
    side_min = rnd(min_size / scale) if min_size > 0 else 0
    side_max = rnd(max_size / scale) if max_size > 0 else 0
    found = cascade.detectMultiScale(
        img, scaleFactor=case["scaleFactor"], minNeighbors=min_neighbors,
        minSize=(side_min, side_min), maxSize=(side_max, side_max))
    return [[int(v) for v in b] for b in (found if len(found) else [])]


def detect(cascade, grey, case):
    if case.get("confirm"):
        return sorted(confirm(cascade, grey, case))
    scale = 1.0
    img = grey
    if case.get("maxWidth", 0) > 0 and grey.shape[1] > case["maxWidth"]:
        img = shrink(grey, case["maxWidth"])
        scale = grey.shape[1] / img.shape[1]
    found = scan(cascade, img, scale, case, case.get("minSize", 0), case.get("maxSize", 0),
                 case["minNeighbors"])
    boxes = []
    H, W = grey.shape
    for (x, y, w, h) in found:
        if scale != 1.0:
            x = min(rnd(x * scale), W - 1)
            y = min(rnd(y * scale), H - 1)
            w = min(rnd(w * scale), W - x)
            h = min(rnd(h * scale), H - y)
        boxes.append([int(x), int(y), int(w), int(h)])
    boxes.sort()
    return boxes


def window_width(path):
    with open(path, "rb") as f:
        head = f.read(8192).decode("latin-1")
    m = re.search(r"<width>\s*(\d+)\s*</width>", head) or \
        re.search(r"<size>\s*(\d+)\s+\d+\s*</size>", head)
    return int(m.group(1)) if m else 24


def centre_inside(outer, inner):
    cx = inner[0] + inner[2] / 2
    cy = inner[1] + inner[3] / 2
    return outer[0] <= cx <= outer[0] + outer[2] and outer[1] <= cy <= outer[1] + outer[3]


def cluster(boxes, eps):
    """groupRectangles' partition without a threshold: mean box per cluster,
    in order of each cluster's first box (detector.ts's cluster())."""
    parent = list(range(len(boxes)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            d = eps * (min(a[2], b[2]) + min(a[3], b[3])) / 2
            if abs(a[0] - b[0]) <= d and abs(a[1] - b[1]) <= d and \
                    abs(a[0] + a[2] - b[0] - b[2]) <= d and abs(a[1] + a[3] - b[1] - b[3]) <= d:
                ri, rj = root(i), root(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
    sums = {}
    for i, b in enumerate(boxes):
        s = sums.setdefault(root(i), [0, 0, 0, 0, 0])
        s[0] += b[0]
        s[1] += b[1]
        s[2] += b[2]
        s[3] += b[3]
        s[4] += 1
    return [(x / n, y / n, w / n, h / n) for x, y, w, h, n in sums.values()]


def confirm(cascade, grey, case):
    """detector.ts's two-stage search (DetectOptions.confirm)."""
    window = case["_window"]
    H, W = grey.shape
    min_size = case.get("minSize", 0)
    max_size = case.get("maxSize", 0)
    max_width = case.get("maxWidth", 0)
    a = shrink(grey, max_width) if max_width > 0 and W > max_width else grey
    scale_a = W / a.shape[1]
    copies = [(a, scale_a, (2 * window - 1) * scale_a)]
    if a.shape[1] >= 2 * window and a.shape[0] >= 2 * window:
        b = shrink(a, a.shape[1] / 2)
        copies.append((b, W / b.shape[1], math.inf))
    stage1_min = min_size / CONFIRM_MAX
    stage1_max = max_size / CONFIRM_MIN if max_size > 0 else math.inf
    raw = []
    for img, scale, below in copies:
        limit = min(below, stage1_max)
        for x, y, w, h in scan(cascade, img, scale, case, stage1_min,
                               0 if limit == math.inf else limit, 0):
            raw.append((x * scale, y * scale, w * scale, h * scale))
    found = []
    for c in cluster(raw, GROUP_EPS):
        if c[2] * CONFIRM_MAX < min_size:
            continue
        m = c[2] * CONFIRM_MARGIN
        x0 = max(0, math.floor(c[0] - m))
        y0 = max(0, math.floor(c[1] - m))
        x1 = min(W, math.ceil(c[0] + c[2] + m))
        y1 = min(H, math.ceil(c[1] + c[3] + m))
        if x1 - x0 < window or y1 - y0 < window:
            continue
        lo = max(min_size, rnd(c[2] * CONFIRM_MIN))
        hi = min(max_size, rnd(c[2] * CONFIRM_MAX)) if max_size > 0 else rnd(c[2] * CONFIRM_MAX)
        for x, y, w, h in scan(cascade, grey[y0:y1, x0:x1], 1, case, lo, hi,
                               case["minNeighbors"]):
            box = [x + x0, y + y0, w, h]
            if not (centre_inside(c, box) or centre_inside(box, c)):
                continue
            if any(centre_inside(f, box) or centre_inside(box, f) for f in found):
                continue
            found.append(box)
    return found


def load(name):
    path = CASCADES.get(name, name)
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        sys.exit("cannot load " + path)
    return cascade, window_width(path)


def write_expected(path, cascade_label, cases, images):
    # One line per case keeps the file short and diffs readable.
    lines = ["{"]
    lines.append(' "opencv": %s,' % json.dumps(cv2.__version__))
    if cascade_label is not None:
        lines.append(' "cascade": %s,' % json.dumps(cascade_label))
    lines.append(' "cases": [')
    lines.append(",\n".join("  " + json.dumps(c) for c in cases))
    lines.append(" ],")
    lines.append(' "images": {')
    image_lines = []
    for name, boxes in images.items():
        inner = ",\n".join("   %s: %s" % (json.dumps(k), json.dumps(v)) for k, v in boxes.items())
        image_lines.append("  %s: {\n%s\n  }" % (json.dumps(name), inner))
    lines.append(",\n".join(image_lines))
    lines.append(" }")
    lines.append("}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    cv2.setNumThreads(1)
    default, _ = load("default")
    loaded = {}
    for case in ALT_CASES:
        if case["cascade"] not in loaded:
            loaded[case["cascade"]] = load(case["cascade"])
    os.makedirs(OUT, exist_ok=True)
    images = {}
    alt_images = {}
    for name in sorted(os.listdir(SRC)):
        if not name.endswith(".jpg"):
            continue
        bgr = cv2.imread(os.path.join(SRC, name), cv2.IMREAD_COLOR)
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        stem = name[:-4]
        cv2.imwrite(os.path.join(OUT, stem + ".pgm"), grey)
        images[stem + ".pgm"] = {c["name"]: detect(default, grey, c) for c in CASES}
        boxes = {}
        for c in ALT_CASES:
            cascade, window = loaded[c["cascade"]]
            boxes[c["name"]] = detect(cascade, grey, {**c, "_window": window})
        alt_images[stem + ".pgm"] = boxes
    write_expected(os.path.join(OUT, "expected.json"),
                   "data/haarcascade_frontalface_default.xml", CASES, images)
    write_expected(os.path.join(OUT, "expected_alt.json"), None, ALT_CASES, alt_images)
    # One photo as JPEG too: decoding it must give the grey PGM exactly.
    shutil.copyfile(os.path.join(SRC, JPEG_FIXTURE), os.path.join(OUT, JPEG_FIXTURE))


def frames(args):
    """Boxes and detect ms (each run) for every PGM in args.frames, as JSON."""
    cv2.setNumThreads(1)
    cascade, _ = load(args.cascade)
    names = sorted(n for n in os.listdir(args.frames) if n.endswith(".pgm"))
    greys = {n: cv2.imread(os.path.join(args.frames, n), cv2.IMREAD_GRAYSCALE) for n in names}
    times = {n: [] for n in names}
    boxes = {}
    for _ in range(args.runs):
        for n in names:
            t = time.perf_counter()
            found = cascade.detectMultiScale(
                greys[n], scaleFactor=args.scale_factor, minNeighbors=args.min_neighbors)
            times[n].append((time.perf_counter() - t) * 1000)
            boxes[n] = [[int(v) for v in b] for b in (found if len(found) else [])]
    json.dump({"boxes": boxes, "ms": times}, sys.stdout)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", help="detect in every PGM of this directory instead")
    parser.add_argument("--cascade", default="alt", help="default, alt or a path (--frames)")
    parser.add_argument("--scale-factor", type=float, default=1.2)
    parser.add_argument("--min-neighbors", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if args.frames:
        frames(args)
    else:
        main()
