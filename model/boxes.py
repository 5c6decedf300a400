"""Box geometry on (4,) x1, y1, x2, y2 pixel boxes: the one module every layer uses for overlaps and point boxes."""

import numpy as np


def box_intersection(a: np.ndarray, b: np.ndarray) -> float:
    """Area shared by two (4,) xyxy boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return float(ix * iy)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (4,) xyxy boxes."""
    inter = box_intersection(a, b)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def best_match(boxes: list[np.ndarray], reference: np.ndarray, min_iou: float) -> int | None:
    """Index of the box in `boxes` that overlaps `reference` most (the first on a tie), or None where none
    reaches an IoU of `min_iou`."""
    overlaps = [box_iou(np.asarray(b), reference) for b in boxes]
    if not overlaps or max(overlaps) < min_iou:
        return None
    return int(np.argmax(overlaps))


def box_inside_fraction(a: np.ndarray, b: np.ndarray) -> float:
    """The fraction of box a's area that lies inside box b (xyxy)."""
    return box_intersection(a, b) / max(float((a[2] - a[0]) * (a[3] - a[1])), 1e-6)


def points_box(points: np.ndarray) -> np.ndarray:
    """(J, >=2) px -> (4,) x1, y1, x2, y2 around the finite points."""
    p = points[:, :2]
    p = p[np.isfinite(p).all(-1)]
    return np.array([*p.min(0), *p.max(0)])
