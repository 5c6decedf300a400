"""Benchmark: headless pipeline FPS and live end-to-end latency on the bundled clip (2 CPU cores).

Prints, for the sample clip:
  decode      OpenCV decoding alone (the baseline every other row is a ratio of)
  headless    FrameProcessor over every frame (no frame dropped): what `process` achieves
  live        the threaded Pipeline with the clip looped and paced at its own 60 fps, as the GUI
              runs it, for --live-seconds: processed FPS, frames dropped, capture-to-result latency
Run: .venv/bin/python -m bench.pipeline [--backend cascade|mediapipe] [--detector default] [--device auto|cpu|cuda]
     [--engine NAME] [--frames 100]
"""

import argparse
import statistics
import time

from app.live import Pipeline
from app.processor import FrameProcessor, PipelineConfig, iter_results
from app.sources import DEFAULT_SAMPLE, open_source


def decode_fps(path: str, frames: int) -> float:
    source = open_source(path)
    start = time.perf_counter()
    n = sum(1 for _, _ in zip(range(frames), source))
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=DEFAULT_SAMPLE)
    parser.add_argument("--backend", default=PipelineConfig().backend)
    parser.add_argument("--detector", default=PipelineConfig().detector)
    parser.add_argument("--device", default=PipelineConfig().device, help="auto, cpu or cuda (cascade backend)")
    parser.add_argument("--engine", default=PipelineConfig().engine, help="force one engine, e.g. torch-cuda")
    parser.add_argument("--detect-every", type=int, default=PipelineConfig().detect_every, help="detector on every Nth frame (0 = automatic)")
    parser.add_argument("--live-seconds", type=float, default=20.0, help="how long the looped live run lasts")
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args()

    options = dict(source=args.source, backend=args.backend, detector=args.detector, device=args.device, engine=args.engine,
                   detect_every=args.detect_every)
    config = PipelineConfig(**options)
    processor = FrameProcessor(config)
    baseline = decode_fps(args.source, args.frames)

    list(iter_results(processor, open_source(args.source), 5))  # warm-up
    processor.reset()
    per_frame, people = [], []
    start = time.perf_counter()
    for result in iter_results(processor, open_source(args.source), args.frames):
        per_frame.append(result.timings_ms)
        people.append(len(result.tracks))
    wall = time.perf_counter() - start
    headless_fps = len(per_frame) / wall

    processor.reset()
    live = []
    pipeline = Pipeline(
        PipelineConfig(**options, realtime=True, loop=True),
        live.append,
        processor=processor,
    )
    start = time.perf_counter()
    pipeline.start()
    time.sleep(args.live_seconds)
    live_wall = time.perf_counter() - start
    dropped = pipeline._slot.dropped
    pipeline.stop()

    def median(key, rows):
        return statistics.median(r[key] for r in rows)

    print(f"clip: {args.source}  backend: {processor.backend_name} on {processor.device}  "
          f"detector: {args.detector} every {processor.detect_every} frame(s)  frames: {len(per_frame)}")
    print(f"{'mode':<10} {'fps':>7} {'ratio to decode':>16} {'median ms/frame':>16} {'median latency ms':>18}")
    print(f"{'decode':<10} {baseline:7.1f} {1.0:16.3f} {1000 / baseline:16.1f} {'-':>18}")
    print(f"{'headless':<10} {headless_fps:7.1f} {headless_fps / baseline:16.3f} "
          f"{median('total', per_frame):16.1f} {'-':>18}")
    live_fps = len(live) / live_wall
    print(f"{'live':<10} {live_fps:7.1f} {live_fps / baseline:16.3f} "
          f"{median('total', [r.timings_ms for r in live]):16.1f} "
          f"{median('latency', [r.timings_ms for r in live]):18.1f}")
    stages = {k: median(k, per_frame) for k in ("detect", "pose", "track")}
    print("headless median stage ms: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    rows = [r.timings_ms for r in live]
    detected = sum(1 for r in rows if r.get("detect", 0.0) > 1.0)
    print("live mean stage ms: " + ", ".join(f"{k} {statistics.mean(r.get(k, 0.0) for r in rows):.1f}"
                                             for k in ("detect", "pose", "track", "motion"))
          + f"; detector ran on {detected} of {len(rows)} live frames")
    print(f"people per frame (mean): {statistics.mean(people):.2f}; live: {len(live)} results, "
          f"{dropped} stale frames dropped")
    processor.close()


if __name__ == "__main__":
    main()
