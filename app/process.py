"""`main.py process`: videos or image folders in, JSON / BVH / CSV motion files out, headless, one model for all inputs.

Policy for bad inputs: every problem is one line on stderr naming the file, and costs nothing else.
An input that cannot be opened (missing, not a video, empty folder) is skipped; a video that breaks
mid-way (truncated, corrupt) keeps the files for the frames decoded before the break; an unreadable
image in a folder is skipped and the rest processed; a file that cannot be written (full disk, name
too long for the file system) ends that input, its partial JSON Lines file keeping every frame written
before (the line says how many), and the next input runs. Options and the output folder are checked
before any model is loaded. Exit codes: 0 all went well; 1 any input failed or lost something;
2 the command cannot start (bad option, output folder not writable, backend that cannot load, no input exists);
130 after Ctrl-C and 143 after SIGTERM (timeout, docker stop, service managers), both finishing the
files of the frames processed so far.

Reruns: an input's files are named after it (a 200-character stem at most); a rerun into the same
--out replaces that input's files from the earlier run completely (NAME.json, NAME.csv, every
NAME.trackN.bvh and leftover .partial files), when its first frame is written.
"""

import argparse
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from app.backends.base import BackendError
from app.options import add_pipeline_arguments, camera_note, pipeline_config, pipeline_problem
from app.process_input import InputReport, process_input
from app.processor import FrameProcessor, PipelineConfig
from app.sources import is_live, is_url
from app.formats.recording import DEFAULT_FORMATS, FORMATS, recorded_source, recording_finished, safe_name, same_source
from model.commands import UsageError, output_folder, remove_empty_folders, safe_text

EXIT_OK, EXIT_INPUT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="video files or folders of images; or live: a camera (index, /dev/videoN or name) or a "
                             "stream URL (rtsp://, http(s)://), recorded until Ctrl-C, --max-frames or --seconds")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    add_pipeline_arguments(parser, detect_every_default=1, detect_every_note=": recorded files favour accuracy over "
                           "speed", smoothing_help="write raw per-frame poses (no One-Euro filter)")
    parser.add_argument("--format", default=",".join(DEFAULT_FORMATS),
                        help="comma-separated outputs among json, bvh, csv, preview (NAME.preview.mp4: the frames "
                             "with the skeletons drawn), angles (NAME.angles.csv and a plot per track), glb (a "
                             f"skinned body per track, glTF 2.0) (default: {','.join(DEFAULT_FORMATS)})")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N", help="process at most N frames per input")
    parser.add_argument("--seconds", type=float, default=None, metavar="S",
                        help="process at most the first S seconds of each input (live: of recording)")
    parser.add_argument("--bvh-frame", choices=("world", "camera"), default="world",
                        help="BVH axes: 'world' (Y up, floor at 0, origin below the camera; the floor is estimated "
                             "from the people's feet) or 'camera' (origin at the camera, its axes turned Y up) "
                             "(default %(default)s)")
    parser.add_argument("--skip-done", action="store_true",
                        help="skip inputs whose files in --out are finished and read back (resumes a stopped run)")
    cluster = parser.add_argument_group("Ray cluster (the 'cluster' extra: requirements-ray.txt; docs/cluster.md)")
    cluster.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                         help="process the inputs on Ray actors: alone, a Ray started here on all cores; with "
                              "ADDRESS (host:port, auto, ray://host:10001), an existing cluster")
    cluster.add_argument("--workers", type=int, default=0, metavar="N",
                         help="Ray actors (default: as many as the cluster's resources hold, one per input at most)")
    cluster.add_argument("--worker-cpus", type=float, default=1.0, metavar="C",
                         help="CPU cores per actor, also its ONNX Runtime threads (default %(default)s)")
    cluster.add_argument("--worker-gpus", type=float, default=1.0, metavar="G",
                         help="GPUs per actor where the cluster has GPUs; 0.5 puts two actors on one "
                              "(default %(default)s)")


def _error(message: str) -> None:
    tqdm.write(f"error: {safe_text(message)}", file=sys.stderr)  # a file name with a newline stays one line


def parse_formats(text: str) -> tuple[str, ...]:
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(f"--format: unknown format(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(FORMATS)}")
    return formats


