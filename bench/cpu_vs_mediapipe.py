"""Benchmark: the project's pipeline against MediaPipe's own single-person Pose, same frames, same process (CPU).

Per clip, the first --frames frames are decoded once into memory (decoding is left out of every row). Then,
round after round, every contender processes all of them in order, taking turns every CHUNK frames (each
keeps its own state between turns; a detector thread finishes its frame before the next contender's turn
starts), so that the load of a shared machine, which swings within a minute, hits every row alike. The turn
order rotates by one contender every CHUNK frames (turn_order), so that no row always runs right after the
same other one, and each round builds the contenders in that round's rotated order: in a fixed order two
identical networks read 0.87-0.88 vs 0.91 of MediaPipe's fps (7 rounds), with both rotations 0.89 vs 0.89:
  mediapipe-pose  mp.solutions.pose.Pose(model_complexity=1) in video mode: MediaPipe's own single-person
                  solution, the speed to beat on a CPU (it finds at most one person)
  default         the project's default pipeline (PipelineConfig() with the clip's frame rate)
  <variant>       the default with one lever flipped (VARIANTS; --variants picks them)
Each contender first sees the same few warm-up frames (untimed). Printed per clip and contender: fps (median
over the rounds), the ratio to MediaPipe's fps in the same round (median), and the people found per frame
(mean, and the fraction of frames with 0 / 1 / 2 / 3+); then the load average before and after. Absolute fps
on a shared machine are lower bounds; the ratios are the steadier figures.

Run: .venv/bin/python -m bench.cpu_vs_mediapipe [CLIP...] [--frames 100] [--rounds 3] [--variants a,b] [--card X.card.json]
CLIP defaults to the bundled sample clip and Pose2Sim's single- and multi-person demo cam01.
"""

import argparse
import gc
import os
import statistics
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import cv2

from app.processor import FrameProcessor, PipelineConfig
from app.quiet import quiet_library_logs
from app.sources import DEFAULT_SAMPLE, open_source
from app.types import Frame

WARMUP_FRAMES = 5
CHUNK = 10  # frames per turn
# Each lever of issue 12 alone, as config changes on top of the default.
VARIANTS: dict[str, dict] = {
    "detector-thread": {"detector_thread": True},  # the detector on its own thread (default: before the network)
    "detect-every-1": {"detect_every": 1},
    "detector-mediapipe": {"detector": "mediapipe"},
    "detector-ssdlite": {"detector": "ssdlite"},
    "threads-1": {"threads": 1},
}
DEFAULT_VARIANTS = ("detector-thread", "threads-1")


def default_clips() -> list[str]:
    """The bundled clip plus Pose2Sim's single- and multi-person cam01, where the pose2sim package is installed."""
    clips = [DEFAULT_SAMPLE]
    try:
        import Pose2Sim
    except ImportError:
        return clips
    root = Path(os.path.dirname(Pose2Sim.__file__))
    for demo in ("Demo_SinglePerson", "Demo_MultiPerson"):
        path = root / demo / "videos" / "cam01.mp4"
        if path.is_file():
            clips.append(str(path))
    return clips


def load_frames(path: str, frames: int) -> tuple[list[Frame], float]:
    """The first `frames` frames of a clip, decoded, and its frame rate."""
    source = open_source(path)
    try:
        decoded = [frame for _, frame in zip(range(frames), source)]
        return decoded, source.fps
    finally:
        source.close()


class MediaPipePose:
    """MediaPipe's own single-person solution, as a user of mediapipe would call it."""

    name = "mediapipe-pose"

    def __init__(self):
        import mediapipe as mp

        self._pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)

    def people(self, frame: Frame, fps: float) -> int:
        result = self._pose.process(cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB))
        return int(result.pose_landmarks is not None)

    def reset(self) -> None:
        pass

    def settle(self) -> None:
        pass

    def close(self) -> None:
        self._pose.close()


class ProjectPipeline:
    """The project's FrameProcessor; people = tracks observed in the frame (not held from earlier ones).

    card: another model card for the cascade backend (e.g. `main.py export --input-size 160`), else the default."""

    def __init__(self, name: str, config: PipelineConfig, card: str | None = None):
        self.name = name
        backend = None
        if card is not None:
            from app.backends.cascade import CascadeBackend

            backend = CascadeBackend(card_path=card, engine=config.engine, device=config.device, threads=config.threads)
        self.processor = FrameProcessor(config, backend=backend)

    def people(self, frame: Frame, fps: float) -> int:
        result = self.processor.process(frame, fps)
        return sum(1 for t in result.tracks if t.missed == 0)

    def reset(self) -> None:
        self.processor.reset()

    def settle(self) -> None:
        """Lets a detector thread finish its frame, so that it does not run in another contender's turn."""
        background = getattr(self.processor, "_background", None)
        if background is not None:
            background.settle()

    def close(self) -> None:
        self.processor.close()


