"""`main.py process`: videos or image folders in, JSON / BVH / CSV motion files out, headless, one model for all inputs.

Policy for bad inputs: an input that cannot be opened (missing, not a video, empty folder) gets one
line on stderr and is skipped; a video that breaks mid-way (truncated, corrupt) keeps the files for
the frames decoded before the break and gets one line. The other inputs are processed either way;
the exit code is 1 when any input failed, 130 after Ctrl-C (files so far are finished and kept),
2 when the command itself cannot start (bad option, backend that cannot load), else 0.
"""

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from app.backends.base import BackendError
from app.processor import BACKENDS, FrameProcessor, PipelineConfig, iter_results
from app.formats.recording import FORMATS, TrackRecorder, safe_name
from app.sources import SourceError, open_source
from app.types import SourceInfo

EXIT_OK, EXIT_INPUT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="video files or folders of images")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--backend", choices=BACKENDS, default=PipelineConfig.backend, help="pose backend (default: %(default)s)")
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default=PipelineConfig.device,
                        help="inference device (default %(default)s: the GPU where the backend can use one)")
    parser.add_argument("--engine", default=None,
                        help="cascade backend runtime (tensorrt, onnxruntime, torch, onnxruntime-cpu, ...)")
    parser.add_argument("--detector", default=PipelineConfig.detector,
                        help="person detector: ssdlite, mediapipe, or a union such as mediapipe+ssdlite "
                             "(default %(default)s)")
    parser.add_argument("--detect-every", type=int, default=1, metavar="N",
                        help="run the person detector on every Nth frame only, following tracked people in "
                             "between (faster on a CPU; new people appear up to N-1 frames later); 0 = automatic: every frame with a GPU, every 3rd on a CPU (default %(default)s: recorded files favour accuracy over speed)")
    parser.add_argument("--format", default=",".join(FORMATS),
                        help="comma-separated outputs among json, bvh, csv (default: all)")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N", help="process at most N frames per input")
    parser.add_argument("--fov", type=float, default=60.0, metavar="DEG",
                        help="horizontal field of view of the camera, for metric placement (default: 60)")
    parser.add_argument("--no-smoothing", action="store_true", help="write raw per-frame poses (no One-Euro filter)")
    parser.add_argument("--bvh-frame", choices=("world", "camera"), default="world",
                        help="BVH axes: 'world' (Y up, floor at 0, origin below the camera; the floor is estimated "
                             "from the people's feet) or 'camera' (origin at the camera, its axes turned Y up) "
                             "(default %(default)s)")


@dataclass
class InputReport:
    """What one input produced."""

    path: str
    frames: int = 0
    tracks: int = 0
    files: tuple[str, ...] = ()
    error: str | None = None
    seconds: float = 0.0  # decoding + inference + writing, model loading excluded
    interrupted: bool = False


def _error(message: str) -> None:
    tqdm.write(f"error: {message}", file=sys.stderr)


def parse_formats(text: str) -> tuple[str, ...]:
    formats = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"--format: unknown format(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(FORMATS)}")
    return formats


class _UniqueNames:
    """File stems for the inputs of one run: a second clip.mp4 from another folder becomes clip_2."""

    def __init__(self):
        self.used: set[str] = set()

    def __call__(self, path: str) -> str:
        stem = safe_name(Path(path.rstrip("/\\")).stem)
        name, n = stem, 1
        while name in self.used:
            n += 1
            name = f"{stem}_{n}"
        self.used.add(name)
        return name


