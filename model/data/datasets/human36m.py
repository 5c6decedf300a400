"""Human3.6M reader for the public 3DMPPE annotation files, with the paper's two protocols.

Expected layout (as distributed with the public top-down 3D pose code by Moon et al.):

    ROOT/                                   e.g. data/Human36M
      images/s_09_act_02_subact_01_ca_01/s_09_act_02_subact_01_ca_01_000001.jpg ...
      annotations/Human36M_subject9_data.json      COCO-style: images + annotations
      annotations/Human36M_subject9_camera.json    {cam_idx: {R: 3x3, t: (3,), f: (2,), c: (2,)}}
      annotations/Human36M_subject9_joint_3d.json  {action_idx: {subaction_idx: {frame_idx: 17x3}}}

Image entries carry id, file_name (relative to images/), width, height, subject, action_idx (2..16),
subaction_idx, cam_idx and frame_idx (0-based); annotation entries carry image_id and bbox
(x, y, w, h px). 3D joints are world millimetres in the Human3.6M 17-joint order, which is our order
(model/net/skeleton.py: 'Torso' is our spine, 'Neck' our thorax). Camera space is X_cam = R (X_world - t).

Protocols (the paper's numbering; note that Moon et al.'s code swaps the two names):
  1: train S1, S5, S6, S7, S8; test S9, S11; metric MPJPE (Table 1).
  2: train S1, S5, S6, S7, S8, S9; test S11; metric PA-MPJPE (Table 2).
Every 5th frame is used for training and every 64th for testing. Test boxes are the ground-truth
boxes (the paper's lifting block needs no ground-truth root depth).
"""

import os

import numpy as np

from model.net.skeleton import NUM_JOINTS
from model.data.datasets.common import (
    DatasetError, PoseRecord, clip_box, coco_index, project, read_json, require_dir, require_keys,
    world_to_camera,
)

PROTOCOL_SUBJECTS: dict[int, dict[str, tuple[int, ...]]] = {
    1: {"train": (1, 5, 6, 7, 8), "test": (9, 11)},
    2: {"train": (1, 5, 6, 7, 8, 9), "test": (11,)},
}
PROTOCOL_METRIC: dict[int, str] = {1: "MPJPE", 2: "PA-MPJPE"}
FRAME_STRIDE: dict[str, int] = {"train": 5, "test": 64}
FIRST_ACTION_IDX = 2  # action_idx 2..16 in the annotations map to H36M_ACTIONS[0..14]


def load_human36m(
    root: str, split: str, protocol: int = 1, frame_stride: int | None = None,
) -> list[PoseRecord]:
    """All person records of one split ('train' or 'test') of a protocol (1 or 2).

    frame_stride: keep frames with frame_idx % stride == 0; default 5 for train, 64 for test.
    """
    if protocol not in PROTOCOL_SUBJECTS:
        raise DatasetError(f"{root}: Human3.6M protocol must be 1 or 2, got {protocol}")
    if split not in FRAME_STRIDE:
        raise DatasetError(f"{root}: Human3.6M split must be 'train' or 'test', got {split!r}")
    require_dir(root, "Human3.6M")
    stride = FRAME_STRIDE[split] if frame_stride is None else int(frame_stride)
    records: list[PoseRecord] = []
    for subject in PROTOCOL_SUBJECTS[protocol][split]:
        records.extend(_load_subject(root, subject, stride))
    return records


def _load_subject(root: str, subject: int, stride: int) -> list[PoseRecord]:
    annot_dir = os.path.join(root, "annotations")
    stem = os.path.join(annot_dir, f"Human36M_subject{subject}")
    data_path, cam_path, joint_path = stem + "_data.json", stem + "_camera.json", stem + "_joint_3d.json"
    images, annotations = coco_index(read_json(data_path, f"subject {subject} annotations"), data_path)
    cameras = read_json(cam_path, f"subject {subject} cameras")
    joints_world = read_json(joint_path, f"subject {subject} 3D joints")
    records = []
    for ann in annotations:
        require_keys(ann, ("image_id", "bbox"), data_path, "an annotation")
        img = images[ann["image_id"]]
        require_keys(img, ("subject", "action_idx", "subaction_idx", "cam_idx", "frame_idx"),
                     data_path, "an image entry")
        if int(img["subject"]) != subject or int(img["frame_idx"]) % stride != 0:
            continue
        cam = cameras.get(str(img["cam_idx"]))
        if cam is None:
            raise DatasetError(f"{cam_path}: no camera {img['cam_idx']} for image {img['file_name']}")
        try:
            world = joints_world[str(img["action_idx"])][str(img["subaction_idx"])][str(img["frame_idx"])]
        except KeyError:
            raise DatasetError(f"{joint_path}: no joints for image {img['file_name']}") from None
        world = np.asarray(world, dtype=np.float64)
        if world.shape != (NUM_JOINTS, 3):
            raise DatasetError(f"{joint_path}: expected 17x3 joints, got {world.shape}")
        rotation = np.asarray(cam["R"], dtype=np.float64).reshape(3, 3)
        position = np.asarray(cam["t"], dtype=np.float64).reshape(3)
        focal = np.asarray(cam["f"], dtype=np.float64).reshape(2)
        center = np.asarray(cam["c"], dtype=np.float64).reshape(2)
        joints_cam = world_to_camera(world, rotation, position)
        box = clip_box(np.asarray(ann["bbox"], dtype=np.float64), img["width"], img["height"])
        if box is None:
            continue
        records.append(PoseRecord(
            dataset="human36m",
            image_path=os.path.join(root, "images", img["file_name"]),
            image_size=(int(img["width"]), int(img["height"])),
            box_xywh=box,
            joints_2d=project(joints_cam, focal, center),
            valid_2d=np.ones(NUM_JOINTS, dtype=bool),
            joints_3d=joints_cam,
            valid_3d=np.ones(NUM_JOINTS, dtype=bool),
            has_3d=True,
            focal=focal,
            center=center,
            subject=subject,
            action=int(img["action_idx"]) - FIRST_ACTION_IDX,
        ))
    return records
