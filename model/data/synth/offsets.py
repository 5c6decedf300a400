"""Measures each joint's systematic offset between the body model's joints and the teacher's, on fresh renders.

    python -m model.data.synth.offsets --count 300 [--out model/data/synth/teacher_offsets.json]

The footage labels are the MediaPipe teacher's joints (model/data/teacher: BlazePose -> Human3.6M), triangulated
over views; the synthetic labels come from anny's COCO keypoint regressor mapped the same way
(model/data/synth/labels.py). Where the two definitions differ (where BlazePose puts a hip or a shoulder
inside the body), the network would learn two definitions at once. So: render single people (no
occluders, 2-6 m away), run the teacher on each crop around the person's box, and fit per joint one
constant 3D offset o_j (mm) in the frame of the segment the joint rides on (labels.py):

    teacher_2d_j - label_2d_j  ~=  J_j F_j o_j

J_j (2 x 3) the derivative of the crop projection at the label, F_j the segment frame in camera axes.
A 3D offset in the body's own frame explains the 2D differences in every view and pose with three
numbers per joint (in 2D px it would depend on the view and the person's size), and moving the 3D
label moves its projection consistently. The fit is robust: the teacher's gross errors (flipped
sides, a joint on the wrong limb; it gets extreme poses wrong, ../shared/NOTES.md) are dropped (residual
above 15% of the person's size, or teacher visibility below 0.5), then Huber-weighted least squares.
Pelvis, spine and thorax follow the hips and shoulders by definition; the head top is fitted after the
direct joints (it moves with the thorax).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from model.atomic import atomic_write_text
from model.net.skeleton import JOINT_NAMES, NUM_JOINTS
from model.data.synth.body import OFFSETS_FILE, load_offsets
from model.data.synth.labels import DIRECT, HEAD, apply_offsets

MIN_VISIBILITY = 0.5
MAX_RESIDUAL = 0.15  # of the person's size in the crop: larger differences are teacher mistakes


def projection_jacobian(points_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(..., 2, 3) derivative of K-projection (px) w.r.t. camera-frame position at points (..., 3)."""
    x, y, z = points_cam[..., 0], points_cam[..., 1], points_cam[..., 2]
    fx, fy = K[..., 0, 0], K[..., 1, 1]
    J = np.zeros(points_cam.shape[:-1] + (2, 3))
    J[..., 0, 0] = fx / z
    J[..., 0, 2] = -fx * x / z ** 2
    J[..., 1, 1] = fy / z
    J[..., 1, 2] = -fy * y / z ** 2
    return J


def fit_offset(residual: np.ndarray, A: np.ndarray, iterations: int = 10, huber_px: float = 3.0) -> np.ndarray:
    """Robust least squares: (N, 2) px residuals, (N, 2, 3) px per mm -> (3,) mm offset (Huber weights)."""
    o = np.zeros(3)
    rows, rhs = A.reshape(-1, 3), residual.reshape(-1)
    for _ in range(iterations):
        r = rhs - rows @ o
        err = np.sqrt((r.reshape(-1, 2) ** 2).sum(1)).repeat(2)
        w = np.where(err <= huber_px, 1.0, huber_px / np.maximum(err, 1e-9))
        # A little ridge keeps directions the views barely see from drifting.
        lhs = rows.T @ (rows * w[:, None]) + 1e-3 * np.eye(3)
        o = np.linalg.solve(lhs, rows.T @ (rhs * w))
    return o


def measure(count: int, seed: int = 123, base_mm: np.ndarray | None = None) -> dict:
    """Render `count` single people, run the teacher, fit the offsets; returns the report (see module docstring).

    base_mm: offsets already applied to the labels (zeros: measure from the plain definition; the committed
    ones: check them on other renders, where what is left should be near zero)."""
    import cv2

    from model.data.teacher import BlazePoseCropTeacher
    from model.data.synth.appearance import Effects
    from model.data.synth.body import BodyModel
    from model.data.synth.scene import SceneConfig, SceneMaker

    base = np.zeros((NUM_JOINTS, 3)) if base_mm is None else np.asarray(base_mm, np.float64)
    maker = SceneMaker("train", seed, SceneConfig(others_probs=(1.0,), distance_m=(2.0, 6.0),
                                                  effects=Effects(motion_blur_prob=0.0, noise_prob=0.2)),
                       mocap_cache=os.path.join("out", "synth", "mocap_clips.npz"),
                       body_model=BodyModel(offsets_mm=base))
    teacher = BlazePoseCropTeacher()
    records = []
    start = time.perf_counter()
    try:
        for i in range(count):
            sample = maker.make(i)
            image = cv2.imdecode(np.frombuffer(sample.image_jpeg, np.uint8), cv2.IMREAD_COLOR)
            mask = cv2.imdecode(np.frombuffer(sample.mask_png, np.uint8), cv2.IMREAD_GRAYSCALE)
            ys, xs = np.nonzero(mask)
            if len(xs) < 50:
                continue
            box = np.array([xs.min(), ys.min(), xs.max(), ys.max()], np.float64)
            found = teacher.estimate(image, [box])[0]
            if found is None:
                records.append({"found": False})
                continue
            kp, _ = found
            lab = sample.labels
            records.append({"found": True, "teacher": kp, "label": lab["joints_2d"].astype(np.float64),
                            "cam": (lab["joints_3d"] + lab["root_mm"]).astype(np.float64), "K": lab["K"].astype(np.float64),
                            "frames": lab["frames"].astype(np.float64), "inside": lab["inside"],
                            "size": float(max(box[2] - box[0], box[3] - box[1])),
                            "family": sample.meta["people"][0]["pose"]["family"]})
            if (i + 1) % 50 == 0:
                print(f"offsets: {i + 1}/{count} renders, {(i + 1) / (time.perf_counter() - start):.2f}/s", flush=True)
    finally:
        teacher.close()
        maker.close()
    return fit(records)


