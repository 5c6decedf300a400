"""The pipeline's command-line options, shared by every front end (`process`, the app, `stream`): declared,
checked and turned into a PipelineConfig in one place, so that they read and fail the same everywhere."""

import argparse
import dataclasses
import math

from app.calibration import FOV_HINT, CalibrationError, load_calibration
from app.processor import BACKENDS, PipelineConfig
from app.sources import LiveOptions

DEVICES = ("cpu", "cuda", "auto")
FOV_RANGE_DEG = (5.0, 170.0)  # horizontal field of view accepted (narrower or wider lenses are not pinhole
#                               cameras; 0 or 180 would put everyone at or behind it)


def add_pipeline_arguments(parser: argparse.ArgumentParser, detect_every_default: int = PipelineConfig.detect_every,
                           detect_every_note: str = "", smoothing_help: str = "no One-Euro filter") -> None:
    """--backend, --device, --engine, --detector, --detect-every, --fov, --no-smoothing."""
    parser.add_argument("--backend", choices=BACKENDS, default=PipelineConfig.backend,
                        help="pose backend (default: %(default)s)")
    parser.add_argument("--device", choices=DEVICES, default=PipelineConfig.device,
                        help="inference device (default %(default)s: the GPU where the backend can use one)")
    parser.add_argument("--engine", default=None,
                        help="cascade backend runtime, e.g. tensorrt, onnxruntime, torch, onnxruntime-cpu "
                             "(default: the fastest that runs here)")
    parser.add_argument("--detector", default=PipelineConfig.detector,
                        help="person detector: ssdlite, mediapipe, or a union such as mediapipe+ssdlite "
                             "(default %(default)s)")
    parser.add_argument("--detect-every", type=int, default=detect_every_default, metavar="N",
                        help="run the person detector on every Nth frame only, following tracked people in "
                             "between (faster on a CPU; new people appear up to N-1 frames later); 0 = automatic: "
                             f"every frame with a GPU, every 10th (and at least 4 times a second) on a CPU (default %(default)s{detect_every_note})")
    parser.add_argument("--fov", type=float, default=PipelineConfig.horizontal_fov_deg, metavar="DEG",
                        help="horizontal field of view of the camera in degrees, for metric 3D placement "
                             "(default %(default)s; typical webcams are 55-70)")
    parser.add_argument("--calibration", metavar="FILE[#CAMERA]",
                        help="the camera's intrinsics and lens distortion instead of --fov: OpenCV YAML/XML/JSON "
                             "(camera_matrix, dist_coeffs, image size), Pose2Sim TOML or Qualisys .qca.txt; "
                             "name the camera of a multi-camera file after '#'")
    parser.add_argument("--camera-size", metavar="WxH", help="ask a camera for this frame size, e.g. 1280x720")
    parser.add_argument("--camera-fps", type=float, metavar="N", help="ask a camera for this frame rate")
    parser.add_argument("--no-smoothing", action="store_true", help=smoothing_help)


def pipeline_problem(args: argparse.Namespace) -> str | None:
    """The first problem with the pipeline options (and --max-frames where there is one), as one line, or None.
    Checked before any model loads."""
    max_frames = getattr(args, "max_frames", None)
    if max_frames is not None and max_frames < 1:
        return f"--max-frames {max_frames}: must be at least 1"
    if args.detect_every < 0:
        return f"--detect-every {args.detect_every}: must be 0 (automatic) or more"
    low, high = FOV_RANGE_DEG
    if not (math.isfinite(args.fov) and low <= args.fov <= high):
        return f"--fov {args.fov:g}: must be between {low:g} and {high:g} degrees"
    if args.camera_size is not None and _size(args.camera_size) is None:
        return f"--camera-size {args.camera_size}: give WIDTHxHEIGHT in pixels, e.g. 1280x720"
    if args.camera_fps is not None and not (math.isfinite(args.camera_fps) and 0 < args.camera_fps <= 1000):
        return f"--camera-fps {args.camera_fps:g}: must be more than 0 and at most 1000"
    if args.calibration is not None:
        try:
            load_calibration(args.calibration)
        except CalibrationError as exc:
            return f"--calibration {exc}"
    if args.engine is not None:
        from app.engines import ENGINE_ORDER

        engines = sorted({name for name, _, _ in ENGINE_ORDER} | {runtime for _, runtime, _ in ENGINE_ORDER})
        if args.engine not in engines:
            return f"--engine {args.engine!r}: unknown; choose from {', '.join(engines)}"
    from app.detection import DETECTORS

    detectors = ("default",) + tuple(DETECTORS)
    if not args.detector or any(part not in detectors for part in args.detector.split("+")):
        return f"--detector {args.detector!r}: unknown; choose from {', '.join(detectors)}, or several joined by '+'"
    return None


def pipeline_config(args: argparse.Namespace, **extra) -> PipelineConfig:
    """The PipelineConfig the options ask for; `extra` sets the front end's own fields (source, loop, live, ...)."""
    calibration = load_calibration(args.calibration) if args.calibration else None
    extra.setdefault("live", dataclasses.replace(LiveOptions(), size=_size(args.camera_size or ""),
                                                 fps=args.camera_fps))
    return PipelineConfig(backend=args.backend, device=args.device, engine=args.engine, detector=args.detector,
                          detect_every=args.detect_every, horizontal_fov_deg=args.fov,
                          smoothing=not args.no_smoothing, calibration=calibration, **extra)


def camera_note(config: PipelineConfig) -> str | None:
    """One line for the terminal when placement assumes a camera (no --calibration), else None."""
    if config.calibration is not None:
        return None
    return (f"note: no --calibration: placement assumes a pinhole camera with a {config.horizontal_fov_deg:g} deg "
            f"horizontal field of view and no lens distortion; {FOV_HINT}")


def _size(text: str) -> tuple[int, int] | None:
    """'1280x720' -> (1280, 720); None when it is not two positive whole numbers."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.strip().isdigit() or not height.strip().isdigit():
        return None
    size = (int(width), int(height))
    return size if min(size) > 0 else None
