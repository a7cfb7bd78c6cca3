#!/usr/bin/python3
"""Expected values for tests/lbph_test.ts and tests/model_file_test.ts, from native OpenCV.

Run with the system Python that has cv2.face (opencv-contrib), from the repository root:

    /usr/bin/python3 tools/oracle_lbph.py fixtures   # writes tests/fixtures/lbph/*.yml + *.json
    /usr/bin/python3 tools/oracle_lbph.py resave IN OUT  # cv2 reads our saved model, writes it again
    /usr/bin/python3 tools/oracle_lbph.py orl [DIR]  # ORL accuracy (1-5 train, 6-10 test) + timing

The images are the ORL subset in tests/fixtures/orl (AT&T Laboratories Cambridge /
Olivetti Research Laboratory). OpenCV is only the oracle here, never a runtime dependency.
"""

import json
import os
import sys
import time

import cv2
import numpy as np

ORL = "tests/fixtures/orl"
OUT = "tests/fixtures/lbph"
PEOPLE = range(1, 9)

# Names with characters that OpenCV's YAML writer has to quote or escape.
NAMES = {
    1: "Ada Lovelace",
    2: "José Núñez",
    3: 'Quote "Q" Person',
    4: "colon: person",
    5: "123",
    6: "back\\slash",
    7: "tab\there",
    8: "plain",
}

# name -> (radius, neighbors, grid_x, grid_y, crop (top, left, height, width) or None)
PARAMS = {
    "default": (1, 8, 8, 8, None),
    "r2_g4": (2, 8, 4, 4, None),
    # odd sizes: 77x90 crop, cells that do not divide the LBP image, sample points off the grid
    "r3_n6_g5x7": (3, 6, 5, 7, (10, 7, 90, 77)),
}


def load(person, index, crop):
    path = f"{ORL}/s{person}/{index}.pgm"
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise SystemExit(f"cannot read {path}")
    if crop is not None:
        top, left, height, width = crop
        img = np.ascontiguousarray(img[top:top + height, left:left + width])
    return img


def rel(person, index):
    return f"s{person}/{index}.pgm"


def create(params, threshold=sys.float_info.max):
    radius, neighbors, grid_x, grid_y, _ = params
    return cv2.face.LBPHFaceRecognizer_create(radius, neighbors, grid_x, grid_y, threshold)


def predictions(model, tests, crop):
    out = []
    for person, index in tests:
        label, distance = model.predict(load(person, index, crop))
        out.append({"file": rel(person, index), "truth": person, "label": int(label),
                    "distance": float(distance)})
    return out


def fixtures():
    os.makedirs(OUT, exist_ok=True)
    cases = {}
    for name, params in PARAMS.items():
        crop = params[4]
        train = [(p, i) for p in PEOPLE for i in range(1, 6)]
        tests = [(p, i) for p in PEOPLE for i in range(6, 11)]
        model = create(params)
        model.train([load(p, i, crop) for p, i in train], np.array([p for p, _ in train], np.int32))
        results = predictions(model, tests, crop)
        distances = sorted(r["distance"] for r in results)
        threshold = distances[len(distances) // 2]  # about half the answers become -1
        model.setThreshold(threshold)
        thresholded = predictions(model, tests, crop)

        # The small model whose YAML is committed: image 1 of each person, with names.
        small_train = [(p, 1) for p in range(1, 5)]  # 4 images keep the YAML small
        small = create(params)
        small.train([load(p, i, crop) for p, i in small_train],
                    np.array([p for p, _ in small_train], np.int32))
        for label, text in NAMES.items():
            small.setLabelInfo(label, text)
        small.write(f"{OUT}/{name}.yml")
        small_results = predictions(small, tests, crop)

        cases[name] = {
            "radius": params[0], "neighbors": params[1], "gridX": params[2], "gridY": params[3],
            "crop": None if crop is None else dict(zip(("top", "left", "height", "width"), crop)),
            "train": [{"file": rel(p, i), "label": p} for p, i in train],
            "predictions": results,
            "threshold": threshold,
            "thresholded": thresholded,
            "modelFile": f"{name}.yml",
            "modelTrain": [{"file": rel(p, i), "label": p} for p, i in small_train],
            "modelPredictions": small_results,
        }
    with open(f"{OUT}/predictions.json", "w") as f:
        json.dump({"opencv": cv2.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}/predictions.json and {', '.join(n + '.yml' for n in PARAMS)}")


def resave(src, dst):
    """cv2 reads a model our TypeScript saved (the "default" case's small model),
    writes it again to dst, and checks its predictions against cv2's own model."""
    model = cv2.face.LBPHFaceRecognizer_create()
    model.read(src)
    model.write(dst)
    with open(f"{OUT}/predictions.json") as f:
        case = json.load(f)["cases"]["default"]
    got = predictions(model, [(r["truth"], int(r["file"].split("/")[1][:-4]))
                              for r in case["modelPredictions"]], None)
    same = all(g["label"] == e["label"] and g["distance"] == e["distance"]
               for g, e in zip(got, case["modelPredictions"]))
    with open(src) as a, open(dst) as b:
        identical = a.read() == b.read()
    print(f"cv2 read {src}: {len(model.getHistograms())} histograms, "
          f"predictions identical to cv2's own model: {same}, re-written file byte-identical: {identical}")
    if not same:
        sys.exit(1)


def orl(root):
    train, train_labels, tests, test_labels = [], [], [], []
    for p in range(1, 41):
        for i in range(1, 11):
            img = cv2.imread(f"{root}/s{p}/{i}.pgm", cv2.IMREAD_GRAYSCALE)
            (train if i <= 5 else tests).append(img)
            (train_labels if i <= 5 else test_labels).append(p)
    model = cv2.face.LBPHFaceRecognizer_create()
    model.train(train, np.array(train_labels, np.int32))
    correct = sum(model.predict(img)[0] == t for img, t in zip(tests, test_labels))
    print(f"cv2.face LBPH ORL 1-5/6-10: {correct}/{len(tests)} = {100 * correct / len(tests):.1f}%")

    # predict timing: a 100x100 face against 400 training faces of 100x100
    faces = [cv2.resize(img, (100, 100)) for img in train + tests]
    labels = np.array(train_labels + test_labels, np.int32)
    model = cv2.face.LBPHFaceRecognizer_create()
    model.train(faces, labels)
    runs = 50
    start = time.perf_counter()
    for k in range(runs):
        model.predict(faces[k])
    ms = (time.perf_counter() - start) * 1000 / runs
    print(f"cv2.face predict 100x100 vs 400 faces: {ms:.2f} ms")


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "fixtures"
    if mode == "fixtures":
        fixtures()
    elif mode == "resave":
        if len(sys.argv) != 4:
            raise SystemExit("usage: oracle_lbph.py resave OURS.yml OUT.yml")
        resave(sys.argv[2], sys.argv[3])
    elif mode == "orl":
        orl(sys.argv[2] if len(sys.argv) > 2 else "/work/shared/data/orl")
    else:
        raise SystemExit(f"unknown mode {mode!r}: use fixtures, resave or orl")
