"""Benchmark of `main.py process`: speed on the sample clip and memory over a long (looped) input.

Run: .venv/bin/python -m bench.process [--long-frames 1200] [--synthetic-minutes 10]

- The recorder alone at full length (run first, before any model is loaded, so the peak RSS is its
  own): --synthetic-minutes of 60 fps video with two synthetic people (no inference, so 10 minutes
  take a minute or two): RSS while adding, the peak while close() writes the final JSON and solves
  the BVH files, and the output sizes.
- Speed on the bundled clip (all 100 frames), three runs in this process: decoding only (baseline),
  the pipeline (detect -> pose -> place -> track -> smooth), and the pipeline plus the recorder
  writing JSON + BVH + CSV (what `process` does). Prints fps and ratios to the baseline.
- Memory on a long input: the clip looped (app.sources loop=True) through pipeline + recorder for
  --long-frames frames, sampling the resident set size every 100 frames; flat samples mean frames
  are streamed, not held.
"""

import argparse
import os
import resource
import tempfile
import time

import numpy as np

from app.processor import FrameProcessor, PipelineConfig, iter_results
from app.formats.recording import TrackRecorder
from app.sources import DEFAULT_SAMPLE, open_source
from app.types import SourceInfo
from app.types import CameraIntrinsics, Frame, FrameResult, PersonPose, Track


def rss_mib() -> float:
    """Current resident set size of this process, MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def decode_fps(frames: int) -> float:
    source = open_source(DEFAULT_SAMPLE)
    start = time.perf_counter()
    n = sum(1 for _, _ in zip(range(frames), source))
    source.close()
    return n / (time.perf_counter() - start)


def pipeline_fps(processor: FrameProcessor, frames: int, out_dir: str | None) -> tuple[float, int]:
    """fps of the pipeline over the clip; with out_dir, also recording JSON+BVH+CSV (close() included)."""
    processor.reset()
    source = open_source(DEFAULT_SAMPLE)
    recorder = TrackRecorder(out_dir, SourceInfo.from_source(source)) if out_dir else None
    start = time.perf_counter()
    n = 0
    for result in iter_results(processor, source, frames):
        if recorder:
            recorder.add(result)
        n += 1
    if recorder:
        recorder.close()
    source.close()
    return n / (time.perf_counter() - start), n


def long_run(processor: FrameProcessor, frames: int, out_dir: str) -> list[tuple[int, float]]:
    processor.reset()
    source = open_source(DEFAULT_SAMPLE, loop=True)
    recorder = TrackRecorder(out_dir, SourceInfo.from_source(source), name="long")
    samples = []
    for n, result in enumerate(iter_results(processor, source, frames)):
        recorder.add(result)
        if n % 100 == 0:
            samples.append((n, rss_mib()))
    recorder.close()
    source.close()
    samples.append((frames, rss_mib()))
    return samples


def synthetic_recorder(minutes: float, out_dir: str) -> None:
    fps = 60.0
    frames = int(minutes * 60 * fps)
    camera = CameraIntrinsics(800.0, 800.0, 272.0, 480.0)
    rng = np.random.default_rng(0)
    base = rng.normal(0, 200, (17, 3))
    base[0] = 0
    image = np.zeros((2, 2, 3), np.uint8)
    recorder = TrackRecorder(out_dir, SourceInfo("synthetic_long.mp4", 544, 960, fps, frames), camera,
                             backend_info={"name": "synthetic"})
    add_s, samples = 0.0, []
    for i in range(frames):
        tracks = []
        for person in (1, 2):
            joints = base + 30 * np.sin(i / 20 + person) + rng.normal(0, 5, (17, 3))
            joints[0] = 0
            root = np.array([400.0 * person - 600, 100, 3000 + 10 * np.sin(i / 100)])
            kp = np.concatenate([rng.uniform(0, 500, (17, 2)), np.full((17, 1), 0.9)], axis=1)
            pose = PersonPose(np.array([10.0, 20, 200, 600]), kp, joints, root, 0.9)
            tracks.append(Track(person, pose, i))
        result = FrameResult(Frame(i, i / fps, image), tuple(tracks), camera)
        start = time.perf_counter()
        recorder.add(result)
        add_s += time.perf_counter() - start
        if i % max(frames // 10, 1) == 0:
            samples.append((i, rss_mib()))
    rss_before_close = rss_mib()
    start = time.perf_counter()
    paths = recorder.close()
    close_s = time.perf_counter() - start
    print(f"  {frames} frames x 2 people: add() {1000 * add_s / frames:.3f} ms/frame; "
          f"RSS while adding (MiB): " + ", ".join(f"{n}:{r:.0f}" for n, r in samples))
    print(f"  close() (final JSON + 2 BVH + CSV) {close_s:.1f} s; RSS before close {rss_before_close:.0f} MiB, "
          f"after {rss_mib():.0f} MiB, process peak so far {peak_rss_mib():.0f} MiB")
    print("  files: " + ", ".join(f"{os.path.basename(p)} {os.path.getsize(p) / 2**20:.1f} MiB" for p in paths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100, help="frames for the speed runs (the clip has 100)")
    parser.add_argument("--long-frames", type=int, default=1200, help="frames of the looped clip for the memory run")
    parser.add_argument("--synthetic-minutes", type=float, default=10.0, help="length of the recorder-only run")
    parser.add_argument("--backend", default="mediapipe")
    args = parser.parse_args()
    # Other work on the machine slows the pipeline: the load average puts the fps in context.
    print(f"cores visible: {os.cpu_count()}; backend {args.backend}; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"RSS at start {rss_mib():.0f} MiB")
        # First, before any model is loaded, so that the peak RSS it prints is the recorder's own.
        print(f"recorder alone, {args.synthetic_minutes:g} minutes at 60 fps:")
        synthetic_recorder(args.synthetic_minutes, tmp)
        processor = FrameProcessor(PipelineConfig(backend=args.backend))
        print(f"RSS with models loaded {rss_mib():.0f} MiB")
        base = decode_fps(args.frames)
        list(iter_results(processor, open_source(DEFAULT_SAMPLE), 5))  # warm-up
        pipe, n = pipeline_fps(processor, args.frames, None)
        rec, _ = pipeline_fps(processor, args.frames, tmp)
        print(f"speed on the sample clip ({n} frames, 544x960):")
        print(f"  decode only (baseline) {base:8.1f} fps  1.000")
        print(f"  pipeline               {pipe:8.1f} fps  {pipe / base:.3f} of baseline")
        print(f"  pipeline + recorder    {rec:8.1f} fps  {rec / base:.3f} of baseline, {rec / pipe:.3f} of pipeline")
        if args.long_frames:
            start = time.perf_counter()
            samples = long_run(processor, args.long_frames, tmp)
            rss = [r for _, r in samples]
            print(f"looped clip through pipeline + recorder, {args.long_frames} frames ({args.long_frames / 60:.0f} s of 60 fps video) in "
                  f"{time.perf_counter() - start:.0f} s: RSS first {rss[0]:.0f} MiB, last {rss[-1]:.0f} MiB, "
                  f"max {max(rss):.0f} MiB; every 100 frames: " + ", ".join(f"{r:.0f}" for r in rss))
        processor.close()
    print(f"peak RSS of the whole run {peak_rss_mib():.0f} MiB; load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
