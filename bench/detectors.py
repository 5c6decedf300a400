"""Benchmark: the person detectors on real clips: people found, people per frame, ms per frame.

Run: .venv/bin/python -m bench.detectors [--frames 100] [--vtest-frames 100] [--detectors ...]

Clips (all real footage, see ../shared/NOTES.md):
  sample      assets/sample_two_people.mp4 (544x960, Pose2Sim Demo_MultiPerson cam01 downscaled)
  cam01-04    Pose2Sim Demo_MultiPerson, 1088x1920, two people (cam01 and cam02 also show a third
              person standing in the background)
  vtest       OpenCV's vtest.avi (768x576), many small pedestrians
Columns:
  both     two-person clips: frames where both foreground people are found, i.e. at least two boxes
           that are foreground: box bottom below the frame's middle and box height >= 20% of the
           frame. The background people of cam01/cam02 stand with their feet at 40-46% of the frame
           height, the two foreground people on the platform below the middle.
  people   mean boxes per frame (all people, background included), after min score, NMS and the cap
  ms       median milliseconds per frame of detect() (resize + inference + decoding)
Detectors: ssdlite; mediapipe-N (the PoseLandmarker with its input downscaled to an N px long side,
'full' = not downscaled); mediapipe+ssdlite (app.detection.UnionDetector of both, the pipeline's
default).
Every detector sees the same frame before the next frame is read, so CPU load from other processes
hits all detectors alike; the speed summary gives each detector's median ms as a ratio to SSDLite's
in this same run. MediaPipe runs in VIDEO mode (its tracker skips the person detector between frames).
"""

import argparse
import os
import statistics
import time

import cv2
import numpy as np

from app.detection import DetectorConfig, UnionDetector
from app.detection.mediapipe import MediaPipeDetector
from app.detection.ssdlite import SSDLiteDetector
from app.types import Frame

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POSE2SIM = os.path.join(
    REPO, ".venv", "lib", "python3.11", "site-packages", "Pose2Sim", "Demo_MultiPerson", "videos"
)
CLIPS = {
    "sample": (os.path.join(REPO, "assets", "sample_two_people.mp4"), True),
    **{f"cam0{i}": (os.path.join(POSE2SIM, f"cam0{i}.mp4"), True) for i in range(1, 5)},
    "vtest": ("/usr/share/doc/opencv-doc/examples/data/vtest.avi", False),
}
# name -> factory(config); MediaPipe variants differ only in the detector input's long side.
DETECTORS = {
    "ssdlite": lambda c: SSDLiteDetector(c),
    "mediapipe-480": lambda c: MediaPipeDetector(c, detect_long_side=480),
    "mediapipe-640": lambda c: MediaPipeDetector(c, detect_long_side=640),
    "mediapipe-full": lambda c: MediaPipeDetector(c, detect_long_side=None),
    "mediapipe+ssdlite": lambda c: UnionDetector([MediaPipeDetector(c), SSDLiteDetector(c)], c.max_people, c.nms_iou),
}


def is_foreground(box: np.ndarray, height: int) -> bool:
    return box[3] > 0.5 * height and box[3] - box[1] >= 0.2 * height


def read_frames(path: str, count: int) -> list[Frame]:
    capture = cv2.VideoCapture(path)
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while len(frames) < count:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(Frame(len(frames), len(frames) / fps, image))
    capture.release()
    if not frames:
        raise SystemExit(f"{path}: no frames could be read (missing file? try apt-get install opencv-doc)")
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100, help="frames per two-person clip (each has 100)")
    parser.add_argument("--vtest-frames", type=int, default=100)
    parser.add_argument("--detectors", nargs="+", default=list(DETECTORS), choices=list(DETECTORS))
    parser.add_argument("--clips", nargs="+", default=list(CLIPS), choices=list(CLIPS))
    parser.add_argument("--max-people", type=int, default=6, help="the pipeline's default cap")
    parser.add_argument("--min-score", type=float, default=DetectorConfig.min_score)
    args = parser.parse_args()
    names = ["ssdlite"] + [n for n in args.detectors if n != "ssdlite"]  # the baseline always runs
    config = DetectorConfig(min_score=args.min_score, max_people=args.max_people)

    times: dict[str, list[float]] = {n: [] for n in names}
    print(f"min_score {config.min_score}, nms_iou {config.nms_iou}, max_people {config.max_people}")
    print(f"{'detector':<20}{'clip':<8}{'both':>9}{'people':>8}{'ms':>8}", flush=True)
    for clip in args.clips:
        path, two_people = CLIPS[clip]
        frames = read_frames(path, args.frames if two_people else args.vtest_frames)
        detectors = {n: DETECTORS[n](config) for n in names}  # fresh per clip: VIDEO-mode timestamps restart
        both = {n: 0 for n in names}
        people = {n: [] for n in names}
        clip_ms = {n: [] for n in names}
        for frame in frames:
            for n, detector in detectors.items():
                start = time.perf_counter()
                found = detector.detect(frame)
                clip_ms[n].append((time.perf_counter() - start) * 1000)
                people[n].append(len(found))
                both[n] += sum(is_foreground(d.box_xyxy, frame.height) for d in found) >= 2
        for n, detector in detectors.items():
            detector.close()
            times[n] += clip_ms[n]
            found_both = f"{both[n]}/{len(frames)}" if two_people else "-"
            ms = statistics.median(clip_ms[n])
            print(f"{n:<20}{clip:<8}{found_both:>9}{np.mean(people[n]):>8.2f}{ms:>8.1f}", flush=True)
    base = statistics.median(times["ssdlite"])
    print(f"\n{'detector':<20}{'median ms':>10}{'x ssdlite':>10}  (all clips, same run)")
    for n in names:
        ms = statistics.median(times[n])
        print(f"{n:<20}{ms:>10.1f}{ms / base:>10.2f}")


if __name__ == "__main__":
    main()
