"""MuCo-3DHP reader for the public 3DMPPE MuCo-3DHP.json (multi-person composites, 3D).

Expected layout:

    ROOT/                            e.g. data/MuCo
      data/MuCo-3DHP.json            COCO-style: images {id, file_name, width, height, f: (2,), c: (2,)};
                                     annotations {image_id, bbox (x, y, w, h),
                                     keypoints_img: 21 x 2 px, keypoints_cam: 21 x 3 mm}
      data/augmented_set/...jpg      (file_name is relative to ROOT/data/)
      data/unaugmented_set/...jpg

The 21 MPI-INF-3DHP joints map to ours as follows (the same mapping serves MuPoTS-3D):
  pelvis, spine, hips, knees, ankles, shoulders, elbows, wrists: by name;
  thorax <- 'thorax' (MPI's neck joint); head <- 'head_top';
  nose   <- 'head' (MPI's centre of the head, the closest MPI joint; a model trained on MuCo learns
            the head centre there, and MuPoTS' 3DPCK does not score this joint).
Hands and toes are dropped.

Which people of an image become samples: the one closest to the camera, plus every other person
whose root is at least 500 mm from every other person's root both in x-y and in 3D (the rule of
the public 3DMPPE code), so a crop rarely centres on a heavily occluded person.
"""

import os

import numpy as np

from model.net.skeleton import NUM_JOINTS
from model.data.datasets.common import (
    DatasetError, PoseRecord, clip_box, coco_index, map_joints, read_json, require_dir, require_keys,
)

MPI_JOINTS: tuple[str, ...] = (
    "head_top", "thorax", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist",
    "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "pelvis", "spine", "head",
    "r_hand", "l_hand", "r_toe", "l_toe",
)
MPI_TO_OURS: dict[str, str] = {
    "pelvis": "pelvis", "r_hip": "r_hip", "r_knee": "r_knee", "r_ankle": "r_ankle",
    "l_hip": "l_hip", "l_knee": "l_knee", "l_ankle": "l_ankle", "spine": "spine",
    "thorax": "thorax", "nose": "head", "head": "head_top",
    "l_shoulder": "l_shoulder", "l_elbow": "l_elbow", "l_wrist": "l_wrist",
    "r_shoulder": "r_shoulder", "r_elbow": "r_elbow", "r_wrist": "r_wrist",
}
MPI_ROOT = MPI_JOINTS.index("pelvis")
SEPARATION_MM = 500.0


def mpi_record(
    dataset: str, ann: dict, img: dict, image_path: str, focal: np.ndarray, center: np.ndarray,
    path: str, sequence: str = "",
) -> PoseRecord | None:
    """One person of an MPI-joint annotation (MuCo-3DHP or MuPoTS-3D) in our joint order."""
    require_keys(ann, ("bbox", "keypoints_img", "keypoints_cam"), path, "an annotation")
    kp2 = np.asarray(ann["keypoints_img"], dtype=np.float64)
    kp3 = np.asarray(ann["keypoints_cam"], dtype=np.float64)
    names = MPI_JOINTS[: kp2.shape[0]]
    if kp2.shape[0] not in (17, 21) or kp2.shape != (kp3.shape[0], 2) or kp3.shape[1:] != (3,):
        raise DatasetError(f"{path}: expected 17 or 21 MPI joints (x, y) and (X, Y, Z), got "
                           f"{kp2.shape} and {kp3.shape}")
    box = clip_box(np.asarray(ann["bbox"], dtype=np.float64), img["width"], img["height"])
    if box is None:
        return None
    all_valid = np.ones(len(names), dtype=bool)
    joints_2d, valid = map_joints(kp2, all_valid, names, MPI_TO_OURS)
    joints_3d, _ = map_joints(kp3, all_valid, names, MPI_TO_OURS)
    assert valid.all() and joints_3d.shape == (NUM_JOINTS, 3)
    return PoseRecord(
        dataset=dataset, image_path=image_path,
        image_size=(int(img["width"]), int(img["height"])), box_xywh=box,
        joints_2d=joints_2d, valid_2d=valid, joints_3d=joints_3d, valid_3d=valid.copy(),
        has_3d=True, focal=focal, center=center, sequence=sequence,
    )


def separated_people(roots: np.ndarray) -> list[int]:
    """Indices of the people to use, from their (P, 3) root positions in camera mm."""
    if len(roots) == 0:
        return []
    closest = int(np.argmin(roots[:, 2]))
    chosen = [closest]
    for i in range(len(roots)):
        if i == closest:
            continue
        others = np.delete(roots, i, axis=0) - roots[i]
        far_2d = np.linalg.norm(others[:, :2], axis=1) >= SEPARATION_MM
        far_3d = np.linalg.norm(others, axis=1) >= SEPARATION_MM
        if np.all(far_2d & far_3d):
            chosen.append(i)
    return chosen


def load_muco(root: str, split: str = "train") -> list[PoseRecord]:
    """The training people of MuCo-3DHP (its only split)."""
    if split != "train":
        raise DatasetError(f"{root}: MuCo-3DHP has only a 'train' split, got {split!r}")
    require_dir(root, "MuCo-3DHP")
    path = os.path.join(root, "data", "MuCo-3DHP.json")
    images, annotations = coco_index(read_json(path, "MuCo-3DHP annotations"), path)
    by_image: dict[int, list[dict]] = {}
    for ann in annotations:
        require_keys(ann, ("image_id", "keypoints_cam"), path, "an annotation")
        by_image.setdefault(ann["image_id"], []).append(ann)
    records = []
    for image_id, anns in by_image.items():
        img = images[image_id]
        require_keys(img, ("f", "c"), path, "an image entry")
        focal = np.asarray(img["f"], dtype=np.float64).reshape(2)
        center = np.asarray(img["c"], dtype=np.float64).reshape(2)
        roots = np.array([np.asarray(a["keypoints_cam"], dtype=np.float64)[MPI_ROOT] for a in anns])
        for i in separated_people(roots):
            record = mpi_record("muco", anns[i], img, os.path.join(root, "data", img["file_name"]),
                                focal, center, path)
            if record is not None:
                records.append(record)
    return records
