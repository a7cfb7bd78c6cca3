#!/usr/bin/env python3
"""The original design, kept only as a yardstick for `deno task bench`.

Faithful to the original Face_recognition_PyZMQ server: Python + native
OpenCV + pyzmq REQ/REP, raw BGR both ways (request [JSON {"dtype","shape"},
BGR bytes], reply the same shape of message with the annotated frame).
Detection: haarcascade_frontalface_alt.xml, scaleFactor 1.2, minNeighbors 5,
no minimum size, on the full frame. Training photos go through the same
detector and their first face is cropped. Only the first face of a frame is
recognised, by cv2.face.LBPHFaceRecognizer_create() at its default threshold
(none: the nearest person is always named). Never used at run time.

`--facezmq-detection` is not the original: it detects with facezmq's
settings (given by the bench: cascade, scale step, neighbours, minimum size,
detection width) and names every face, so that native OpenCV and facezmq's
WASM OpenCV can be compared on equal work. The bench labels that row
"native OpenCV at facezmq's detection settings".

Usage: /usr/bin/python3 bench/original_server.py --bind tcp://127.0.0.1:5600 --train train

Prints "ready ENDPOINT" when it serves; --bind 'tcp://127.0.0.1:*' picks a free port.
"""
import argparse
import os
import sys
import time

import cv2
import numpy as np
import zmq

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")


def cascade_file(name):
    # The repo ships OpenCV's cascades byte for byte, so the bench needs no
    # opencv-data package.
    return os.path.join(DATA, f"haarcascade_frontalface_{name}.xml")


class Detector:
    def __init__(self, args):
        self.cascade = cv2.CascadeClassifier(cascade_file(args.cascade))
        if self.cascade.empty():
            sys.exit(f"error: cannot load {cascade_file(args.cascade)}")
        self.scale_factor = args.scale_factor
        self.min_neighbors = args.min_neighbors
        self.width = args.detect_width
        self.min_size = args.min_size

    def detect(self, grey):
        if not self.width and not self.min_size:
            return list(self.cascade.detectMultiScale(
                grey, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors))
        scale = 1.0
        small = grey
        if self.width and grey.shape[1] > self.width:
            height = max(1, round(grey.shape[0] * self.width / grey.shape[1]))
            small = cv2.resize(grey, (self.width, height), interpolation=cv2.INTER_AREA)
            scale = grey.shape[1] / self.width
        side = round(self.min_size / scale) if self.min_size else 0
        boxes = self.cascade.detectMultiScale(
            small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(side, side))
        return [(int(round(x * scale)), int(round(y * scale)),
                 int(round(w * scale)), int(round(h * scale))) for (x, y, w, h) in boxes]


def train(folder, detector):
    """As the original: each photo's first detected face, cropped; photos without one are left out."""
    faces, labels, names = [], [], {}
    for label, person in enumerate(sorted(os.listdir(folder))):
        path = os.path.join(folder, person)
        if not os.path.isdir(path):
            continue
        names[label] = person
        for name in sorted(os.listdir(path)):
            image = cv2.imread(os.path.join(path, name))
            if image is None:
                continue
            grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            boxes = detector.detect(grey)
            if not len(boxes):
                continue
            x, y, w, h = boxes[0]
            faces.append(grey[y:y + h, x:x + w])
            labels.append(label)
    recognizer = cv2.face.LBPHFaceRecognizer_create()
    recognizer.train(faces, np.array(labels))
    return recognizer, names


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bind", default="tcp://127.0.0.1:5600")
    parser.add_argument("--train", default="train")
    parser.add_argument("--facezmq-detection", action="store_true",
                        help="not the original: facezmq's detection settings, every face named")
    parser.add_argument("--cascade", default="alt", choices=["alt", "default"])
    parser.add_argument("--scale-factor", type=float, default=1.2)
    parser.add_argument("--min-neighbors", type=int, default=5)
    parser.add_argument("--detect-width", type=int, default=0,
                        help="detect on the grey frame shrunk to this width (0 = full size)")
    parser.add_argument("--min-size", type=int, default=0,
                        help="smallest face side in frame pixels (0 = any)")
    args = parser.parse_args()
    detector = Detector(args)
    recognizer, names = train(args.train, detector)
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
        boxes = detector.detect(grey)
        if not args.facezmq_detection:
            boxes = boxes[:1]
        faces = []
        for (x, y, w, h) in boxes:
            label, _distance = recognizer.predict(grey[y:y + h, x:x + w])
            name = names.get(label, "unknown")
            faces.append([int(x), int(y), int(w), int(h), name])
            cv2.rectangle(frame, (x, y), (x + w, y + h), (255, 0, 0), 2)
            cv2.putText(frame, name, (x, y), cv2.FONT_HERSHEY_PLAIN, 2.5, (0, 255, 0), 2)
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
