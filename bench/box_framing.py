"""Benchmark: how large the app's person boxes are next to the joints, and the crop padding that frames people as training did.

    python -m bench.box_framing [--data out/distill] [--every 3]

The network was trained on crops of side 1.25 x the larger side of the box around the 17 labelled
joints, times the augmentation's scale (1 +- 0.25, and a zoom-out up to 1.6 on a quarter of the crops:
model/data/datasets/distill.py): the training framing, whose median this script draws from the same
augmentation (about 1.32 x the joints' box). The app cuts its crops around other boxes: a
detector's box (head top, feet, hands: larger than the joints) or, for every tracked person, the box of
the previous pose (app.processor.keypoint_box: the joints plus 10 % a side). Each is some factor times
the joints' box, so a crop of card padding P x that box shows the person at P x factor of the joints'
box. This script measures each factor on the training views (never the held-out camera 4 of the
multi-person clip): every `--every`-th labelled frame of the Pose2Sim clips, each label matched to the
detector box that overlaps its joints' box most (IoU >= 0.5), the larger sides compared. It prints, per
box source, the median factor and the padding that gives that box the training framing's median
(median framing / factor).
"""

import argparse
import os
import sys

import numpy as np

from model.boxes import best_match


def training_framing(samples: int = 100_000, seed: int = 0) -> np.ndarray:
    """Crop side / joints' box side of `samples` augmented training crops (model.data.datasets.distill.DistillCrops:
    DistillAugment.crop_padding x AugmentConfig's scale x the zoom-out some crops get)."""
    from model.data.augment import AugmentConfig, sample_params
    from model.data.datasets.distill import DistillAugment

    rng = np.random.default_rng(seed)
    augment, extra = AugmentConfig(), DistillAugment()
    out = np.empty(samples)
    for i in range(samples):
        scale = sample_params(augment, rng, (160, 160)).scale
        if rng.random() < extra.zoom_out_prob:
            scale *= rng.uniform(1.0, extra.zoom_out_max)
        out[i] = extra.crop_padding * scale
    return out


def side(box: np.ndarray) -> float:
    return float(max(box[2] - box[0], box[3] - box[1]))


def detector_factors(data: dict, detector, every: int) -> list[float]:
    """Detector box side / joints' box side for each training label the detector finds (IoU >= 0.5)."""
    from app.types import Frame
    from model.data.distill import HOLDOUT_CLIP, HOLDOUT_VIEW, pose2sim_dir, read_video

    factors = []
    for clip in sorted({str(s) for s in data["source"]} - {"vtest"}):
        for view in sorted({str(v) for v in data["view"][data["source"] == clip]}):
            if (clip, view) == (HOLDOUT_CLIP, HOLDOUT_VIEW):
                continue
            rows = np.where((data["source"] == clip) & (data["view"] == view))[0]
            wanted = {int(f) for f in np.unique(data["frame"][rows])[::every]}
            for f, image in read_video(os.path.join(pose2sim_dir(), clip, "videos", f"{view}.mp4")):
                if f not in wanted:
                    continue
                boxes = [d.box_xyxy for d in detector.detect(Frame(f, 0.0, image))]
                for i in rows[data["frame"][rows] == f]:
                    pts = data["joints_2d"][i]
                    joints_box = np.concatenate([pts.min(0), pts.max(0)])
                    best = best_match(boxes, joints_box, 0.5)
                    if best is not None:
                        factors.append(side(boxes[best]) / side(joints_box))
    return factors


def keypoint_box_factors(data: dict) -> list[float]:
    """The app's tracked-person box (keypoint_box of the labelled joints, all confident) / joints' box."""
    from app.processor import keypoint_box

    factors = []
    for pts in data["joints_2d"]:
        kp = np.concatenate([pts, np.ones((len(pts), 1))], axis=1)
        joints_box = np.concatenate([pts.min(0), pts.max(0)])
        factors.append(side(keypoint_box(kp, joints_box)) / side(joints_box))
    return factors


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="out/distill", help="folder written by `python main.py distill`")
    p.add_argument("--every", type=int, default=3, help="every N-th labelled frame of each view")
    p.add_argument("--detectors", default="mediapipe,ssdlite", help="comma-separated app detectors to measure")
    args = p.parse_args(argv)

    from app.detection import make_detector
    from app.quiet import quiet_library_logs
    from model.data.datasets.distill import load_split

    quiet_library_logs()
    path = os.path.join(args.data, "train.npz")
    if not os.path.isfile(path):
        print(f"{path}: missing; run `python main.py distill` first", file=sys.stderr)
        return 1
    data = load_split(path)
    rows = [("keypoint_box (tracked people)", keypoint_box_factors(data))]
    for name in args.detectors.split(","):
        detector = make_detector(name, max_people=6)
        try:
            rows.append((f"detector {name}", detector_factors(data, detector, args.every)))
        finally:
            detector.close()
    framing = training_framing()
    lo, target, hi = np.percentile(framing, [10, 50, 90])
    print(f"training framing, crop side / joints' box side: median {target:.3f} (10th-90th percentile {lo:.3f}-{hi:.3f})")
    print("| box | labels | box side / joints' box side: median (10th-90th percentile) | padding for the training framing |")
    print("| --- | --- | --- | --- |")
    for name, factors in rows:
        f = np.asarray(factors)
        lo, med, hi = np.percentile(f, [10, 50, 90])
        print(f"| {name} | {len(f)} | {med:.3f} ({lo:.3f}-{hi:.3f}) | {target / med:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