@dataclass(frozen=True)
class ProcessOptions:
    """The checked options of one `process` run."""

    inputs: tuple[str, ...]
    out: str
    formats: tuple[str, ...]
    max_frames: int | None
    config: PipelineConfig


def check_options(args: argparse.Namespace) -> ProcessOptions:
    """Every option checked before anything is loaded or written; raises UsageError (one line) for the first bad one."""
    formats = parse_formats(args.format)
    problem = pipeline_problem(args)
    if problem:
        raise UsageError(problem)
    if not args.out.strip():
        raise UsageError("--out: an output folder is needed")
    if args.seconds is not None and not 0 < args.seconds < float("inf"):
        raise UsageError(f"--seconds {args.seconds:g}: must be more than 0")
    config = pipeline_config(args, source="")
    return ProcessOptions(tuple(args.inputs), args.out, formats, args.max_frames, config)


def prepare_output_folder(path: str) -> list[Path]:
    """Create --out if missing and check that files can be written in it (model.commands.output_folder, as every
    command checks its output folder); returns the folders it created, for remove_empty_folders()."""
    return output_folder(path, "--out")


class StopSignals:
    """SIGTERM (timeout, docker stop, service managers) stops a run as Ctrl-C does: KeyboardInterrupt, so that
    the files of the frames processed so far are finished. A second SIGTERM while finishing is ignored (a
    second Ctrl-C is not). The first signal is also remembered (.received), and the frame loop checks it:
    a KeyboardInterrupt raised while Python runs a finaliser (__del__) is printed and dropped, and the run
    would otherwise go on to the end as if nobody had asked it to stop.
    A context manager; signals can only be handled on the main thread (elsewhere it does nothing)."""

    def __init__(self):
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        first = self.received is None
        if first:
            self.received = signum
        if first or signum == signal.SIGINT:
            raise KeyboardInterrupt

    def stop_requested(self) -> bool:
        return self.received is not None

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    @property
    def exit_code(self) -> int:
        return 128 + (self.received or signal.SIGINT)


class _UniqueNames:
    """File stems keyed by the input, not by its sanitised name alone: a second clip.mp4 from another folder
    becomes clip_2, in this run or against files an earlier run left in `out` whose track file names another
    source; two non-ASCII names that both sanitise to "recording" never share files."""

    def __init__(self, out: str):
        self.out = out
        self.used: set[str] = set()

    def __call__(self, path: str) -> str:
        stem = safe_name(Path(path.rstrip("/\\")).stem)
        name, n = stem, 1
        while name in self.used or not self._free_for(name, path):
            n += 1
            name = f"{stem}_{n}"
        self.used.add(name)
        return name

    def _free_for(self, name: str, path: str) -> bool:
        recorded = recorded_source(self.out, name)
        return recorded is None or same_source(recorded, path)


def _is_live_input(path: str) -> bool:
    """A camera (index, /dev/video path, or a name that is no file: no folder, no suffix) or a URL."""
    return is_live(path) or (not os.path.exists(path) and "/" not in path and os.sep not in path
                             and not Path(path).suffix)


def _live_stem(path: str) -> str:
    """File stem for a live input: 'rtsp://127.0.0.1:8554/live' -> 'rtsp_127-0-0-1_8554_live', '0' -> 'camera0'."""
    if is_url(path):
        return "_".join(part for part in path.replace("://", "/").replace(":", "/").replace(".", "-").split("/") if part)
    if path.isdigit() or path.startswith("/dev/video"):
        return "camera" + path.replace("/dev/video", "")
    return path


def _print_report(report: InputReport) -> None:
    for warning in report.warnings:
        tqdm.write(f"warning: {safe_text(warning)}", file=sys.stderr)
    if report.error:
        _error(report.error)
    if report.files:
        tqdm.write(safe_text(f"{report.path}: {report.frames} frames, {report.tracks} tracks -> "
                             f"{', '.join(report.files)}"))


