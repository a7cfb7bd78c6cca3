#!/usr/bin/env python3
"""The original design, kept only as a yardstick for `deno task bench`.

Python + native OpenCV (Haar cascade + cv2.face LBPH) + pyzmq REQ/REP with raw
640x480 BGR frames: request [JSON {"dtype","shape"}, BGR bytes], reply the same
shape of message with the annotated frame. Never used at run time by facezmq.

Usage: /usr/bin/python3 bench/original_server.py --bind tcp://127.0.0.1:5600 --train train

Prints "ready ENDPOINT" when it serves; --bind 'tcp://127.0.0.1:*' picks a free port.
"""
import argparse
import json
import os
import sys
import time

import cv2
import numpy as np
import zmq


def train(folder, cascade):
    recognizer = cv2.face.LBPHFaceRecognizer_create()
    faces, labels, names = [], [], {}
    for label, person in enumerate(sorted(os.listdir(folder))):
        path = os.path.join(folder, person)
        if not os.path.isdir(path):
            continue
        names[label] = person
        for name in sorted(os.listdir(path)):
            grey = cv2.imread(os.path.join(path, name), cv2.IMREAD_GRAYSCALE)
            if grey is None:
                continue
            boxes = cascade.detectMultiScale(grey, 1.1, 5)
            if len(boxes):
                x, y, w, h = max(boxes, key=lambda b: b[2] * b[3])
                grey = grey[y:y + h, x:x + w]
            faces.append(grey)
            labels.append(label)
    recognizer.train(faces, np.array(labels))
    return recognizer, names


def detect(cascade, grey, width, min_size):
    """detectMultiScale(grey, 1.1, 5) as the original, optionally on a shrunk frame."""
    if not width and not min_size:
        return cascade.detectMultiScale(grey, 1.1, 5)
    scale = 1.0
    small = grey
    if width and grey.shape[1] > width:
        height = max(1, round(grey.shape[0] * width / grey.shape[1]))
        small = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA)
        scale = grey.shape[1] / width
    side = round(min_size / scale) if min_size else 0
    boxes = cascade.detectMultiScale(small, 1.1, 5, minSize=(side, side))
    return [(int(round(x * scale)), int(round(y * scale)),
             int(round(w * scale)), int(round(h * scale))) for (x, y, w, h) in boxes]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bind", default="tcp://127.0.0.1:5600")
    parser.add_argument("--train", default="train")
    parser.add_argument("--threshold", type=float, default=80.0)
    # Not in the original: facezmq's detection settings, to compare native
    # OpenCV with facezmq's WASM OpenCV on equal work.
    parser.add_argument("--detect-width", type=int, default=0,
                        help="detect on the grey frame shrunk to this width (0 = full size)")
    parser.add_argument("--min-size", type=int, default=0,
                        help="smallest face side in frame pixels (0 = any)")
    args = parser.parse_args()
    cascade = cv2.CascadeClassifier(
        os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
        if hasattr(cv2, "data") else
        "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml")
    recognizer, names = train(args.train, cascade)
    socket = zmq.Context().socket(zmq.REP)
    socket.bind(args.bind)
    # The real endpoint (a "*" port becomes the port the system picked).
    print("ready", socket.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)
    busy = 0.0
    frames = 0
    while True:
        header = socket.recv_json()
        if header.get("cmd") == "stats":
            socket.send_json({"frames": frames, "server_ms": busy / max(frames, 1)})
            continue
        data = socket.recv()
        start = time.perf_counter()
        frame = np.frombuffer(data, dtype=header["dtype"]).reshape(header["shape"]).copy()
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        faces = []
        for (x, y, w, h) in detect(cascade, grey, args.detect_width, args.min_size):
            label, distance = recognizer.predict(grey[y:y + h, x:x + w])
            name = names.get(label, "unknown") if distance < args.threshold else "unknown"
            faces.append([int(x), int(y), int(w), int(h), name])
            cv2.rectangle(frame, (x, y), (x + w, y + h), (0, 255, 0), 2)
            cv2.putText(frame, name, (x, y - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 0), 2)
        busy += (time.perf_counter() - start) * 1000
        frames += 1
        # "faces" is extra (a client that only reshapes ignores it): the bench
        # scores the original design's answers against the clip's truth.
        socket.send_json({"dtype": str(frame.dtype), "shape": frame.shape,
                          "faces": faces}, zmq.SNDMORE)
        socket.send(frame.tobytes())


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