def turn_order(contenders: list, turn: int) -> list:
    """The contenders of turn `turn` (0, 1, ...): the list rotated left by `turn` places."""
    k = turn % len(contenders)
    return contenders[k:] + contenders[:k]


def run_round(contenders: list, frames: list[Frame], fps: float) -> tuple[dict[str, float], dict[str, list[int]]]:
    """Warm-up, then every frame in order, the contenders taking turns: ({name: fps}, {name: people per frame})."""
    for contender in contenders:
        for frame in frames[:WARMUP_FRAMES]:
            contender.people(frame, fps)
        contender.reset()
        contender.settle()
    gc.collect()
    seconds = {c.name: 0.0 for c in contenders}
    people: dict[str, list[int]] = {c.name: [] for c in contenders}
    for turn, first in enumerate(range(0, len(frames), CHUNK)):
        for contender in turn_order(contenders, turn):
            start = time.perf_counter()
            people[contender.name] += [contender.people(frame, fps) for frame in frames[first : first + CHUNK]]
            seconds[contender.name] += time.perf_counter() - start
            contender.settle()  # outside the timing: its detector's next result waits for its next turn
    return {name: len(frames) / s for name, s in seconds.items()}, people


def build(name: str, card: str | None = None):
    if name == MediaPipePose.name:
        return MediaPipePose()
    if name == "card":
        return ProjectPipeline(name, PipelineConfig(), card)
    changes = {} if name == "default" else VARIANTS[name]
    return ProjectPipeline(name, replace(PipelineConfig(), **changes))


def people_summary(people: list[int]) -> str:
    n = max(1, len(people))
    shares = [sum(p == k for p in people) / n for k in (0, 1, 2)] + [sum(p >= 3 for p in people) / n]
    return f"{statistics.mean(people):5.2f}  " + " / ".join(f"{s:4.0%}" for s in shares)


def bench_clip(path: str, contenders: list[str], frames: int, rounds: int, card: str | None = None) -> None:
    images, fps = load_frames(path, frames)
    height, width = images[0].image.shape[:2]
    print(f"\nclip {Path(path).parent.parent.name + '/' if 'Demo' in path else ''}{Path(path).name}: "
          f"{len(images)} frames {width}x{height} at {fps:.0f} fps")
    speeds: dict[str, list[float]] = {name: [] for name in contenders}
    ratios: dict[str, list[float]] = {name: [] for name in contenders}
    people: dict[str, list[int]] = {}
    for round_index in range(rounds):
        # Built per round and closed after it: no contender's threads or caches outlive the round.
        built = []
        try:
            for name in turn_order(contenders, round_index):
                built.append(build(name, card))
            this_round, people = run_round(built, images, fps)
        finally:
            for contender in built:
                contender.close()
        for name in contenders:
            speeds[name].append(this_round[name])
            ratios[name].append(this_round[name] / this_round[MediaPipePose.name])
    print(f"  {'contender':<22} {'fps':>6} {'x MediaPipe':>11}  {'people/frame  0 / 1 / 2 / 3+':>30}")
    for name in contenders:
        print(f"  {name:<22} {statistics.median(speeds[name]):6.1f} {statistics.median(ratios[name]):11.2f}  "
              f"{people_summary(people[name]):>30}")
    print("  fps per round: " + "; ".join(f"{n} " + ", ".join(f"{s:.1f}" for s in speeds[n]) for n in contenders))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", metavar="CLIP", help="video files (default: bundled + Pose2Sim cam01)")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are printed")
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                        help=f"comma-separated, from: {', '.join(VARIANTS)} ('' = default pipeline only)")
    parser.add_argument("--card", help="also run the default pipeline with this model card (row 'card'), e.g. "
                                         "the earlier default: assets/previous/cascade_light.card.json")
    args = parser.parse_args()
    quiet_library_logs()
    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    contenders = [MediaPipePose.name, "default", *variants] + (["card"] if args.card else [])
    if args.card and not os.path.isfile(args.card):
        parser.error(f"{args.card}: no such model card")
    before = os.getloadavg()
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load average "
          f"{before[0]:.1f} / {before[1]:.1f} / {before[2]:.1f} (1 / 5 / 15 min)")
    for path in args.clips or default_clips():
        if not os.path.isfile(path):
            parser.error(f"{path}: no such file")
        bench_clip(path, contenders, args.frames, args.rounds, args.card)
    after = os.getloadavg()
    print(f"\nload average after: {after[0]:.1f} / {after[1]:.1f} / {after[2]:.1f}; fps on a shared machine are lower bounds")


if __name__ == "__main__":
    main()
