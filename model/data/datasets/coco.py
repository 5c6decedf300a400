"""COCO 2017 person-keypoint reader (person_keypoints_{train,val}2017.json), 2D only.

Expected layout (as in the public 3DMPPE release):

    ROOT/                                          e.g. data/MSCOCO
      images/train2017/000000000009.jpg ...
      images/val2017/...
      annotations/person_keypoints_train2017.json
      annotations/person_keypoints_val2017.json

Annotations: image_id, bbox (x, y, w, h), iscrowd, num_keypoints, keypoints: 17 x (x, y, v).
Crowd boxes and people without keypoints are skipped.

COCO's 17 joints map to ours as follows:
  hips, knees, ankles, shoulders, elbows, wrists, nose: by name;
  pelvis <- midpoint of the hips; thorax <- midpoint of the shoulders (as the public 3DMPPE code
            does; Human3.6M's thorax sits slightly above it);
  spine  <- midpoint of pelvis and thorax (within about 1 cm of Human3.6M's spine on average);
  head   -> not labelled (COCO has eyes and ears, no top of the head).
A derived joint is valid only when both of its sources are labelled.
"""

import os

from model.data.datasets.common import DatasetError, PoseRecord, coco_index, coco_style_records, read_json, require_dir

COCO_JOINTS: tuple[str, ...] = (
    "nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow",
    "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle",
)
COCO_TO_OURS: dict[str, str] = {
    name: name for name in COCO_JOINTS if name not in ("l_eye", "r_eye", "l_ear", "r_ear")
}


def load_coco(root: str, split: str = "train") -> list[PoseRecord]:
    """All non-crowd people with at least one keypoint in COCO train2017 ('train') or val2017 ('val')."""
    if split not in ("train", "val"):
        raise DatasetError(f"{root}: COCO split must be 'train' or 'val', got {split!r}")
    require_dir(root, "COCO")
    path = os.path.join(root, "annotations", f"person_keypoints_{split}2017.json")
    images, annotations = coco_index(read_json(path, "COCO keypoint annotations"), path)
    folder = os.path.join(root, "images", f"{split}2017")
    return coco_style_records(
        "coco", path, images, annotations, folder, COCO_JOINTS, COCO_TO_OURS,
        (("pelvis", "l_hip", "r_hip"), ("thorax", "l_shoulder", "r_shoulder"), ("spine", "pelvis", "thorax")),
    )