def run(args: argparse.Namespace) -> int:
    try:
        options = check_options(args)
    except UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    config, formats = options.config, options.formats
    if args.workers < 0 or args.worker_cpus <= 0 or args.worker_gpus < 0:
        _error("--workers must be 0 (automatic) or more, --worker-cpus more than 0, --worker-gpus 0 or more")
        return EXIT_USAGE
    if args.ray and os.path.exists(args.ray):
        # `--ray clip.mp4 ...`: argparse took the first input for the optional ADDRESS.
        args.inputs.insert(0, args.ray)
        args.ray = ""
    try:
        created = prepare_output_folder(args.out)  # before any model: a folder that cannot be written stops here
    except UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    try:
        with StopSignals() as stop:
            return _process_all(args, config, formats, stop)
    finally:
        remove_empty_folders(created)  # an early failure leaves no empty --out behind


def _process_all(args: argparse.Namespace, config: PipelineConfig, formats: tuple[str, ...], stop: "StopSignals") -> int:
    names = _UniqueNames(args.out)
    processor: FrameProcessor | None = None
    reports: list[InputReport] = []
    interrupted = False
    start = time.perf_counter()
    jobs: list[tuple[str, str]] = []  # (path, file stem) of the inputs to process, missing ones included
    for path in args.inputs:
        live = _is_live_input(path)
        name = names(_live_stem(path) if live else path) if live or os.path.lexists(path) else ""
        if name and args.skip_done and recording_finished(args.out, name, formats, source=path):
            reports.append(InputReport(path, skipped=True))
            tqdm.write(f"{safe_text(path)}: done before, skipped")
        else:
            jobs.append((path, name))
    none_found = not any(name for _, name in jobs) and len(jobs) == len(args.inputs)  # every input is missing
    if args.ray is not None:
        for path, _ in [job for job in jobs if not job[1]]:
            reports.append(InputReport(path, error=f"{path}: no such file or folder"))
            _error(reports[-1].error)
        jobs = [job for job in jobs if job[1]]
    if args.ray is not None and jobs:
        from app.cluster import ClusterError, RayOptions, process_on_ray

        options = RayOptions(address=args.ray or None, workers=args.workers, cpus_per_worker=args.worker_cpus,
                             gpus_per_worker=args.worker_gpus)
        try:
            done, interrupted = process_on_ray(jobs, args.out, formats, config, args.max_frames, options,
                                               on_report=_print_report, process_kwargs={"bvh_frame": args.bvh_frame})
        except ClusterError as exc:
            _error(str(exc))
            return EXIT_USAGE
        reports += done
        if interrupted:
            tqdm.write("interrupted: finished inputs are kept (--skip-done resumes)", file=sys.stderr)
        jobs = []
    try:
        for path, name in jobs:
            if not name:
                reports.append(InputReport(path, error=f"{path}: no such file or folder"))
                _error(reports[-1].error)
                continue
            if processor is None:
                note = camera_note(config)  # once, as the work starts (not before a bad option or folder)
                if note:
                    tqdm.write(note, file=sys.stderr)
                try:
                    processor = FrameProcessor(config)  # loaded once, reused for every input
                except BackendError as exc:
                    _error(str(exc))
                    return EXIT_USAGE
                except ImportError:
                    if stop.stop_requested():  # Ctrl-C inside a C extension's import (onnxruntime) surfaces so
                        raise KeyboardInterrupt from None
                    raise
            report = process_input(processor, config, path, args.out, formats, name, args.max_frames,
                                   bvh_frame=args.bvh_frame, stop_requested=stop.stop_requested, seconds=args.seconds)
            reports.append(report)
            _print_report(report)
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
    damaged = sum(1 for r in reports if r.warnings and not r.error)
    files = sum(len(r.files) for r in reports)
    skipped = sum(1 for r in reports if r.skipped)
    ok = sum(1 for r in reports if not r.error and not r.interrupted)  # never -1 after Ctrl-C while loading
    print(f"done: {ok} of {len(args.inputs)} inputs ok"
          + (f" ({damaged} with skipped images)" if damaged else "") + f", {frames} frames, "
          f"{frames / max(busy, 1e-9):.1f} fps ({elapsed:.1f} s with model loading), "
          f"{sum(r.tracks for r in reports)} tracks, {files} files in {safe_text(args.out)}"
          + (f", {skipped} skipped (done before)" if skipped else "")
          + (" (interrupted)" if interrupted else ""))
    if interrupted:
        return stop.exit_code
    if none_found:
        return EXIT_USAGE  # nothing to process: bad input, as a missing --source is in the app and `stream`
    return EXIT_INPUT_FAILED if failed or damaged else EXIT_OK
