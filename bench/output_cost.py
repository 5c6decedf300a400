"""Benchmark: what the preview video and the joint angles (CSV + plots) add to `main.py process` (issue 23: at most 20 %).

Run: .venv/bin/python -m bench.output_cost [--input CLIP] [--frames 100] [--repeats 3]

One process, one loaded pipeline (the default backend and process's detection every frame), the same frames
of one input each time:
- whole runs, as `process` does them (decode -> pipeline -> recorder add per frame -> close), alternating
  `--format json,bvh,csv` (the baseline: what process wrote before) and json,bvh,csv,preview,angles (today's
  default), --repeats times each; prints the median seconds of each and their ratio (<= 1.20 is the goal);
- the recorder alone on results computed once and kept in memory: the seconds each format adds (preview:
  drawing and encoding every frame; angles: the CSV and one plot per track at close, matplotlib's import
  included once), as a share of one pipeline run, a steadier figure than the difference of two whole runs.
Timings need an idle machine; the ratios compare runs in this process only.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

from app.formats.recording import TrackRecorder
from app.processor import FrameProcessor, PipelineConfig, iter_results
from app.sources import DEFAULT_SAMPLE, open_source
from app.types import SourceInfo

BASELINE = ("json", "bvh", "csv")
NEW = ("preview", "angles")


def whole_run(processor: FrameProcessor, path: str, frames: int, formats: tuple[str, ...]) -> tuple[float, list]:
    """Seconds for decode + pipeline + recording of `frames` frames of `path` (close included); the results."""
    processor.reset()
    source = open_source(path)
    results = []
    with tempfile.TemporaryDirectory() as out:
        recorder = TrackRecorder(out, SourceInfo.from_source(source), formats=formats)
        start = time.perf_counter()
        for result in iter_results(processor, source, frames):
            recorder.add(result)
            results.append(result)
        recorder.close()
        seconds = time.perf_counter() - start
    source.close()
    return seconds, results


def recorder_only(path: str, results: list, formats: tuple[str, ...]) -> float:
    """Seconds the recorder takes for these results (add every frame, then close)."""
    source = open_source(path)
    info = SourceInfo.from_source(source)
    source.close()
    with tempfile.TemporaryDirectory() as out:
        recorder = TrackRecorder(out, info, formats=formats)
        start = time.perf_counter()
        for result in results:
            recorder.add(result)
        recorder.close()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default=DEFAULT_SAMPLE, help="video to process (default: the bundled clip)")
    parser.add_argument("--frames", type=int, default=100, help="frames per run (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="whole runs per format set (default %(default)s)")
    args = parser.parse_args()

    processor = FrameProcessor(PipelineConfig(detect_every=1))  # process records with detection every frame
    try:
        whole_run(processor, args.input, min(args.frames, 10), BASELINE)  # warm-up: first inferences are slower
        times: dict[tuple[str, ...], list[float]] = {BASELINE: [], BASELINE + NEW: []}
        results: list = []
        for _ in range(args.repeats):
            for formats in times:  # alternating, so a drift in machine load hits both sets alike
                seconds, results = whole_run(processor, args.input, args.frames, formats)
                times[formats].append(seconds)
    finally:
        processor.close()
    frames = len(results)
    base, full = (statistics.median(times[f]) for f in (BASELINE, BASELINE + NEW))
    print(f"{args.input}: {frames} frames, {args.repeats} runs each, medians")
    print(f"  process, --format {','.join(BASELINE):32s} {base:7.2f} s  {frames / base:6.2f} fps")
    print(f"  process, --format {','.join(BASELINE + NEW):32s} {full:7.2f} s  {frames / full:6.2f} fps")
    print(f"  ratio (with preview and angles / without): x{full / base:.3f}  (goal: <= x1.20)")
    print("recorder alone on the same results (share of one baseline run):")
    def recorder_median(formats: tuple[str, ...]) -> float:
        return statistics.median(recorder_only(args.input, results, formats) for _ in range(args.repeats))

    alone = recorder_median(BASELINE)
    print(f"  {','.join(BASELINE):32s} {alone:7.3f} s  {alone / base:6.1%}")
    for extra in NEW:
        seconds = recorder_median(BASELINE + (extra,)) - alone
        print(f"  + {extra:30s} {seconds:7.3f} s  {seconds / base:6.1%}")
    # Paid once per `process` run that writes plots (this process imported it in its first run already).
    code = ("import time; t = time.perf_counter(); import matplotlib.figure, matplotlib.backends.backend_agg; "
            "print(time.perf_counter() - t)")
    seconds = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    print(f"  matplotlib import, once per run   {seconds:7.3f} s  {seconds / base:6.1%}")


if __name__ == "__main__":
    main()
