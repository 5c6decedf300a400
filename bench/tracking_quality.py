"""Benchmark: does the pipeline see each person once, every frame, under one ID? (real clips, no labels needed)

The clips have a known number of foreground people in every frame: the bundled clip and the Pose2Sim
multi-person demo (4 cameras) show 2, the single-person demo (4 cameras) 1; a track whose box is, over
the clip, smaller than FOREGROUND_HEIGHT of the frame (its median height) is a background person and
is ignored. Per track, not per frame: the farther person of multi-person cam03/cam04 is 0.27-0.31 of
the frame tall (their labels), so a per-frame cut counted a correctly sized pose of them as "small" in
some frames and rewarded poses drawn too large. Per clip it prints the frames with exactly
that many foreground tracks, with more (a ghost or the same person twice), with fewer (a miss), the
distinct foreground IDs (more than the people = a track was broken or swapped), the longest run of
frames a track lived on its own predicted region without the detector confirming it, and the mean number
of smaller people tracked per frame (the bundled clip and multi-person cam01 have one far in the
background, about 1.0 when they are seen; a network that rejects small people gives 0 there).
Run: .venv/bin/python -m bench.tracking_quality [--backend cascade|mediapipe] [--frames 100] [--detect-every N (0 = automatic)]
       [--detector mediapipe+ssdlite|ssdlite|...] [--card OTHER.card.json (cascade backend with other weights)]
       [--network-confirms 0|1] [--detector-thread 0|1]
"""

import argparse
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from app.processor import FrameProcessor, PipelineConfig, iter_results
from app.quiet import quiet_library_logs
from app.sources import DEFAULT_SAMPLE, open_source

# Median box height of a track / frame height: the bundled clip's background person is about 0.25, the
# smallest foreground person (multi-person cam03/cam04, from their labels) has a median of 0.29.
FOREGROUND_HEIGHT = 0.27


def clips() -> list[tuple[str, int]]:
    """(path, foreground people) for every clip available offline."""
    found = [(DEFAULT_SAMPLE, 2)]
    try:
        import Pose2Sim
    except ImportError:
        return found
    root = Path(os.path.dirname(Pose2Sim.__file__))
    for demo, people in (("Demo_MultiPerson", 2), ("Demo_SinglePerson", 1)):
        found += [(str(p), people) for p in sorted((root / demo / "videos").glob("cam*.mp4"))]
    return found


def shown(result) -> dict[int, float]:
    """track id -> box height / frame height of every track drawn with a fresh pose in this frame."""
    return {t.track_id: float(t.pose.box_xyxy[3] - t.pose.box_xyxy[1]) / result.frame.height
            for t in result.tracks if t.missed == 0}


def foreground_ids(per_frame: list[dict[int, float]]) -> set[int]:
    """The tracks whose median height over the frames that show them is at least FOREGROUND_HEIGHT."""
    heights: dict[int, list[float]] = {}
    for frame in per_frame:
        for track_id, height in frame.items():
            heights.setdefault(track_id, []).append(height)
    return {track_id for track_id, h in heights.items() if float(np.median(h)) >= FOREGROUND_HEIGHT}


def measure(processor: FrameProcessor, path: str, people: int, frames: int) -> dict:
    processor.reset()
    per_frame = [shown(result) for result in iter_results(processor, open_source(path), frames)]
    ids = foreground_ids(per_frame)
    counts = [len(ids & frame.keys()) for frame in per_frame]
    small = sum(len(frame) for frame in per_frame) - sum(counts)
    return {
        "frames": len(counts),
        "exact": sum(c == people for c in counts),
        "more": sum(c > people for c in counts),
        "fewer": sum(c < people for c in counts),
        "ids": len(ids),
        "roi_run": processor.longest_unconfirmed_run,
        "small": small / max(1, len(counts)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default=PipelineConfig().backend)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--detect-every", type=int, default=PipelineConfig().detect_every, help="0 = automatic")
    parser.add_argument("--detector", default=PipelineConfig().detector, help="app.detection name, 'a+b' = union")
    parser.add_argument("--card", help="run the cascade backend with this model card instead of the shipped one")
    parser.add_argument("--network-confirms", type=int, choices=(0, 1), default=int(PipelineConfig().network_confirms),
                        help="PipelineConfig.network_confirms (a network with a person head)")
    parser.add_argument("--detector-thread", type=int, choices=(0, 1), default=int(PipelineConfig().detector_thread),
                        help="PipelineConfig.detector_thread (the detector on its own thread; timing-dependent)")
    args = parser.parse_args()
    quiet_library_logs()
    config = replace(PipelineConfig(), backend=args.backend, detect_every=args.detect_every, detector=args.detector,
                     network_confirms=bool(args.network_confirms), detector_thread=bool(args.detector_thread))
    backend = None
    if args.card:
        from app.backends.cascade import CascadeBackend

        backend = CascadeBackend(card_path=args.card, engine=config.engine, device=config.device)
    processor = FrameProcessor(config, backend=backend)
    print(f"backend {processor.backend_name}{' (' + args.card + ')' if args.card else ''}, detector {config.detector}"
          f"{' (own thread)' if processor.detector_thread else ''}, detect every {processor.detect_every} frame(s)")
    print(f"{'clip':<28} {'people':>6} {'frames':>6} {'exact':>6} {'more':>5} {'fewer':>6} {'IDs':>4} {'undetected run':>15} {'small/frame':>11}")
    total = {"frames": 0, "exact": 0, "more": 0, "fewer": 0}
    for path, people in clips():
        row = measure(processor, path, people, args.frames)
        for key in total:
            total[key] += row[key]
        name = "/".join(Path(path).parts[-3:]) if "Demo" in path else Path(path).name
        name = name.replace("Demo_", "").replace("/videos", "")
        print(f"{name:<28} {people:>6} {row['frames']:>6} {row['exact']:>6} {row['more']:>5} {row['fewer']:>6} "
              f"{row['ids']:>4} {row['roi_run']:>15} {row['small']:>11.2f}")
    print(f"{'all':<28} {'':>6} {total['frames']:>6} {total['exact']:>6} {total['more']:>5} {total['fewer']:>6}"
          f"   exact {total['exact'] / max(1, total['frames']):.1%}")
    processor.close()


if __name__ == "__main__":
    main()
