"""MPII 2D pose reader for the COCO-style train.json of the public 3DMPPE release.

Expected layout:

    ROOT/                          e.g. data/MPII
      images/000001163.jpg ...     (file_name is looked up under ROOT/images/, then under ROOT/)
      annotations/train.json       COCO-style: images {id, file_name, width, height};
                                   annotations {image_id, bbox (x, y, w, h), num_keypoints,
                                   keypoints: 16 x (x, y, v) flattened}

MPII's 16 joints (in the file's order) map to ours as follows:
  pelvis, hips, knees, ankles, shoulders, elbows, wrists: by name;
  thorax <- 'thorax'; head <- 'head top';
  spine  <- midpoint of pelvis and thorax (Human3.6M's spine lies within about 1 cm of it on
            average), valid only when both are labelled;
  nose   -> not labelled: MPII's 'upper neck' sits well below Human3.6M's nose joint.
MPII has no 3D: has_3d is False, so the z and 3D losses are zero for these samples.
"""

import os

from model.data.datasets.common import DatasetError, PoseRecord, coco_index, coco_style_records, read_json, require_dir

MPII_JOINTS: tuple[str, ...] = (
    "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax", "upper_neck",
    "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist",
)
MPII_TO_OURS: dict[str, str] = {
    "pelvis": "pelvis", "r_hip": "r_hip", "r_knee": "r_knee", "r_ankle": "r_ankle",
    "l_hip": "l_hip", "l_knee": "l_knee", "l_ankle": "l_ankle", "thorax": "thorax",
    "head": "head_top", "l_shoulder": "l_shoulder", "l_elbow": "l_elbow", "l_wrist": "l_wrist",
    "r_shoulder": "r_shoulder", "r_elbow": "r_elbow", "r_wrist": "r_wrist",
}


def image_dir(root: str, candidates: tuple[str, ...], first_file: str | None) -> str:
    """The first candidate folder that holds `first_file`; the first candidate if none does."""
    if first_file is not None:
        for folder in candidates:
            if os.path.isfile(os.path.join(folder, first_file)):
                return folder
    return candidates[0]


def load_mpii(root: str, split: str = "train") -> list[PoseRecord]:
    """All labelled people of MPII's training set (the only split the paper uses)."""
    if split != "train":
        raise DatasetError(f"{root}: MPII has only a 'train' split here, got {split!r}")
    require_dir(root, "MPII")
    path = os.path.join(root, "annotations", "train.json")
    images, annotations = coco_index(read_json(path, "MPII annotations"), path)
    first = images[annotations[0]["image_id"]]["file_name"] if annotations else None
    folder = image_dir(root, (os.path.join(root, "images"), root), first)
    return coco_style_records(
        "mpii", path, images, annotations, folder, MPII_JOINTS, MPII_TO_OURS, (("spine", "pelvis", "thorax"),)
    )
