"""Held-out evaluation of the default cascade weights against the MediaPipe backend, plus CPU speed per crop.

    python -m bench.eval_default_weights [--card CARD | --checkpoint runs/distill/weights.pt]
        [--boxes reference|keypoint|mediapipe|ssdlite]

Data: out/distill/eval.npz from `python main.py distill`: every person triangulated in the Pose2Sim
multi-person clip from cameras 1-3, seen by camera 4 (never used in training; frames >= 65 of that
clip were not used in any view). Both backends get the same person box (the reference joints' box,
grown by 10%; --boxes keypoint: the box the app follows a tracked person with, app.processor.keypoint_box
of the reference joints; --boxes DETECTOR: that app detector's box on the person, None where it misses them)
on the same full camera-4 frame, through their app code paths (CascadeBackend with the
card's engine, or the PyTorch network with model.net.crop for a raw checkpoint; MediaPipeBackend).

Metrics (per person, then averaged over the people both backends return a pose for):
- 2D against the teacher (MediaPipe on the full camera-4 frame): mean pixel error and PCK@0.1 (error
  under 0.1 x the larger side of the box); the same against the multi-view reference reprojected in.
- 3D against the reference triangulated from cameras 1-3, root-relative in camera-4 axes, mm:
  MPJPE (as output), MPJPE after scaling the prediction to the reference's size (least squares),
  and PA-MPJPE (Procrustes with scale).
- Per joint: PCK@0.1 against the multi-view reference of the elbows and wrists (ARM_JOINTS).
- Confidence: the share of joints whose own confidence reaches CONFIDENT (the app's threshold for
  drawing and tracking a joint), and PCK@0.1 against the multi-view reference over those joints only.
Speed: milliseconds per crop on this machine's CPU (torch threads as given), batch 1 and 8, with the
MediaPipe backend's per-person time measured in the same process as the baseline (ratio printed).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from app.people.placement import MIN_CONFIDENCE as CONFIDENT
from model.net.skeleton import ARM_JOINTS, JOINT_NAMES, NUM_JOINTS


def _box(points: np.ndarray, grow: float = 0.1) -> np.ndarray:
    lo, hi = points.min(0), points.max(0)
    pad = grow * (hi - lo).max() / 2
    return np.array([lo[0] - pad, lo[1] - pad, hi[0] + pad, hi[1] + pad])


def _frames(video: str, wanted: set[int]) -> dict[int, np.ndarray]:
    from model.data.distill import read_video

    return {f: img for f, img in read_video(video) if f in wanted}


class CheckpointBackend:
    """A raw training checkpoint run like CascadeBackend (model.net.crop crops, CPU PyTorch), for runs in progress."""

    name = "cascade/torch-checkpoint"

    def __init__(self, path: str) -> None:
        from model.net.crop import CropSpec
        from model.net.checkpoint import load_checkpoint

        ckpt = load_checkpoint(path)
        self.net = ckpt.build_network("cpu").float()
        pre = ckpt.preprocessing
        self.spec = CropSpec(int(pre["input_size"]), pre["channel_order"], float(pre["pixel_scale"]),
                             tuple(pre["pixel_mean"]), tuple(pre["pixel_std"]), float(pre["crop_padding"]),
                             float(pre["crop_aspect"]))

    def estimate(self, frame, detections):
        import torch

        from model.net.crop import crop_to_image, cut_crops

        boxes = np.stack([d.box_xyxy for d in detections])
        batch = cut_crops(frame.image, boxes, self.spec)
        from app.backends.cascade import PERSON_THRESHOLD

        with torch.no_grad():
            outputs = self.net.infer_outputs(torch.from_numpy(batch.images))
        uv = crop_to_image(outputs["uvz"][..., :2].numpy().astype(np.float64), batch.to_crop)
        out = []
        for i in range(len(detections)):
            # As the app's CascadeBackend: crops the person head rejects are no pose.
            if "person_score" in outputs and not float(outputs["person_score"][i]) >= PERSON_THRESHOLD:
                out.append(None)
                continue
            kp = np.concatenate([uv[i], outputs["joint_confidence"][i].numpy()[:, None]], axis=1)
            j = outputs["joints_3d"][i].numpy().astype(np.float64)
            out.append((kp, j - j[0]))
        return out

    def infer_batch(self, n: int) -> None:
        import torch

        with torch.no_grad():
            self.net.infer(torch.zeros(n, 3, self.spec.input_size, self.spec.input_size))

    def close(self) -> None:
        pass


def attach_teacher(records: list[dict], teacher_path: str) -> None:
    """Set each record's teacher_2d to the teacher's full-frame pose nearest to its reference (NaN if none)."""
    from model.data.distill import teacher_poses

    teacher = dict(np.load(teacher_path))
    rows = {int(f): i for i, f in enumerate(teacher["frames"])}
    for rec in records:
        rec["teacher_2d"] = np.full((NUM_JOINTS, 3), np.nan)
        poses = teacher_poses(teacher, rows[int(rec["frame"])])
        if len(poses):
            d = [np.nanmedian(np.linalg.norm(p[:, :2] - rec["joints_2d"], axis=-1)) for p in poses]
            if min(d) < 120.0:  # px; the same person, not the other one
                rec["teacher_2d"] = poses[int(np.argmin(d))]


def pa_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    from model.training.metrics import procrustes_align

    return procrustes_align(pred[None], gt[None])[0]


def scale_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    s = float((pred * gt).sum() / max((pred * pred).sum(), 1e-9))
    return pred * s


def person_metrics(kp: np.ndarray, joints: np.ndarray, rec: dict) -> dict:
    """Errors of one prediction: kp (17, 2+) image px, joints (17, 3) root-relative mm."""
    ref2d, teacher = rec["joints_2d"], rec["teacher_2d"][:, :2]
    lo, hi = ref2d.min(0), ref2d.max(0)
    size = float((hi - lo).max())
    out = {}
    for name, target in (("teacher", teacher), ("reference", ref2d)):
        ok = np.isfinite(target).all(-1)
        if ok.sum() < NUM_JOINTS // 2:
            out[f"px_{name}"], out[f"pck_{name}"] = np.nan, np.nan
            continue
        err = np.linalg.norm(kp[ok, :2] - target[ok], axis=-1)
        out[f"px_{name}"] = float(err.mean())
        out[f"pck_{name}"] = float((err < 0.1 * size).mean())
        if name == "reference":
            # Is the backend's own joint confidence worth showing? The share of joints at or above the app's
            # threshold, and how often those are right (nan where no joint reaches it).
            sure = kp[ok, 2] >= CONFIDENT
            out["confident_share"] = float(sure.mean())
            out["pck_confident"] = float((err[sure] < 0.1 * size).mean()) if sure.any() else np.nan
            # Per joint where people look first (issue 27): right (1) or not (0) against the multi-view joint.
            for joint in ARM_JOINTS:
                j = JOINT_NAMES.index(joint)
                out[f"pck_{joint}"] = float(np.linalg.norm(kp[j, :2] - target[j]) < 0.1 * size) if ok[j] else np.nan
    gt = rec["joints_3d"] - rec["joints_3d"][0]
    pred = joints - joints[0]
    out["mpjpe"] = float(np.linalg.norm(pred - gt, axis=-1).mean())
    out["mpjpe_scaled"] = float(np.linalg.norm(scale_align(pred, gt) - gt, axis=-1).mean())
    out["pa_mpjpe"] = float(np.linalg.norm(pa_align(pred, gt) - gt, axis=-1).mean())
    return out


def detector_boxes(records: list[dict], frames: dict[int, np.ndarray], detector_name: str) -> list[np.ndarray | None]:
    """Per record, the app detector's box that overlaps its reference joints' box most (IoU >= 0.5), or None:
    the box a new person gets in the app (a tracked one gets app.processor.keypoint_box of its last pose)."""
    from app.detection import make_detector
    from app.types import Frame
    from model.boxes import best_match

    detector = make_detector(detector_name, max_people=6)
    found: dict[int, list[np.ndarray]] = {}
    out = []
    try:
        for rec in records:
            f = int(rec["frame"])
            if f not in found:
                found[f] = [d.box_xyxy for d in detector.detect(Frame(f, f / 60.0, frames[f]))]
            ref = rec["joints_2d"]
            best = best_match(found[f], np.concatenate([ref.min(0), ref.max(0)]), 0.5)
            out.append(None if best is None else found[f][best])
    finally:
        detector.close()
    return out


def evaluate(backend, records: list[dict], frames: dict[int, np.ndarray],
             boxes: list[np.ndarray | None] | None = None) -> tuple[dict, list[dict]]:
    """Run `backend` on each record's box (boxes[i], default the reference joints' box grown by 10 %; a
    None box counts as a person the backend did not return)."""
    from app.types import Detection, Frame

    rows = []
    for i, rec in enumerate(records):
        f = int(rec["frame"])
        box = _box(rec["joints_2d"]) if boxes is None else boxes[i]
        if box is None:
            rows.append(None)
            continue
        res = backend.estimate(Frame(f, f / 60.0, frames[f]), [Detection(box, 1.0)])[0]
        if res is None:
            rows.append(None)
            continue
        rows.append(person_metrics(res[0], res[1], rec))
    return summarise(rows), rows


def summarise(rows: list) -> dict:
    found = [r for r in rows if r is not None]
    keys = found[0].keys() if found else []
    out = {k: float(np.nanmean([r[k] for r in found])) for k in keys}
    out["people"] = len(rows)
    out["found"] = len(found)
    return out


def time_per_crop(fn, n: int, repeats: int) -> float:
    fn(n)
    start = time.perf_counter()
    for _ in range(repeats):
        fn(n)
    return 1000.0 * (time.perf_counter() - start) / (repeats * n)


def main(argv: list[str] | None = None) -> int:
    from app.backends.cascade import default_card_path

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--card", default=str(default_card_path()), help="model card (default: the shipped one)")
    p.add_argument("--checkpoint", default="", help="evaluate a raw checkpoint instead of the card")
    p.add_argument("--data", default="out/distill", help="folder written by `python main.py distill`")
    p.add_argument("--threads", type=int, default=2, help="torch threads for the speed test")
    p.add_argument("--no-speed", action="store_true")
    p.add_argument("--json", default="", help="also write the results here")
    p.add_argument("--every", type=int, default=1, help="use every N-th person only (quick checks)")
    p.add_argument("--boxes", default="reference", help="'reference' (the reference joints' box + 10 %%), 'keypoint' "
                   "(the box the app follows a tracked person with: app.processor.keypoint_box of the reference joints) "
                   "or an app detector's name ('mediapipe', 'ssdlite'): its box on each person, as a new person gets")
    args = p.parse_args(argv)

    import torch

    from app.backends.mediapipe import MediaPipeBackend
    from model.data.distill import HOLDOUT_CLIP, HOLDOUT_FROM_FRAME, HOLDOUT_VIEW, load_records, pose2sim_dir

    torch.set_num_threads(args.threads)
    path = os.path.join(args.data, "eval.npz")
    if not os.path.isfile(path):
        print(f"{path}: missing; run `python main.py distill` first", file=sys.stderr)
        return 1
    records = load_records(path)[::args.every]
    video = os.path.join(pose2sim_dir(), HOLDOUT_CLIP, "videos", f"{HOLDOUT_VIEW}.mp4")
    frames = _frames(video, {int(r["frame"]) for r in records})
    if args.checkpoint:
        net_backend = CheckpointBackend(args.checkpoint)
    else:
        from app.backends.cascade import CascadeBackend

        net_backend = CascadeBackend(args.card, device="cpu")
    mp_backend = MediaPipeBackend()
    attach_teacher(records, os.path.join(args.data, "teacher", f"{HOLDOUT_CLIP}_{HOLDOUT_VIEW}.npz"))
    results = {"held_out": f"{HOLDOUT_CLIP} {HOLDOUT_VIEW}, reference triangulated from the other 3 views",
               "network_backend": net_backend.name, "boxes": args.boxes}
    unseen = [i for i, r in enumerate(records) if int(r["frame"]) >= HOLDOUT_FROM_FRAME]
    if args.boxes == "reference":
        boxes = None
    elif args.boxes == "keypoint":
        from app.processor import keypoint_box

        boxes = [keypoint_box(np.concatenate([r["joints_2d"], np.ones((NUM_JOINTS, 1))], axis=1), _box(r["joints_2d"]))
                 for r in records]
    else:
        boxes = detector_boxes(records, frames, args.boxes)
    rows = {name: evaluate(backend, records, frames, boxes)[1]
            for name, backend in (("network", net_backend), ("mediapipe", mp_backend))}
    # Averages over the people both backends returned a pose for (MediaPipe sometimes finds none).
    both = [i for i in range(len(records)) if all(rows[n][i] is not None for n in rows)]
    for name, r in rows.items():
        results[name] = summarise([r[i] for i in both]) | {"found": sum(x is not None for x in r), "people": len(r)}
        results[f"{name}_unseen_frames"] = summarise([r[i] for i in both if i in unseen]) | {
            "found": sum(r[i] is not None for i in unseen), "people": len(unseen)}
    if not args.no_speed:
        from app.types import Detection, Frame

        rec = records[0]
        frame = Frame(0, 0.0, frames[int(rec["frame"])])

        def run_net(n):
            net_backend.estimate(frame, [Detection(_box(rec["joints_2d"]), 1.0)] * n)

        def run_mp(n):
            mp_backend.estimate(frame, [Detection(_box(rec["joints_2d"]), 1.0)] * n)

        base = time_per_crop(run_mp, 1, 10)
        speed = {"mediapipe_ms_per_person": base}
        for n in (1, 8):
            ms = time_per_crop(run_net, n, max(2, 16 // n))
            speed[f"network_ms_per_crop_batch{n}"] = ms
            speed[f"network_vs_mediapipe_batch{n}"] = base / ms
        speed["torch_threads"] = args.threads
        # The machine may be shared: the 1-minute load average says how contended these timings are.
        speed["load_average_1min"] = os.getloadavg()[0]
        speed["cpu_count"] = os.cpu_count()
        results["speed"] = speed
    mp_backend.close()
    net_backend.close()
    print(json.dumps(results, indent=1))
    print(format_table(results))
    if args.json:
        from model.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(results, indent=1))
    return 0


def format_table(results: dict) -> str:
    lines = ["| backend | frames | people found | PCK@0.1 vs teacher | px vs teacher | PCK@0.1 vs multi-view | "
             "px vs multi-view | MPJPE mm | scale-aligned MPJPE mm | PA-MPJPE mm | joints confident | "
             "PCK@0.1 of those |", "|" + " --- |" * 12]
    for key, label in (("network", "cascade (this)"), ("mediapipe", "MediaPipe")):
        for suffix, frames in (("", "all 100"), ("_unseen_frames", ">= 70 only")):
            r = results[key + suffix]
            lines.append(f"| {label} | {frames} | {r['found']}/{r['people']} | {r['pck_teacher']:.3f} | "
                         f"{r['px_teacher']:.1f} | {r['pck_reference']:.3f} | {r['px_reference']:.1f} | "
                         f"{r['mpjpe']:.0f} | {r['mpjpe_scaled']:.0f} | {r['pa_mpjpe']:.0f} | "
                         f"{r['confident_share']:.2f} | {r['pck_confident']:.3f} |")
    lines += ["", "| backend | frames | " + " | ".join(f"PCK@0.1 {j} vs multi-view" for j in ARM_JOINTS) + " |",
              "|" + " --- |" * (2 + len(ARM_JOINTS))]
    for key, label in (("network", "cascade (this)"), ("mediapipe", "MediaPipe")):
        for suffix, frames in (("", "all 100"), ("_unseen_frames", ">= 70 only")):
            r = results[key + suffix]
            lines.append(f"| {label} | {frames} | " + " | ".join(f"{r[f'pck_{j}']:.3f}" for j in ARM_JOINTS) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
