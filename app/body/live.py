"""Bodies for the live view: one per track, shaped when first seen and again when its bones change, posed per frame.

Frames and units: joints (17, 3) in metres in any Y-up frame (the 3D view's levelled world); the bodies come out
in the same frame. The motion layer's bone lengths settle within the first second of a track and then change
by fractions of a millimetre per frame (app.motion.bones), so a body is re-shaped only when a bone moved by more
than REFIT_M since its last fit: a fit costs a few milliseconds, posing a frame about one (bench/body_cost.py).
The bodies are the asset's coarser live mesh (about 2,500 vertices, 5,000 triangles; body_asset.py): the view's
software renderer rebuilds every body every frame.
"""

from dataclasses import dataclass

import numpy as np

from app.body.pose import RestFrame, posed_bodies, rest_frame
from app.body.shape import BodyShape, bone_lengths_m, dense_skin, fit_shape, live_shape
from model.data.synth.body_asset import BodyAsset, read_body_asset

REFIT_M = 0.01  # re-shape a body when one of its track's bones changed by more than this since the fit


@dataclass(frozen=True, eq=False)
class _Fitted:
    """A track's body: its shape, the bone lengths (17,) m it was fitted to, and its rest frame for posing."""

    shape: BodyShape
    lengths: np.ndarray
    rest: RestFrame


class BodyBank:
    """The bodies of the tracks in view. asset: the body asset (None: read assets/body/anny_body.npz on first use).
    Not thread-safe: one thread (the 3D view's) uses it."""

    def __init__(self, asset: BodyAsset | None = None):
        self._asset = asset
        self._skin: np.ndarray | None = None
        self._bodies: dict[int, _Fitted] = {}

    @property
    def faces(self) -> np.ndarray:
        """(F, 3) int32 triangles shared by every body."""
        return self._load().live_faces

    def _load(self) -> BodyAsset:
        if self._asset is None:
            self._asset = read_body_asset()
        if self._skin is None:
            self._skin = dense_skin(self._asset)
        return self._asset

    def pose(self, people: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        """{track_id: (V, 3) float32 m}: each track's body at its joints (17, 3) m ({track_id: joints}), shaped to
        their bones when first seen or when a bone changed by more than REFIT_M."""
        bodies = []
        for track_id, joints in people.items():
            joints = np.asarray(joints, np.float64)
            lengths = bone_lengths_m(joints)
            fitted = self._bodies.get(track_id)
            if fitted is None or np.abs(lengths - fitted.lengths).max() > REFIT_M:
                shape = live_shape(fit_shape(self._load(), lengths, self._skin), self._asset)
                fitted = self._bodies[track_id] = _Fitted(shape, lengths, rest_frame(shape.joints))
            bodies.append((fitted.shape, fitted.rest, joints))
        return dict(zip(people, posed_bodies(bodies)))

    def keep(self, track_ids) -> None:
        """Forget the bodies of tracks no longer in view."""
        for track_id in set(self._bodies) - set(track_ids):
            del self._bodies[track_id]
