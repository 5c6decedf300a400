"""Export parity: the same fixed crops through PyTorch and an exported artifact, compared in mm and px.

Tolerances (largest difference over all joints of the fixed batch, Euclidean per joint):
  fp32 artifacts: 1.0 mm on joints_3d and on the uvz depth, 0.1 px on (u, v).
    fp32 runtimes differ only by summation order; ONNX Runtime vs PyTorch on the CPU measured at
    most 0.0011 mm and 0.0018 px (tiny, light and paper configs, random weights), so anything near
    the bound means a wrong graph, not rounding.
  fp16 artifacts: 15 mm on joints_3d / depth, 1.0 px on (u, v).
    fp16 keeps ~3 significant digits through ~100 layers and a softmax over C x H x W cells; a few
    mm and a few tenths of a pixel are expected, 15 mm (about 1/3 of the paper's 48.7 mm MPJPE)
    and one crop pixel would be a visible accuracy loss. Not yet measured on a GPU with TensorRT.
  Confidences (joint_confidence, person_score, both in [0, 1], where the network has them): 0.001
  for fp32, 0.05 for fp16 (a peak mass is a sum of softmax cells, as robust as the soft-argmax).
"""

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from assets import asset_path

SAMPLE_CLIP = asset_path("sample_two_people.mp4")
PARITY_BATCH = 4
PARITY_SEED = 2021


@dataclass(frozen=True)
class Tolerance:
    """Largest accepted difference: mm for 3D joints and depth, px for 2D crop points, and for the
    confidences in [0, 1]."""

    mm: float
    px: float
    confidence: float


TOLERANCES = {"fp32": Tolerance(mm=1.0, px=0.1, confidence=0.001), "fp16": Tolerance(mm=15.0, px=1.0, confidence=0.05)}
CONFIDENCE_OUTPUTS = ("joint_confidence", "person_score")


class ParityError(RuntimeError):
    """An exported artifact disagrees with PyTorch beyond the tolerance; the message is one line."""


@dataclass(frozen=True)
class ParityResult:
    """Largest differences between the reference (PyTorch fp32) and an artifact on the fixed crops."""

    artifact: str
    precision: str
    batch: int
    max_mm: float  # joints_3d, Euclidean per joint
    max_depth_mm: float  # uvz's z
    max_px: float  # uvz's (u, v), Euclidean per joint, crop pixels
    max_confidence: float = 0.0  # joint_confidence and person_score, where the outputs have them

    @property
    def tolerance(self) -> Tolerance:
        return TOLERANCES[self.precision]

    @property
    def ok(self) -> bool:
        tol = self.tolerance
        return (max(self.max_mm, self.max_depth_mm) <= tol.mm and self.max_px <= tol.px
                and self.max_confidence <= tol.confidence)

    def line(self) -> str:
        tol = self.tolerance
        return (
            f"parity {self.artifact} ({self.precision}) vs PyTorch fp32 on {self.batch} fixed crops: "
            f"max joint diff {self.max_mm:.4f} mm, depth {self.max_depth_mm:.4f} mm, 2D {self.max_px:.4f} px, "
            f"confidence {self.max_confidence:.5f} (tolerance {tol.mm:g} mm, {tol.px:g} px, {tol.confidence:g}): "
            f"{'OK' if self.ok else 'FAILED'}"
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(tol_mm=self.tolerance.mm, tol_px=self.tolerance.px, tol_confidence=self.tolerance.confidence,
                 reference="torch-cpu-fp32")
        return d


def fixed_inputs(spec, batch: int = PARITY_BATCH, seed: int = PARITY_SEED) -> np.ndarray:
    """The fixed parity crops (batch, 3, S, S) float32 for an model.net.crop.CropSpec.

    Half are real crops of the bundled two-person clip's first frame (boxes at fixed places), so
    the network sees image statistics; the rest are seeded Gaussian noise. Without the clip, all noise.
    """
    from model.net.crop import cut_crops

    rng = np.random.default_rng(seed)
    size = spec.input_size
    noise = rng.standard_normal((batch, 3, size, size)).astype(np.float32)
    real = _clip_crops(spec, batch // 2, cut_crops)
    if real is None:
        return noise
    return np.concatenate([real, noise[len(real):]]).astype(np.float32)


def _clip_crops(spec, count: int, cut_crops) -> np.ndarray | None:
    if count == 0 or not SAMPLE_CLIP.is_file():
        return None
    import cv2

    capture = cv2.VideoCapture(str(SAMPLE_CLIP))
    ok, frame = capture.read()
    capture.release()
    if not ok:
        return None
    h, w = frame.shape[:2]
    # Tall boxes spread across the frame, like person boxes.
    xs = np.linspace(0.15, 0.85, count) * w
    boxes = np.array([[x - 0.15 * w, 0.2 * h, x + 0.15 * w, 0.9 * h] for x in xs])
    return cut_crops(frame, boxes, spec).images


def compare(artifact: str, precision: str, reference: dict, candidate: dict) -> ParityResult:
    """Largest per-joint differences between two output dicts of the same batch ('uvz', 'joints_3d', and the
    confidence outputs the reference has: the candidate must have them too)."""
    ref_uvz, cand_uvz = np.asarray(reference["uvz"], np.float64), np.asarray(candidate["uvz"], np.float64)
    ref_j, cand_j = np.asarray(reference["joints_3d"], np.float64), np.asarray(candidate["joints_3d"], np.float64)
    assert ref_uvz.shape == cand_uvz.shape and ref_j.shape == cand_j.shape, (ref_uvz.shape, cand_uvz.shape)
    conf = [(np.asarray(reference[k], np.float64), np.asarray(candidate[k], np.float64))
            for k in CONFIDENCE_OUTPUTS if k in reference]
    assert all(r.shape == c.shape for r, c in conf), [(r.shape, c.shape) for r, c in conf]
    if not (np.isfinite(cand_uvz).all() and np.isfinite(cand_j).all() and all(np.isfinite(c).all() for _, c in conf)):
        inf = float("inf")
        return ParityResult(artifact, precision, len(ref_j), inf, inf, inf, inf)
    return ParityResult(
        artifact, precision, len(ref_j),
        max_mm=float(np.linalg.norm(ref_j - cand_j, axis=-1).max()),
        max_depth_mm=float(np.abs(ref_uvz[..., 2] - cand_uvz[..., 2]).max()),
        max_px=float(np.linalg.norm(ref_uvz[..., :2] - cand_uvz[..., :2], axis=-1).max()),
        max_confidence=max((float(np.abs(r - c).max()) for r, c in conf), default=0.0),
    )


def require(result: ParityResult) -> ParityResult:
    """Raise ParityError with the result's line when it is above tolerance."""
    if not result.ok:
        raise ParityError(result.line())
    return result
