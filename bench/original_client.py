#!/usr/bin/env python3
"""The original design's client, kept only as a yardstick for `deno task bench`.

Reads every frame of a clip with cv2.VideoCapture, sends each as
[JSON {"dtype","shape"}, raw BGR bytes] over REQ, waits for the annotated
frame, and prints one JSON line of figures at the end. It also serves as the
"original Python client" when pointed at a facezmq server.

Usage: /usr/bin/python3 bench/original_client.py --connect tcp://127.0.0.1:5600 --input samples/sample.mp4
"""
import argparse
import json
import resource
import time

import cv2
import numpy as np
import zmq


def peak_rss_mb():
    """Peak resident memory of this process in MiB.

    VmHWM rather than ru_maxrss: on Linux a process started by a large one
    inherits the parent's ru_maxrss through exec, VmHWM starts afresh.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--connect", default="tcp://127.0.0.1:5600")
    parser.add_argument("--input", default="samples/sample.mp4")
    parser.add_argument("--frames", type=int, default=0)
    parser.add_argument("--server-stats", action="store_true",
                        help="ask the original server for its ms/frame at the end")
    parser.add_argument("--faces", action="store_true",
                        help="add the faces of every frame (when the server names them)")
    args = parser.parse_args()
    socket = zmq.Context().socket(zmq.REQ)
    socket.connect(args.connect)
    capture = cv2.VideoCapture(args.input)
    latencies = []
    faces = []
    read_ms = 0.0
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        ok, frame = capture.read()
        read_ms += (time.perf_counter() - t0) * 1000
        if not ok or (args.frames and len(latencies) >= args.frames):
            break
        t1 = time.perf_counter()
        socket.send_json({"dtype": str(frame.dtype), "shape": frame.shape}, zmq.SNDMORE)
        socket.send(frame.tobytes())
        header = socket.recv_json()
        data = socket.recv()
        np.frombuffer(data, dtype=header["dtype"]).reshape(header["shape"])
        latencies.append((time.perf_counter() - t1) * 1000)
        faces.append(header.get("faces", []))
    elapsed = time.perf_counter() - started
    result = {
        "frames": len(latencies),
        "fps": len(latencies) / elapsed if elapsed > 0 else 0,
        "latency_p50_ms": float(np.percentile(latencies, 50)) if latencies else None,
        "latency_p95_ms": float(np.percentile(latencies, 95)) if latencies else None,
        "capture_ms": read_ms / max(len(latencies), 1),
        "peak_rss_mb": peak_rss_mb(),
    }
    if args.faces:
        result["faces"] = faces
    if args.server_stats:
        socket.send_json({"cmd": "stats"})
        result["server"] = socket.recv_json()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
