"""MuPoTS-3D reader for the public 3DMPPE MuPoTS-3D.json (20 outdoor test sequences, 3D).

Expected layout:

    ROOT/                                     e.g. data/MuPoTS
      data/MuPoTS-3D.json                     COCO-style: images {id, file_name ('TS1/img_000000.jpg'),
                                              width, height, intrinsic: (fx, fy, cx, cy)};
                                              annotations {image_id, bbox (x, y, w, h), is_valid,
                                              keypoints_img: 17 x 2 px, keypoints_cam: 17 x 3 mm}
      data/MultiPersonTestSet/TS1/img_000000.jpg ...

Joints map to ours as for MuCo-3DHP (model/data/datasets/muco.py). Only annotations with is_valid set are
used; every valid person is a sample with its ground-truth box ('all annotated people' mode of the
official evaluation, with perfect detection). The sequence name (TS1..TS20) is kept for the
per-sequence 3DPCK table.
"""

import os

import numpy as np

from model.data.datasets.common import DatasetError, PoseRecord, coco_index, read_json, require_dir, require_keys
from model.data.datasets.muco import mpi_record

MUPOTS_SEQUENCES: tuple[str, ...] = tuple(f"TS{i}" for i in range(1, 21))


def load_mupots(root: str, split: str = "test") -> list[PoseRecord]:
    """All valid annotated people of MuPoTS-3D (its only split, 'test')."""
    if split != "test":
        raise DatasetError(f"{root}: MuPoTS-3D has only a 'test' split, got {split!r}")
    require_dir(root, "MuPoTS-3D")
    path = os.path.join(root, "data", "MuPoTS-3D.json")
    images, annotations = coco_index(read_json(path, "MuPoTS-3D annotations"), path)
    records = []
    for ann in annotations:
        require_keys(ann, ("image_id",), path, "an annotation")
        if not ann.get("is_valid", 1):
            continue
        img = images[ann["image_id"]]
        require_keys(img, ("intrinsic",), path, "an image entry")
        fx, fy, cx, cy = (float(v) for v in img["intrinsic"])
        sequence = img["file_name"].replace("\\", "/").split("/")[0]
        record = mpi_record(
            "mupots", ann, img, os.path.join(root, "data", "MultiPersonTestSet", img["file_name"]),
            np.array([fx, fy]), np.array([cx, cy]), path, sequence=sequence,
        )
        if record is not None:
            records.append(record)
    return records
