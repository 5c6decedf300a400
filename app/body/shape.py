"""A track's body at rest: anny's phenotypes fitted to the track's constant bone lengths, then its skeleton made exact.

Frames and units: metres, the body frame of model/data/synth/body_asset.py (Y up, the person faces +Z, their
left is +X, soles at Y = 0), joints in model.net.skeleton order; a "lengths" array is (17,) m, entry j the
bone ending at joint j (0 for the root), as app.motion.bones.

Fit: the phenotypes (height, proportions) minimise the squared differences between the body's bone lengths
and the track's, over a grid of values (the asset's phenotype model is piecewise linear: a grid finds the
global minimum, and FIT_STEPS keeps it under a millimetre of bone length). The fitted body's bones still
differ from the track's by what two parameters cannot express (measured on the synthetic walker's bones: up
to about 2 cm), so the rest skeleton is rebuilt along the body's own bone directions with the track's exact
lengths, and every vertex moves with its skinning nodes' joints: the mesh stays around its skeleton, and the
posed joints are the track's joints exactly.
"""

from dataclasses import dataclass

import numpy as np

from model.data.synth.body_asset import BodyAsset
from model.net.skeleton import NUM_JOINTS, PARENTS

FIT_STEPS = 41  # grid values per phenotype, 0..1 (0.025 apart: under 1 mm of thigh length)


@dataclass(frozen=True, eq=False)
class BodyShape:
    """One person's body at rest. phenotypes {name: value 0..1}; vertices (V, 3) float32 m; joints (17, 3) float64 m
    (bone lengths: the track's); faces (F, 3) int32; skin (V, 17) float32 skinning weight of each joint node;
    bone_error_m: the fitted body's worst bone-length difference to the track's before the skeleton was made exact."""

    phenotypes: dict
    vertices: np.ndarray
    joints: np.ndarray
    faces: np.ndarray
    skin: np.ndarray
    bone_error_m: float

    @property
    def height_m(self) -> float:
        """Standing height of the rest body (soles to crown)."""
        return float(np.ptp(self.vertices[:, 1]))


def bone_lengths_m(joints: np.ndarray) -> np.ndarray:
    """(..., 17) length of the bone ending at each joint (0 for the root); joints (..., 17, 3)."""
    parents = np.array(PARENTS)
    parents[0] = 0
    return np.linalg.norm(joints - joints[..., parents, :], axis=-1)


def dense_skin(asset: BodyAsset) -> np.ndarray:
    """(V, 17) float32 skinning weights from the asset's 4 influences per vertex."""
    skin = np.zeros((len(asset.vertices), NUM_JOINTS), np.float32)
    np.add.at(skin, (np.repeat(np.arange(len(skin)), 4), asset.skin_nodes.reshape(-1).astype(np.int64)),
              asset.skin_weights.reshape(-1))
    return skin


def fit_phenotypes(asset: BodyAsset, lengths_m: np.ndarray) -> tuple[dict, float]:
    """Phenotype values whose body's bones come closest to lengths_m (17,) (least squares over a grid), and the
    worst bone difference left (m)."""
    grid = np.linspace(0.0, 1.0, FIT_STEPS)
    values = np.stack(np.meshgrid(*[grid] * len(asset.phenotypes), indexing="ij"), axis=-1).reshape(-1, len(asset.phenotypes))
    joints = np.broadcast_to(asset.joints.astype(np.float64), (len(values), NUM_JOINTS, 3)).copy()
    samples = asset.samples.astype(np.float64)
    for p in range(len(asset.phenotypes)):
        deltas = asset.joint_deltas[p].astype(np.float64).reshape(len(samples), -1)
        per_value = np.stack([np.interp(grid, samples, deltas[:, k]) for k in range(deltas.shape[1])], axis=1)
        index = np.rint(values[:, p] * (FIT_STEPS - 1)).astype(np.int64)
        joints += per_value[index].reshape(-1, NUM_JOINTS, 3)
    difference = bone_lengths_m(joints)[:, 1:] - np.asarray(lengths_m, np.float64)[1:]
    best = int(np.argmin((difference ** 2).sum(axis=1)))
    return dict(zip(asset.phenotypes, values[best].tolist())), float(np.abs(difference[best]).max())


def exact_skeleton(joints: np.ndarray, lengths_m: np.ndarray) -> np.ndarray:
    """(17, 3) joints rebuilt from the root along the bones of `joints` (17, 3) with lengths_m (17,)."""
    out = np.array(joints, dtype=np.float64, copy=True)
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        bone = joints[j] - joints[p]
        out[j] = out[p] + lengths_m[j] * bone / max(np.linalg.norm(bone), 1e-9)
    return out


def fit_shape(asset: BodyAsset, lengths_m: np.ndarray, skin: np.ndarray | None = None) -> BodyShape:
    """The body of a track whose constant bone lengths are lengths_m (17,) m. skin: dense_skin(asset), when already made."""
    skin = dense_skin(asset) if skin is None else skin
    phenotypes, error = fit_phenotypes(asset, lengths_m)
    vertices, joints = asset.shaped(phenotypes)
    exact = exact_skeleton(joints, lengths_m)
    vertices = vertices + skin @ (exact - joints)
    return BodyShape(phenotypes, vertices.astype(np.float32), exact, asset.faces, skin, error)


def live_shape(shape: BodyShape, asset: BodyAsset) -> BodyShape:
    """The same body on the asset's coarser live-view mesh (live_vertices, live_faces): shaped and skinned alike."""
    ids = asset.live_vertices
    return BodyShape(shape.phenotypes, shape.vertices[ids], shape.joints, asset.live_faces,
                     np.ascontiguousarray(shape.skin[ids]), shape.bone_error_m)
