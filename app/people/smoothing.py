"""One-Euro filter (Casiez et al., CHI 2012) over whole arrays: one filter per joint coordinate.

The cutoff frequency adapts to speed: fc = min_cutoff + beta * |dx/dt|. Slow motion gets a low
cutoff (jitter removed), fast motion a high one (little lag). beta has the units of 1/speed, so
pixel and millimetre signals get their own beta.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroConfig:
    """Filter parameters; the defaults were tuned on the bundled clip (README, "Smoothing")."""

    min_cutoff: float = 1.0  # Hz: cutoff when still; lower removes more jitter but lags more
    beta_px: float = 0.01  # 1/(px/s): cutoff increase with 2D speed
    beta_mm: float = 0.002  # 1/(mm/s): cutoff increase with 3D speed
    d_cutoff: float = 1.0  # Hz: cutoff for the speed estimate itself


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * np.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Filters an array signal of fixed shape sampled at increasing times (seconds)."""

    def __init__(self, min_cutoff: float, beta: float, d_cutoff: float):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t = 0.0

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or t <= self._t:
            # First sample, or time did not advance (a repeated frame): pass through and restart.
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = t - self._t
        dx = (x - self._x) / dt
        dx_hat = self._dx + _alpha(self.d_cutoff, dt) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(dx_hat)
        x_hat = self._x + _alpha(cutoff, dt) * (x - self._x)
        self._x, self._dx, self._t = x_hat, dx_hat, t
        return x_hat.copy()


class PoseSmoother:
    """One-Euro filters for one track: 2D keypoints (px), root-relative 3D joints and root (mm)."""

    def __init__(self, config: OneEuroConfig):
        c = config
        self.keypoints = OneEuroFilter(c.min_cutoff, c.beta_px, c.d_cutoff)
        self.joints = OneEuroFilter(c.min_cutoff, c.beta_mm, c.d_cutoff)
        self.root = OneEuroFilter(c.min_cutoff, c.beta_mm, c.d_cutoff)

    def __call__(self, keypoints_2d, joints_3d, root, t: float):
        kp = keypoints_2d.copy()
        kp[:, :2] = self.keypoints(keypoints_2d[:, :2], t)
        return kp, self.joints(joints_3d, t), self.root(root, t)
