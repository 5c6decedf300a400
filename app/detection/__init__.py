"""Person detection, the first stage of the top-down pipeline: detectors by name, and their union.

Every detector implements app.detection.base.Detector: detect(frame) -> list[Detection], boxes in
full-frame pixels (x1, y1, x2, y2), best score first, at most max_people, after a min-score filter and
NMS. bench/detectors.py compares them on real clips.
"""

from app.detection.base import Detector, DetectorConfig, DetectorError, UnionDetector

DETECTORS = ("ssdlite", "mediapipe", "mediapipe-full")
# The best single detector on the real clips (bench/detectors.py): MediaPipe found both people of the
# bundled clip in 50/50 frames, SSDLite in 10/50; SSDLite is the one for many small people (vtest.avi).
# The pipeline's default is their union, 'mediapipe+ssdlite' (app.processor.PipelineConfig).
DEFAULT_DETECTOR = "mediapipe"


def make_detector(name: str = "default", max_people: int = 6, **options):
    """The detector called `name` ('default', or one of DETECTORS); raises DetectorError (one line).

    'mediapipe' downscales to a MEDIAPIPE_LONG_SIDE px long side; 'mediapipe-full' runs at full
    resolution. options go to DetectorConfig (min_score, nms_iou) or the detector's constructor. The
    union of several ('mediapipe+ssdlite') is app.detection.UnionDetector, built by the pipeline.
    """
    if name == "default":
        name = DEFAULT_DETECTOR
    config_keys = {"min_score", "nms_iou"}
    config = DetectorConfig(max_people=max_people, **{k: v for k, v in options.items() if k in config_keys})
    rest = {k: v for k, v in options.items() if k not in config_keys}
    if name == "ssdlite":
        from app.detection.ssdlite import SSDLiteDetector

        return SSDLiteDetector(config, **rest)
    if name in ("mediapipe", "mediapipe-full"):
        from app.detection.mediapipe import MediaPipeDetector

        if name == "mediapipe-full":
            rest["detect_long_side"] = None
        return MediaPipeDetector(config, **rest)
    raise DetectorError(f"unknown person detector '{name}' (choose from default, {', '.join(DETECTORS)})")


def make_default_detector(name: str, max_people: int, threads: int = 0) -> Detector:
    """The detector called `name`; 'a+b' runs detectors a and b and keeps the union of their boxes.

    threads: ONNX Runtime threads of the SSDLite detector (0 = all cores); MediaPipe has no setting."""
    parts = [make_detector(part, max_people=max_people, **({"num_threads": threads} if part == "ssdlite" else {}))
             for part in name.split("+")]
    return parts[0] if len(parts) == 1 else UnionDetector(parts, max_people)


__all__ = ["DETECTORS", "DEFAULT_DETECTOR", "Detector", "DetectorConfig", "DetectorError", "UnionDetector",
           "make_default_detector", "make_detector"]
