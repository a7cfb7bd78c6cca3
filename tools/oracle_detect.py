#!/usr/bin/python3
"""Oracle for tests/detector_test.ts: native OpenCV Haar detection boxes.

Run with the system Python that has native OpenCV (not a pyenv python):

    /usr/bin/python3 tools/oracle_detect.py

For each photo in /work/shared/data/detection/ (PASCAL VOC 2011, annotations from
the dlib examples) it converts to grey with cv2 (BGR2GRAY), writes the grey image
as tests/fixtures/detection/<name>.pgm, and runs
cv2.CascadeClassifier(data/haarcascade_frontalface_default.xml).detectMultiScale
with a few parameter sets. The boxes go to tests/fixtures/detection/expected.json.
The "maxWidth" case first shrinks the grey image with cv2.resize(INTER_AREA) to
the given width (height rounded), detects there and scales the boxes back with
round-half-up, as lib/detector.ts does.
"""

import json
import math
import os
import shutil
import sys

import cv2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = "/work/shared/data/detection"
OUT = os.path.join(ROOT, "tests", "fixtures", "detection")
CASCADE = os.path.join(ROOT, "data", "haarcascade_frontalface_default.xml")
JPEG_FIXTURE = "2008_002506.jpg"

CASES = [
    {"name": "default", "scaleFactor": 1.1, "minNeighbors": 3},
    {"name": "1.2/5", "scaleFactor": 1.2, "minNeighbors": 5},
    {"name": "minSize30", "scaleFactor": 1.1, "minNeighbors": 3, "minSize": 30},
    {"name": "maxSize60", "scaleFactor": 1.1, "minNeighbors": 3, "maxSize": 60},
    {"name": "maxWidth320", "scaleFactor": 1.1, "minNeighbors": 3, "maxWidth": 320},
    {"name": "server", "scaleFactor": 1.1, "minNeighbors": 5, "minSize": 60, "maxWidth": 320},
]


def detect(cascade, grey, case):
    kwargs = {"scaleFactor": case["scaleFactor"], "minNeighbors": case["minNeighbors"]}
    scale = 1.0
    img = grey
    if "maxWidth" in case and grey.shape[1] > case["maxWidth"]:
        w = case["maxWidth"]
        h = int(math.floor(grey.shape[0] * w / grey.shape[1] + 0.5))
        img = cv2.resize(grey, (w, h), interpolation=cv2.INTER_AREA)
        scale = grey.shape[1] / w
    # Sizes are given in image pixels; on a shrunk image they shrink too.
    if "minSize" in case:
        side = rnd(case["minSize"] / scale)
        kwargs["minSize"] = (side, side)
    if "maxSize" in case:
        side = rnd(case["maxSize"] / scale)
        kwargs["maxSize"] = (side, side)
    found = cascade.detectMultiScale(img, **kwargs)
    boxes = []
    H, W = grey.shape
    for (x, y, w, h) in (found if len(found) else []):
        if scale != 1.0:
            x = min(rnd(x * scale), W - 1)
            y = min(rnd(y * scale), H - 1)
            w = min(rnd(w * scale), W - x)
            h = min(rnd(h * scale), H - y)
        boxes.append([int(x), int(y), int(w), int(h)])
    boxes.sort()
    return boxes


def rnd(v):
    """Round half up, like JavaScript's Math.round for positive values."""
    return int(math.floor(v + 0.5))


def main():
    cv2.setNumThreads(1)
    cascade = cv2.CascadeClassifier(CASCADE)
    if cascade.empty():
        sys.exit("cannot load " + CASCADE)
    os.makedirs(OUT, exist_ok=True)
    result = {
        "opencv": cv2.__version__,
        "cascade": "data/haarcascade_frontalface_default.xml",
        "cases": CASES,
        "images": {},
    }
    for name in sorted(os.listdir(SRC)):
        if not name.endswith(".jpg"):
            continue
        bgr = cv2.imread(os.path.join(SRC, name), cv2.IMREAD_COLOR)
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        stem = name[:-4]
        cv2.imwrite(os.path.join(OUT, stem + ".pgm"), grey)
        result["images"][stem + ".pgm"] = {
            c["name"]: detect(cascade, grey, c) for c in CASES
        }
    # One line per case keeps the file short and diffs readable.
    lines = ["{"]
    lines.append(' "opencv": %s,' % json.dumps(result["opencv"]))
    lines.append(' "cascade": %s,' % json.dumps(result["cascade"]))
    lines.append(' "cases": [')
    lines.append(",\n".join("  " + json.dumps(c) for c in CASES))
    lines.append(" ],")
    lines.append(' "images": {')
    image_lines = []
    for name, cases in result["images"].items():
        inner = ",\n".join("   %s: %s" % (json.dumps(k), json.dumps(v)) for k, v in cases.items())
        image_lines.append("  %s: {\n%s\n  }" % (json.dumps(name), inner))
    lines.append(",\n".join(image_lines))
    lines.append(" }")
    lines.append("}")
    # One photo as JPEG too: decoding it must give the grey PGM exactly.
    shutil.copyfile(os.path.join(SRC, JPEG_FIXTURE), os.path.join(OUT, JPEG_FIXTURE))
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