def fit(records: list[dict]) -> dict:
    """Fit the offsets on measured records (teacher (17, 3) px + visibility, label (17, 2) px, cam (17, 3) mm,
    K (3, 3), frames (17, 3, 3), inside (17,), size px); returns the report with per-joint numbers."""
    found = [r for r in records if r.get("found")]
    offsets = np.zeros((NUM_JOINTS, 3))
    per_joint: dict = {}

    def residuals(j: int, joints_cam: np.ndarray, r: dict) -> np.ndarray:
        uv = joints_cam[j, :2] / joints_cam[j, 2]
        label = r["K"][:2, :2] @ uv + r["K"][:2, 2]
        return r["teacher"][j, :2] - label

    def collect(j: int, current: np.ndarray):
        res, A, sizes = [], [], []
        for r in found:
            if not r["inside"][j] or r["teacher"][j, 2] < MIN_VISIBILITY:
                continue
            cam = apply_offsets(r["cam"], r["frames"], current, 1.0)
            d = residuals(j, cam, r)
            if np.linalg.norm(d) > MAX_RESIDUAL * r["size"]:
                continue
            res.append(d)
            A.append(projection_jacobian(cam[j], r["K"]) @ r["frames"][j])
            sizes.append(r["size"])
        return np.asarray(res).reshape(-1, 2), np.asarray(A).reshape(-1, 2, 3), np.asarray(sizes)

    for j in list(DIRECT) + [HEAD]:  # the head top last: it moves with the thorax, fitted from the direct joints
        res, A, sizes = collect(j, offsets)
        if len(res) < 10:
            per_joint[JOINT_NAMES[j]] = {"samples": int(len(res)), "offset_mm": [0.0, 0.0, 0.0]}
            continue
        o = fit_offset(res, A)
        offsets[j] = o
        after = res - np.einsum("nab,b->na", A, o)
        per_joint[JOINT_NAMES[j]] = {
            "samples": int(len(res)),
            "offset_mm": [round(float(v), 1) for v in o],
            "offset_norm_mm": round(float(np.linalg.norm(o)), 1),
            "median_px_before": round(float(np.median(np.linalg.norm(res, axis=1))), 2),
            "median_px_after": round(float(np.median(np.linalg.norm(after, axis=1))), 2),
            "mean_px_before": [round(float(v), 2) for v in res.mean(0)],
            "median_person_px": round(float(np.median(sizes)), 1),
        }
    return {
        "offsets_mm": offsets.round(2).tolist(),
        "frame": "each joint's body segment, neutral pose axes: x the person's right, y forward, z up (mm)",
        "joints": per_joint,
        "renders": len(records), "teacher_found": len(found),
        "method": "model/data/synth/offsets.py: robust LSQ of teacher-minus-label 2D on single-person renders",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.data.synth.offsets", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--out", default=OFFSETS_FILE)
    parser.add_argument("--check", action="store_true",
                        help="apply the committed offsets and measure what is left (written to --out, e.g. a /tmp file)")
    args = parser.parse_args(argv)
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    if args.check and os.path.abspath(args.out) == os.path.abspath(OFFSETS_FILE):
        print("error: --check needs another --out than the committed offsets file", file=sys.stderr)
        return 2
    report = measure(args.count, args.seed, load_offsets() if args.check else None)
    atomic_write_text(args.out, json.dumps(report, indent=1) + "\n")
    print(f"{args.out}: teacher found {report['teacher_found']}/{report['renders']}")
    for name, row in report["joints"].items():
        print(f"  {name:11s} {row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
