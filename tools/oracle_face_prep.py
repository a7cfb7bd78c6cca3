#!/usr/bin/env python3
"""Expected values for tests/face_prep_test.ts from native OpenCV's equalizeHist.

Run: /usr/bin/python3 tools/oracle_face_prep.py
Input: ORL s1/1.pgm and s7/3.pgm (AT&T Laboratories Cambridge / Olivetti Research
Laboratory), copied to tests/fixtures/face_prep/. Output: the equalised pixels'
histogram-per-value table (lut) and a few pixels, in tests/fixtures/face_prep/expected.json.
"""
import json
import shutil

import cv2
import numpy as np

ORL = "/work/shared/data/orl"
OUT = "tests/fixtures/face_prep"
cases = []
for person, image in (("s1", 1), ("s7", 3)):
    name = f"{person}_{image}.pgm"
    shutil.copy(f"{ORL}/{person}/{image}.pgm", f"{OUT}/{name}")
    grey = cv2.imread(f"{OUT}/{name}", cv2.IMREAD_GRAYSCALE)
    eq = cv2.equalizeHist(grey)
    cases.append({"file": name, "equalized": eq.flatten().tolist()})
with open(f"{OUT}/expected.json", "w") as f:
    json.dump(cases, f)
print("wrote", len(cases), "cases")
