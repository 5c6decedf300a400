"""One skeleton per track: robust constant bone lengths, and a per-frame fit that keeps them exactly.

Frames and units: joints are (17, 3) millimetres in camera axes (x right, y down, z forward), in the
Human3.6M order of model.net.skeleton; a "length" array is (17,) mm, entry j being the length of the bone
that ends at joint j (parent PARENTS[j] -> j), entry 0 (the root) always 0.

The network's per-frame joints have bones whose lengths vary from frame to frame (noise, occlusion,
depth ambiguity). A rig cannot follow that without stretching, so each track gets one set of lengths:
- BoneLengthEstimator: during the first `warmup_s` of a track the estimate is the robust median of the
  lengths seen so far (samples further than 3 MADs from the median ignored); after the warm-up it is
  refined by a running, clipped mean whose weight decays to `min_rate` per frame: it converges, then
  changes slowly (a frame moves a bone by at most min_rate * clip, a fraction of a millimetre). Left and
  right bones share one length (people are near symmetric, and it halves the noise).
- fit_to_lengths: rebuilds the joints root-outwards with the constant lengths; the root stays where it
  was, so the person's placement is kept. keep="directions" (the default): every bone keeps the
  network's direction (child - parent as observed), so the joint rotations a rig receives are exactly
  the network's. keep="positions": each child goes along the direction from its *fitted* parent to its
  observed position, the point at the bone's length closest to it, so position errors do not pile up
  along a limb (closer to the raw joints, about 15 vs 19 mm on a synthetic walk with 8 mm noise), but
  short bones (nose, head, hips) turn by a few degrees per frame. Measured against the truth on that
  walk, "directions" is closer (14.3 vs 16.8 mm, bone directions 3.8 vs 4.6 degrees).
"""

from dataclasses import dataclass

import numpy as np

from model.net.skeleton import FLIP_PAIRS, NUM_JOINTS, PARENTS

MIN_CONFIDENCE = 0.3  # a bone is measured only when both its ends are seen this confidently in 2D
MIN_LENGTH_MM = 10.0  # no bone is shorter (guards a degenerate direction)


@dataclass(frozen=True)
class BoneConfig:
    """How a track's bone lengths are estimated."""

    warmup_s: float = 1.0  # robust median over this much of the track's start
    min_rate: float = 0.003  # weight of a new frame once converged (a memory of about 300 frames)
    clip_mads: float = 3.0  # a sample further than this many MADs from the estimate counts as this far
    min_scale_mm: float = 5.0  # floor of the per-bone spread, so a very steady start does not freeze the estimate
    symmetric: bool = True  # left and right bones share one length
    keep: str = "directions"  # fit_to_lengths: keep the network's bone "directions" or stay near its "positions"


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """(..., 17) length of the bone ending at each joint (0 for the root), mm; joints (..., 17, 3)."""
    joints = np.asarray(joints, dtype=np.float64)
    lengths = np.linalg.norm(joints - joints[..., list(PARENTS), :], axis=-1)
    lengths[..., 0] = 0.0
    return lengths


def bone_mask(keypoints_2d: np.ndarray | None) -> np.ndarray:
    """(17,) bool: which bones (by child joint) are seen well enough to measure; all when no 2D is given."""
    if keypoints_2d is None:
        mask = np.ones(NUM_JOINTS, dtype=bool)
    else:
        conf = np.nan_to_num(np.asarray(keypoints_2d, dtype=np.float64)[:, 2])
        mask = (conf >= MIN_CONFIDENCE) & (conf[list(PARENTS)] >= MIN_CONFIDENCE)
    mask[0] = False
    return mask


def symmetrise(lengths: np.ndarray) -> np.ndarray:
    """(17,) lengths with each left/right pair replaced by its mean."""
    out = np.array(lengths, dtype=np.float64)
    for a, b in FLIP_PAIRS:
        out[a] = out[b] = 0.5 * (out[a] + out[b])
    return out


