"""Tiny dataset fixtures in the real on-disk formats (3DMPPE JSON files and JPEGs), shared by the model tests."""

import json
import os

import cv2
import numpy as np

from model.net.skeleton import NUM_JOINTS
from model.data.datasets.common import H36M_ACTIONS, project, world_to_camera
from model.data.datasets.mpii import MPII_JOINTS

W, H = 320, 240


def write_json(path, data) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f)


def write_jpg(path, dot_xy=None) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = np.full((H, W, 3), 40, np.uint8)
    if dot_xy is not None:
        x, y = int(round(dot_xy[0])), int(round(dot_xy[1]))
        image[y - 3:y + 4, x - 3:x + 4] = 255
    assert cv2.imwrite(path, image, [cv2.IMWRITE_JPEG_QUALITY, 98])


def h36m_pose() -> np.ndarray:
    """A standing person around the world origin, 17 joints in world mm (z up is irrelevant here)."""
    rng = np.random.default_rng(0)
    pose = rng.normal(0.0, 200.0, (NUM_JOINTS, 3))
    pose[0] = [0.0, 0.0, 0.0]
    return pose


def h36m_camera() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    angle = np.deg2rad(20.0)
    rotation = np.array([[np.cos(angle), 0.0, -np.sin(angle)], [0.0, 1.0, 0.0], [np.sin(angle), 0.0, np.cos(angle)]])
    position = -rotation.T @ np.array([100.0, 50.0, 5000.0])  # the origin sits 5 m in front of the camera
    return rotation, position, np.array([500.0, 500.0]), np.array([160.0, 120.0])


def make_h36m(root) -> None:
    """Seven subjects, one camera, actions 2 and 16, frames 0, 5, 64, 65."""
    rotation, position, focal, centre = h36m_camera()
    pose = h36m_pose()
    image_id = 0
    for subject in (1, 5, 6, 7, 8, 9, 11):
        images, annotations, joints = [], [], {}
        for action in (2, 16):
            joints[str(action)] = {"1": {}}
            folder = f"s_{subject:02d}_act_{action:02d}_subact_01_ca_01"
            for frame in (0, 5, 64, 65):
                world = pose + np.array([frame * 2.0, 0.0, 0.0])
                joints[str(action)]["1"][str(frame)] = world.tolist()
                name = f"{folder}/{folder}_{frame + 1:06d}.jpg"
                uv = project(world_to_camera(world, rotation, position), focal, centre)
                write_jpg(os.path.join(root, "images", name), uv[0])
                box = [*uv.min(axis=0), *(uv.max(axis=0) - uv.min(axis=0))]
                images.append({"id": image_id, "file_name": name, "width": W, "height": H, "subject": subject,
                               "action_name": H36M_ACTIONS[action - 2], "action_idx": action, "subaction_idx": 1,
                               "cam_idx": 1, "frame_idx": frame})
                annotations.append({"id": image_id, "image_id": image_id, "bbox": [float(v) for v in box],
                                    "keypoints_vis": [True] * NUM_JOINTS})
                image_id += 1
        stem = os.path.join(root, "annotations", f"Human36M_subject{subject}")
        write_json(stem + "_data.json", {"images": images, "annotations": annotations})
        write_json(stem + "_camera.json", {"1": {"R": rotation.tolist(), "t": position.tolist(),
                                                   "f": focal.tolist(), "c": centre.tolist()}})
        write_json(stem + "_joint_3d.json", joints)


def keypoints(names, coords, unlabelled=()) -> list[float]:
    """COCO-style flat (x, y, v) keypoints; joints named in `unlabelled` get v = 0."""
    flat = []
    for i, name in enumerate(names):
        x, y = coords(i)
        flat += [0.0, 0.0, 0] if name in unlabelled else [x, y, 2]
    return flat


def make_mpii(root, people: int = 3) -> None:
    """One image with `people` fully labelled MPII people."""
    write_jpg(os.path.join(root, "images", "a.jpg"))
    kps = keypoints(MPII_JOINTS, lambda i: (120.0 + 3 * i, 60.0 + 8 * i))
    write_json(os.path.join(root, "annotations", "train.json"), {
        "images": [{"id": 0, "file_name": "a.jpg", "width": W, "height": H}],
        "annotations": [{"id": k, "image_id": 0, "bbox": [100.0, 50.0, 80.0, 150.0], "num_keypoints": 16,
                         "keypoints": kps} for k in range(people)],
    })
