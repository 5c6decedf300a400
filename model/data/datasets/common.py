"""The common sample record every dataset reader returns, plus joint mapping and box helpers."""

import json
import os
from dataclasses import dataclass, field

import numpy as np

from model.net.skeleton import JOINT_NAMES, NUM_JOINTS

# The 15 Human3.6M actions in the order of the public annotations (action_idx 2..16) and the
# column abbreviations of the paper's Tables 1-2 (same order).
H36M_ACTIONS: tuple[str, ...] = (
    "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Posing", "Purchases", "Sitting",
    "SittingDown", "Smoking", "Photo", "Waiting", "Walking", "WalkDog", "WalkTogether",
)
H36M_ACTION_COLUMNS: tuple[str, ...] = (
    "Dir.", "Dis.", "Eat", "Gre.", "Phon.", "Pose", "Pur.", "Sit", "SitD.", "Smo.", "Phot.",
    "Wait", "Walk", "WalkD.", "WalkP.",
)


class DatasetError(Exception):
    """A user-facing data problem; its message is one line naming the file and the problem."""


@dataclass(frozen=True)
class PoseRecord:
    """One annotated person in one image, in our 17-joint order (model.net.skeleton).

    joints_2d: (17, 2) float64 px in the original image (x right, y down).
    valid_2d: (17,) bool; False where the dataset lacks the joint or it is unlabelled.
    joints_3d: (17, 3) float64 mm in camera space (x right, y down, z forward), absolute;
        all zeros when has_3d is False.
    valid_3d: (17,) bool; all False when has_3d is False.
    box_xywh: (4,) float64 px, the tight person box from the annotation (not yet padded).
    focal, center: (2,) px camera intrinsics; zeros where unknown (2D-only datasets).
    action: index into H36M_ACTIONS, -1 where not applicable.
    sequence: a grouping name for per-sequence tables (MuPoTS 'TS1'..'TS20'; '' otherwise).
    """

    dataset: str
    image_path: str
    image_size: tuple[int, int]  # (width, height) px from the annotation
    box_xywh: np.ndarray
    joints_2d: np.ndarray
    valid_2d: np.ndarray
    joints_3d: np.ndarray
    valid_3d: np.ndarray
    has_3d: bool
    focal: np.ndarray = field(default_factory=lambda: np.zeros(2))
    center: np.ndarray = field(default_factory=lambda: np.zeros(2))
    subject: int = -1
    action: int = -1
    sequence: str = ""

    def __post_init__(self) -> None:
        assert self.box_xywh.shape == (4,), self.box_xywh.shape
        assert self.joints_2d.shape == (NUM_JOINTS, 2), self.joints_2d.shape
        assert self.valid_2d.shape == (NUM_JOINTS,) and self.valid_2d.dtype == bool
        assert self.joints_3d.shape == (NUM_JOINTS, 3), self.joints_3d.shape
        assert self.valid_3d.shape == (NUM_JOINTS,) and self.valid_3d.dtype == bool
        assert self.has_3d or not self.valid_3d.any(), "2D-only records carry no 3D validity"


def joint_index(name: str) -> int:
    """Index of one of our joints by name (model.net.skeleton.JOINT_NAMES)."""
    return JOINT_NAMES.index(name)


def map_joints(
    source: np.ndarray, source_valid: np.ndarray, source_names: tuple[str, ...],
    mapping: dict[str, str],
) -> tuple[np.ndarray, np.ndarray]:
    """Copy joints from a dataset's order into ours.

    source: (J, D) coordinates in the dataset's order; source_valid: (J,) bool.
    mapping: our joint name -> the dataset's joint name. Joints of ours missing from mapping get
    zeros and valid False. Returns ((17, D), (17,) bool).
    """
    assert source.shape[0] == len(source_names) == source_valid.shape[0], source.shape
    out = np.zeros((NUM_JOINTS, source.shape[1]), dtype=np.float64)
    valid = np.zeros(NUM_JOINTS, dtype=bool)
    for ours, theirs in mapping.items():
        j, k = joint_index(ours), source_names.index(theirs)
        out[j] = source[k]
        valid[j] = bool(source_valid[k])
    return out, valid


def derive_midpoint(
    joints: np.ndarray, valid: np.ndarray, target: str, a: str, b: str,
) -> None:
    """Set joint `target` to the midpoint of joints a and b (in place), valid iff both are."""
    t, ia, ib = joint_index(target), joint_index(a), joint_index(b)
    both = bool(valid[ia] and valid[ib])
    joints[t] = 0.5 * (joints[ia] + joints[ib]) if both else 0.0
    valid[t] = both