def process_input(processor: FrameProcessor, config: PipelineConfig, path: str, out_dir: str,
                  formats: tuple[str, ...], name: str, max_frames: int | None, bvh_frame: str = "world") -> InputReport:
    """Run one input through the (already loaded) processor into a TrackRecorder; Ctrl-C ends it with its files finished."""
    report = InputReport(path)
    if not os.path.exists(path):
        report.error = f"{path}: no such file or folder"
        return report
    try:
        # A bare number would open a camera; an existing file or folder called "0" is meant here.
        source = open_source(os.path.join(".", path) if path.isdigit() else path)
    except SourceError as exc:
        report.error = str(exc)
        return report
    processor.reset()
    backend_info = {"name": processor.backend_name, "device": processor.device, "detector": config.detector,
                    "smoothing": config.smoothing, "horizontal_fov_deg": config.horizontal_fov_deg}
    recorder = TrackRecorder(out_dir, SourceInfo.from_source(source), None, formats, backend_info, name, bvh_frame)
    total = source.frame_count or None
    if max_frames is not None:
        total = min(total, max_frames) if total else max_frames
    bar = tqdm(total=total, desc=Path(path).name[:30], unit="frame", dynamic_ncols=True, mininterval=0.5,
               file=sys.stderr)
    start = time.perf_counter()
    try:
        for result in iter_results(processor, source, max_frames):
            recorder.add(result)
            bar.update(1)
            bar.set_postfix(people=sum(1 for t in result.tracks if t.missed == 0), refresh=False)
    except SourceError as exc:
        report.error = str(exc)  # the frames before the break are kept
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        bar.close()
        source.close()
    report.files = tuple(recorder.close())  # also after Ctrl-C or a broken file: finish what was written
    report.frames = recorder.frames_recorded
    report.tracks = len(recorder.track_ids)
    report.seconds = time.perf_counter() - start
    return report


def run(args: argparse.Namespace) -> int:
    try:
        formats = parse_formats(args.format)
    except ValueError as exc:
        _error(str(exc))
        return EXIT_USAGE
    if args.max_frames is not None and args.max_frames < 1:
        _error("--max-frames must be at least 1")
        return EXIT_USAGE
    if args.detect_every < 0:
        _error("--detect-every must be 0 (automatic) or more")
        return EXIT_USAGE
    config = PipelineConfig(source="", backend=args.backend, device=args.device, engine=args.engine,
                            detector=args.detector, horizontal_fov_deg=args.fov,
                            smoothing=not args.no_smoothing, detect_every=args.detect_every)
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as exc:
        _error(f"{args.out}: cannot create the output folder ({exc.strerror})")
        return EXIT_USAGE
    names = _UniqueNames()
    processor: FrameProcessor | None = None
    reports: list[InputReport] = []
    interrupted = False
    start = time.perf_counter()
    try:
        for path in args.inputs:
            if processor is None and os.path.exists(path):
                try:
                    processor = FrameProcessor(config)  # loaded once, reused for every input
                except BackendError as exc:
                    _error(str(exc))
                    return EXIT_USAGE
            if processor is None:
                reports.append(InputReport(path, error=f"{path}: no such file or folder"))
                _error(reports[-1].error)
                continue
            report = process_input(processor, config, path, args.out, formats, names(path), args.max_frames,
                                   bvh_frame=args.bvh_frame)
            reports.append(report)
            if report.error:
                _error(report.error)
            if report.files:
                tqdm.write(f"{path}: {report.frames} frames, {report.tracks} tracks -> {', '.join(report.files)}")
            if report.interrupted:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        interrupted = True
        tqdm.write("interrupted: files of the frames processed so far are kept", file=sys.stderr)
    finally:
        if processor is not None:
            processor.close()
    elapsed = time.perf_counter() - start
    frames = sum(r.frames for r in reports)
    busy = sum(r.seconds for r in reports)
    failed = sum(1 for r in reports if r.error)
    files = sum(len(r.files) for r in reports)
    print(f"done: {len(reports) - failed - interrupted} of {len(args.inputs)} inputs ok, {frames} frames, "
          f"{frames / max(busy, 1e-9):.1f} fps ({elapsed:.1f} s with model loading), "
          f"{sum(r.tracks for r in reports)} tracks, {files} files in {args.out}"
          + (" (interrupted)" if interrupted else ""))
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_INPUT_FAILED if failed else EXIT_OK
