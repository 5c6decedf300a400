"""One input through a loaded processor into motion files: the work `process` and its Ray actors (app.cluster) share.

Both front ends import it from here, so that app.process and app.cluster need not import each other.
"""

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from app.formats.recording import RecordingError, TrackRecorder
from app.processor import FrameProcessor, PipelineConfig, iter_results
from app.sources import SourceError, is_live, open_source
from app.types import SourceInfo
from model.commands import safe_text


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
    skipped: bool = False  # --skip-done found its files finished
    warnings: tuple[str, ...] = ()  # problems that cost part of the input (skipped images)


def process_input(processor: FrameProcessor, config: PipelineConfig, path: str, out_dir: str,
                  formats: tuple[str, ...], name: str, max_frames: int | None,
                  progress: Callable[[int, int | None], None] | None = None, bvh_frame: str = "world",
                  stop_requested: Callable[[], bool] | None = None, seconds: float | None = None) -> InputReport:
    """Run one input through the (already loaded) processor into a TrackRecorder; Ctrl-C ends it with its files finished.

    Never raises for a bad input or a failed write: report.error says what happened (one line).

    progress: called after every frame with (frames done, the input's frames or None) instead of drawing
    a progress bar of its own (a Ray actor reports to the driver's bar with it). stop_requested: checked after
    every frame; True ends the input as Ctrl-C does (app.process.StopSignals.stop_requested). seconds: stop at
    this frame time. A live input (camera, URL; app.sources.is_live) is read until max_frames, seconds or Ctrl-C,
    dropping frames the processor has no time for; a reconnect after a gap is one line on stderr.
    """
    report = InputReport(path)
    if not os.path.lexists(path) and not is_live(path) and ("/" in path or os.sep in path):
        report.error = f"{path}: no such file or folder"
        return report
    try:
        # A bare number is a camera, unless a file or folder of that name exists here.
        source = open_source(os.path.join(".", path) if path.isdigit() and os.path.exists(path) else path,
                             live=config.live)
    except SourceError as exc:
        report.error = str(exc)
        return report
    if source.is_camera:
        source.on_event = lambda line: tqdm.write(f"warning: {line}", file=sys.stderr)
    if source.fallback_reason:  # e.g. a header frame rate that cannot be true, replaced: said, not silent
        tqdm.write(f"note: {safe_text(source.fallback_reason)}", file=sys.stderr)
    processor.reset()
    backend_info = {"name": processor.backend_name, "device": processor.device, "detector": config.detector,
                    "smoothing": config.smoothing, "horizontal_fov_deg": config.horizontal_fov_deg,
                    "calibration": config.calibration.to_dict() if config.calibration is not None else None}
    try:
        recorder = TrackRecorder(out_dir, SourceInfo.from_source(source), None, formats, backend_info, name, bvh_frame)
    except OSError as exc:
        source.close()
        report.error = f"{out_dir}: cannot write there ({exc.strerror or exc})"
        return report
    total = source.frame_count or None
    if max_frames is not None:
        total = min(total, max_frames) if total else max_frames
    bar = tqdm(total=total, desc=safe_text(Path(path).name[:30]), unit="frame", dynamic_ncols=True,
               mininterval=0.5, file=sys.stderr, disable=progress is not None)
    start = time.perf_counter()
    errors = []
    write_failed = False
    try:
        for result in iter_results(processor, source, max_frames):
            if seconds is not None and result.frame.time_s >= seconds:
                break
            recorder.add(result)
            bar.update(1)
            bar.set_postfix(people=sum(1 for t in result.tracks if t.missed == 0), refresh=False)
            if progress is not None:
                progress(recorder.frames_recorded, total)
            if stop_requested is not None and stop_requested():
                raise KeyboardInterrupt
    except SourceError as exc:
        errors.append(str(exc))  # the frames before the break are kept
    except RecordingError as exc:
        errors.append(str(exc))  # the recorder is closed; its partial file keeps the frames written
        write_failed = True
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        bar.close()
        source.close()
    report.warnings = tuple(source.skipped)
    if not write_failed:
        try:
            report.files = tuple(recorder.close())  # also after Ctrl-C or a broken file: finish what was written
        except RecordingError as exc:
            errors.append(str(exc))
    report.error = "; ".join(errors) or None
    report.frames = recorder.frames_recorded
    report.tracks = len(recorder.track_ids)
    report.seconds = time.perf_counter() - start
    return report