def _pair_samples(lengths: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left/right bones pooled: a measured bone also counts as a sample of its mirror (NaN where unmeasured)."""
    values = np.where(mask, lengths, np.nan)
    mirrored = values.copy()
    for a, b in FLIP_PAIRS:
        mirrored[a], mirrored[b] = values[b], values[a]
    return values, mirrored


class BoneLengthEstimator:
    """One track's bone lengths, updated frame by frame (see the module docstring).

    update(lengths, t, mask) takes one frame's measured lengths (17,) mm at time t (s) and which bones
    were measured; `lengths` is the current estimate (17,) mm, or None before any bone was measured.
    """

    def __init__(self, config: BoneConfig = BoneConfig()):
        self.config = config
        self._start_t: float | None = None
        self._samples: list[np.ndarray] = []  # warm-up frames, (17,) with NaN for unmeasured bones
        self._estimate: np.ndarray | None = None
        self._scale: np.ndarray | None = None  # per-bone robust spread, mm
        self._count = np.zeros(NUM_JOINTS)  # samples taken per bone after the warm-up
        self.warmed_up = False

    @property
    def lengths(self) -> np.ndarray | None:
        if self._estimate is None:
            return None
        return symmetrise(self._estimate) if self.config.symmetric else self._estimate.copy()

    def update(self, lengths: np.ndarray, t: float, mask: np.ndarray | None = None) -> np.ndarray | None:
        lengths = np.asarray(lengths, dtype=np.float64)
        mask = np.ones(NUM_JOINTS, dtype=bool) if mask is None else np.asarray(mask, dtype=bool).copy()
        mask &= np.isfinite(lengths) & (lengths > MIN_LENGTH_MM)
        mask[0] = False
        if self._start_t is None:
            self._start_t = t
        values, mirrored = _pair_samples(lengths, mask)
        if not self.warmed_up:
            self._samples.append(values)
            if self.config.symmetric:
                self._samples.append(mirrored)
            self._estimate, self._scale = _robust_median(np.array(self._samples), self._estimate)
            if t - self._start_t >= self.config.warmup_s:
                self.warmed_up = True
                self._count[:] = len(self._samples)
                self._samples = []
            return self.lengths
        for sample in (values, mirrored) if self.config.symmetric else (values,):
            seen = np.isfinite(sample)
            scale = np.maximum(self._scale, self.config.min_scale_mm)
            step = np.clip(np.nan_to_num(sample - self._estimate), -self.config.clip_mads * scale,
                           self.config.clip_mads * scale)
            self._count += seen
            rate = np.maximum(1.0 / np.maximum(self._count, 1.0), self.config.min_rate)
            self._estimate = np.where(seen, self._estimate + rate * step, self._estimate)
        return self.lengths


def _nan_median(samples: np.ndarray) -> np.ndarray:
    """(17,) median of each column of samples (N, 17), NaNs left out (NaN where a column has none).

    np.nanmedian goes through masked arrays and costs about a millisecond here; this runs every warm-up frame.
    """
    ordered = np.sort(samples, axis=0)  # NaNs sort last
    count = np.isfinite(samples).sum(axis=0)
    columns = np.arange(samples.shape[1])
    low = ordered[np.maximum((count - 1) // 2, 0), columns]
    high = ordered[np.maximum(count // 2, 0), columns]
    return np.where(count > 0, 0.5 * (low + high), np.nan)


def _robust_median(samples: np.ndarray, previous: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per bone: median of the samples within 3 MADs of the plain median, and the MAD (scaled to a std), mm.

    samples (N, 17) with NaN for unmeasured bones; a bone never measured keeps `previous` (or 0).
    """
    median = _nan_median(samples)
    deviation = np.abs(samples - median)
    mad = 1.4826 * _nan_median(deviation)
    with np.errstate(invalid="ignore"):
        keep = deviation <= 3.0 * np.maximum(np.nan_to_num(mad), 1.0)
    robust = _nan_median(np.where(keep, samples, np.nan))
    fallback = np.zeros(NUM_JOINTS) if previous is None else previous
    robust = np.where(np.isfinite(robust), robust, fallback)
    robust[0] = 0.0
    return robust, np.nan_to_num(mad)


def fit_to_lengths(joints: np.ndarray, lengths: np.ndarray, keep: str = "directions") -> np.ndarray:
    """Joints (..., 17, 3) mm rebuilt root-outwards with bone lengths `lengths` (17,) mm kept exactly.

    Each child goes to its fitted parent + length * a unit direction: the observed bone's (keep="directions")
    or the one from the fitted parent to the observed child (keep="positions"); the root keeps its
    position. A bone whose direction is undefined (child on its parent) takes its parent bone's direction.
    """
    if keep not in ("directions", "positions"):
        raise ValueError(f"keep must be 'directions' or 'positions', got '{keep}'")
    joints = np.asarray(joints, dtype=np.float64)
    if keep == "directions":
        return _fit_directions(joints, np.asarray(lengths, dtype=np.float64))
    out = np.empty_like(joints)
    out[..., 0, :] = joints[..., 0, :]
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        d = joints[..., j, :] - (joints[..., p, :] if keep == "directions" else out[..., p, :])
        norm = np.linalg.norm(d, axis=-1, keepdims=True)
        fallback = out[..., p, :] - out[..., PARENTS[p], :] if p > 0 else np.array([0.0, -1.0, 0.0])
        fallback = fallback / np.maximum(np.linalg.norm(fallback, axis=-1, keepdims=True), 1e-9)
        unit = np.where(norm > 1e-6, d / np.maximum(norm, 1e-9), fallback)
        out[..., j, :] = out[..., p, :] + lengths[j] * unit
    return out


def _ancestors() -> np.ndarray:
    """(17, 17) 0/1: entry [j, k] = 1 when the bone ending at joint k lies on the path from the root to joint j."""
    a = np.zeros((NUM_JOINTS, NUM_JOINTS))
    for j in range(1, NUM_JOINTS):
        k = j
        while k > 0:
            a[j, k] = 1.0
            k = PARENTS[k]
    return a


ANCESTORS = _ancestors()


def _fit_directions(joints: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """fit_to_lengths(keep="directions") in one step: every joint = root + the sum of its ancestor bones, each
    the observed unit direction times its length (a sum over the tree, no loop: it runs every frame)."""
    bones = joints - joints[..., list(PARENTS), :]
    norm = np.linalg.norm(bones, axis=-1, keepdims=True)
    units = bones / np.maximum(norm, 1e-9)
    degenerate = norm[..., 0] <= 1e-6
    degenerate[..., 0] = False
    if degenerate.any():  # rare: a joint on its parent takes the parent bone's direction (root-outwards)
        for j in range(1, NUM_JOINTS):
            p = PARENTS[j]
            fallback = units[..., p, :] if p > 0 else np.array([0.0, -1.0, 0.0])
            units[..., j, :] = np.where(degenerate[..., j, None], fallback, units[..., j, :])
    units[..., 0, :] = 0.0
    return joints[..., :1, :] + np.einsum("jk,...kc->...jc", ANCESTORS, units * lengths[:, None])


def reprojection_px(joints_camera: np.ndarray, keypoints_2d: np.ndarray, fx: float, fy: float, cx: float,
                    cy: float) -> np.ndarray:
    """(..., 17) image distance (px) between absolute camera joints (..., 17, 3) mm and keypoints (..., 17, 2+)."""
    z = np.maximum(joints_camera[..., 2], 1.0)
    u = fx * joints_camera[..., 0] / z + cx
    v = fy * joints_camera[..., 1] / z + cy
    return np.hypot(u - keypoints_2d[..., 0], v - keypoints_2d[..., 1])