def world_to_camera(joints_world: np.ndarray, rotation: np.ndarray, position: np.ndarray) -> np.ndarray:
    """(J, 3) world mm -> (J, 3) camera mm with X_cam = R (X_world - t) (Human3.6M's convention)."""
    return (joints_world - position[None, :]) @ rotation.T


def project(joints_cam: np.ndarray, focal: np.ndarray, center: np.ndarray) -> np.ndarray:
    """(J, 3) camera mm -> (J, 2) px with a pinhole camera."""
    z = np.maximum(joints_cam[:, 2:3], 1e-6)
    return joints_cam[:, :2] / z * focal[None, :] + center[None, :]


def clip_box(box_xywh: np.ndarray, width: int, height: int) -> np.ndarray | None:
    """Clip an (x, y, w, h) box to the image; None if nothing of it is left."""
    x, y, w, h = (float(v) for v in box_xywh)
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(float(width), x + max(0.0, w)), min(float(height), y + max(0.0, h))
    if x2 <= x1 or y2 <= y1:
        return None
    return np.array([x1, y1, x2 - x1, y2 - y1], dtype=np.float64)


def crop_box(box_xywh: np.ndarray, aspect: float = 1.0, padding: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """The crop region for a tight person box: same centre, grown to `aspect` (width/height) without
    squashing the person, then padded by `padding` (1.25 as in the public top-down 3D pose code).

    Returns (centre (2,), size (2,) = (width, height)) in px.
    """
    x, y, w, h = (float(v) for v in box_xywh)
    centre = np.array([x + 0.5 * w, y + 0.5 * h])
    if w > aspect * h:
        h = w / aspect
    else:
        w = h * aspect
    return centre, np.array([w * padding, h * padding])


def read_json(path: str, what: str) -> object:
    """Load a JSON annotation file; a missing or broken file becomes a one-line DatasetError."""
    if not os.path.isfile(path):
        raise DatasetError(f"{path}: {what} not found (see model/README.md for the expected layout)")
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: not valid JSON ({e.__class__.__name__}: {e})") from None


def require_keys(record: dict, keys: tuple[str, ...], path: str, what: str) -> None:
    """One-line DatasetError when an annotation entry lacks a field this reader needs."""
    missing = [k for k in keys if k not in record]
    if missing:
        raise DatasetError(f"{path}: {what} lacks field(s) {', '.join(missing)}")


def coco_index(data: dict, path: str) -> tuple[dict[int, dict], list[dict]]:
    """The images (by id) and annotations of a COCO-style JSON, checked for the basic fields."""
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise DatasetError(f"{path}: expected a COCO-style object with 'images' and 'annotations'")
    images = {}
    for img in data["images"]:
        require_keys(img, ("id", "file_name", "width", "height"), path, "an image entry")
        images[img["id"]] = img
    return images, list(data["annotations"])


def require_dir(path: str, dataset: str) -> None:
    """One-line DatasetError when a dataset folder is missing."""
    if not os.path.isdir(path):
        raise DatasetError(f"{path}: {dataset} folder not found (see model/README.md for the expected layout)")


def coco_style_records(
    dataset: str,
    path: str,
    images: dict[int, dict],
    annotations: list[dict],
    folder: str,
    joint_names: tuple[str, ...],
    to_ours: dict[str, str],
    midpoints: tuple[tuple[str, str, str], ...],
) -> list[PoseRecord]:
    """2D-only records from COCO-style keypoint annotations (COCO itself, and 3DMPPE's MPII).

    Crowd boxes, people without keypoints and annotations of unknown images are skipped;
    midpoints lists (derived, a, b) joints filled in order, each valid when a and b are.
    """
    records = []
    for ann in annotations:
        require_keys(ann, ("image_id", "bbox", "keypoints"), path, "an annotation")
        if ann.get("iscrowd", 0) or ann.get("num_keypoints", 1) == 0 or ann["image_id"] not in images:
            continue
        img = images[ann["image_id"]]
        kps = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
        if kps.shape[0] != len(joint_names):
            raise DatasetError(f"{path}: expected {len(joint_names)} {dataset.upper()} keypoints, got {kps.shape[0]}")
        box = clip_box(np.asarray(ann["bbox"], dtype=np.float64), img["width"], img["height"])
        if box is None:
            continue
        joints, valid = map_joints(kps[:, :2], kps[:, 2] > 0, joint_names, to_ours)
        for derived, a, b in midpoints:
            derive_midpoint(joints, valid, derived, a, b)
        records.append(PoseRecord(
            dataset=dataset,
            image_path=os.path.join(folder, img["file_name"]),
            image_size=(int(img["width"]), int(img["height"])),
            box_xywh=box,
            joints_2d=joints,
            valid_2d=valid,
            joints_3d=np.zeros((len(valid), 3)),
            valid_3d=np.zeros(len(valid), dtype=bool),
            has_3d=False,
        ))
    return records
