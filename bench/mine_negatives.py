"""Crops for the person-score head: background crops, person-detector false positives, and detector boxes on people.

    python -m bench.mine_negatives [--distill out/distill] [--out out/negatives] [--only NAME,NAME] [--straddles] [--pictures]

Each video's crops are kept in OUT/parts/NAME.npz (a rerun skips finished videos; several processes
with --only can share the work); the split files are then rebuilt from all parts.

Needs the distillation set's caches (`python main.py distill`): the teacher's people per frame and the
multi-view labels say where people are. Writes OUT/train.npz and OUT/heldout.npz, each with
  crops  (N, S, S, 3) uint8 BGR, cut from the frame exactly as the app cuts a person box
         (model.net.crop: square, padded by 1.25; S = 192, the light network's input),
  boxes  (N, 4) the box in frame px, kind (N,) 'background', 'false_positive', 'straddle' or 'person', score (N,) the
         detector's score (0 for background crops), source (N,) video name, frame (N,) frame index.
Held out (never in train.npz): camera 4 of both Pose2Sim clips and vtest.avi frames >= VTEST_HELDOUT_FROM.

Detector false positives: the shipped detectors (SSDLite and MediaPipe's, as the pipeline runs them, but
with min_score FP_MIN_SCORE) on every frame; a box is a false positive when it overlaps no person known
in that frame or the PERSON_WINDOW frames around it (teacher poses and multi-view labels, boxes grown by
GROW) by more than MAX_OVERLAP of either box, and, on vtest.avi (whose many small pedestrians the teacher
misses), when less than MAX_MOVING of its pixels differ from the clip's temporal median (a static
background: a pedestrian inside the box would differ). The same static thing found again within
REPEAT_FRAMES frames (IoU > 0.7) is kept once.
People (the positives the app's crops look like): a detector box whose IoU with a person known in that
very frame (a teacher pose or a multi-view label, box grown by GROW) is at least PERSON_IOU. They include
people the multi-view labels miss (the third person far in the background of the multi-person clip, the
small pedestrians of vtest.avi), which the labelled training crops do not show. A detector box that
overlaps no known person is still a person, not a false positive, when the teacher run on the box's
own crop (model.data.teacher.BlazePoseCropTeacher) finds a pose there with mean joint confidence of at least
CROP_SEEN_CONFIDENCE: the frame-level teacher misses small people (the woman at the table in the
background of both Pose2Sim clips' camera 1 was mined as a "false positive" before this check).
Boxes straddling two people (kind 'straddle', `--straddles`): in each frame with two known people
whose boxes hardly overlap (IoU < STRADDLE_PAIR_IOU), STRADDLES_PER_PAIR boxes centred between them, as tall as
they are and 1-1.6 x as wide, that match nobody (IoU < STRADDLE_MAX_IOU with every known person). A detector
box like that (half of each of two people) must not outscore either person's own box in the pipeline's
duplicate removal (assets/README.md, a refitted head scored one 1.0 and it took over a track).
Pictures (`--pictures`): PICTURES_PER_FILE random person-shaped boxes on each of DEBIAN_PICTURES, people-free
photographs from Debian's wallpaper packages (looked at one by one; the packages' other wallpapers show people
or are drawn), kind 'background', training split only: more kinds of things a person head must reject than
the synthetic renderer's backgrounds (assets/README.md lists them and their licences).
Background crops: random person-shaped boxes (height 15-95% of the frame, width 0.3-1.0 x height) that
overlap no person of the whole clip on the Pose2Sim views, or anywhere on vtest.avi's temporal median
(people-free by construction).
This lives in bench/ because it runs the app's detectors (model/ may not import app/).
"""

import argparse
import glob
import os
import time

import numpy as np

from model.atomic import atomic_open
from model.boxes import box_inside_fraction, box_iou
from model.data.datasets.negatives import cut_box, random_box

VTEST_HELDOUT_FROM = 600
HELDOUT_VIEW = "cam04"
FP_MIN_SCORE = 0.2
PERSON_WINDOW = 10
GROW = 0.1
MAX_OVERLAP = 0.2
MAX_MOVING = 0.03
MOVING_LEVEL = 30  # grey levels from the median that count as a changed pixel
REPEAT_FRAMES = 10
PERSON_IOU = 0.4
CROP_SEEN_CONFIDENCE = 0.5
CROP_SIZE = 192
STRADDLE_PAIR_IOU = 0.2
STRADDLE_MAX_IOU = 0.3
STRADDLES_PER_PAIR = 2
PICTURES_PER_FILE = 40
# apt-get install plasma-workspace-wallpapers lomiri-wallpapers-16.04 mate-backgrounds (Debian 12)
DEBIAN_PICTURES = tuple(
    [f"/usr/share/wallpapers/{n}/contents/images/2560x1600.jpg" for n in (
        "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "Kite",
        "OneStandsOut", "Path", "summer_1am")]
    + [f"/usr/share/backgrounds/{n}.jpg" for n in (
        "Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Picture_0B_by_freespace", "Picture_1A_by_freespace",
        "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi", "analogpattern_by_Peter_Nerlich",
        "free_by_Peter_Nerlich", "friends_by_Aitzol_Berasategi", "greentock_by_Peter_Nerlich",
        "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi", "seeding_by_Clements_Engelhardt",
        "sunset_by_Aitzol_Berasategi")]
    + [f"/usr/share/backgrounds/mate/nature/{n}.jpg" for n in (
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
        "TwoWings", "Wood", "YellowFlower")])


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Largest fraction of either box covered by their intersection."""
    return max(box_inside_fraction(a, b), box_inside_fraction(b, a))


def grown_box(points: np.ndarray, grow: float = GROW) -> np.ndarray | None:
    """Box (4,) of the finite (J, 2) points grown by `grow` of its size on every side; None if too few."""
    pts = points[np.isfinite(points).all(-1)]
    if len(pts) < 3:
        return None
    lo, hi = pts.min(0), pts.max(0)
    pad = grow * (hi - lo)
    return np.array([*(lo - pad), *(hi + pad)])


def people_boxes(distill: str, name: str, source: str, view: str) -> dict[int, list[np.ndarray]]:
    """frame index -> person boxes known in it (teacher poses of that video, and multi-view labels)."""
    from model.data.distill import load_records, teacher_poses

    boxes: dict[int, list[np.ndarray]] = {}
    teacher = dict(np.load(os.path.join(distill, "teacher", f"{name}.npz")))
    for row, frame in enumerate(teacher["frames"]):
        for pose in teacher_poses(teacher, row):
            box = grown_box(pose[:, :2])
            if box is not None:
                boxes.setdefault(int(frame), []).append(box)
    labels = os.path.join(distill, "labels.npz")
    if os.path.isfile(labels):
        for rec in load_records(labels):
            if str(rec["source"]) == source and str(rec["view"]) == view:
                box = grown_box(np.where(rec["valid_2d"][:, None], rec["joints_2d"], np.nan))
                if box is not None:
                    boxes.setdefault(int(rec["frame"]), []).append(box)
    return boxes


def near(boxes: dict[int, list[np.ndarray]], frame: int, window: int) -> list[np.ndarray]:
    return [b for f in range(frame - window, frame + window + 1) for b in boxes.get(f, [])]


def temporal_median(frames: list[np.ndarray], count: int = 60) -> np.ndarray:
    pick = np.linspace(0, len(frames) - 1, min(count, len(frames))).astype(int)
    return np.median(np.stack([frames[i] for i in pick]), axis=0).astype(np.uint8)


def moving_fraction(image: np.ndarray, median: np.ndarray, box: np.ndarray) -> float:
    h, w = image.shape[:2]
    x1, y1 = int(max(0, box[0])), int(max(0, box[1]))
    x2, y2 = int(min(w, box[2])), int(min(h, box[3]))
    if x2 <= x1 or y2 <= y1:
        return 0.0
    diff = np.abs(image[y1:y2, x1:x2].astype(np.int16) - median[y1:y2, x1:x2].astype(np.int16)).max(-1)
    return float((diff > MOVING_LEVEL).mean())


def mined(image: np.ndarray, box: np.ndarray, kind: str, score: float, source: str, frame: int, split: str) -> dict:
    """One row of a part file (see save): the crop of `box` cut from `image`, what it is, and its split."""
    return {"crop": cut_box(image, box, CROP_SIZE), "box": box, "kind": kind, "score": score, "source": source,
            "frame": frame, "split": split}


def looks_like_a_person(crop_teacher, image: np.ndarray, box: np.ndarray) -> bool:
    """The teacher, run on the box's own crop, finds a pose there with mean joint confidence >= CROP_SEEN_CONFIDENCE
    (a person the teacher missed in the whole frame, e.g. small and far away: not a false positive)."""
    pose = crop_teacher.estimate(image, [box])[0]
    return pose is not None and float(np.mean(pose[0][:, 2])) >= CROP_SEEN_CONFIDENCE


def videos() -> list[tuple[str, str, str, str, int]]:
    """(name, path, source, view, stride) of the footage: the 8 Pose2Sim views (every 5th frame of 60 fps)
    and vtest.avi (every 8th of 10 fps): neighbouring frames hold the same false positives."""
    from model.data.distill import POSE2SIM_CLIPS, VTEST, pose2sim_dir

    out = []
    for clip in POSE2SIM_CLIPS:
        for cam in ("cam01", "cam02", "cam03", "cam04"):
            out.append((f"{clip}_{cam}", os.path.join(pose2sim_dir(), clip, "videos", f"{cam}.mp4"), clip, cam, 5))
    if os.path.isfile(VTEST):
        out.append(("vtest", VTEST, "vtest", "", 8))
    return out


def split_of(name: str, view: str, frame: int) -> str:
    """'heldout' for camera 4 of both Pose2Sim clips and vtest.avi from VTEST_HELDOUT_FROM on, else 'train'."""
    return "heldout" if view == HELDOUT_VIEW or (name == "vtest" and frame >= VTEST_HELDOUT_FROM) else "train"


def straddle_boxes(people: list[np.ndarray], rng: np.random.Generator,
                   per_pair: int = STRADDLES_PER_PAIR) -> list[np.ndarray]:
    """Boxes (4,) xyxy centred between two of the frame's `people` boxes (see the module docstring), each
    matching none of them. Near-duplicate people boxes (the same person seen by the teacher and the multi-view
    labels) count once: app.detection.base.nms at IoU 0.5, in their order."""
    from app.detection.base import nms

    people = [people[i] for i in nms(people, np.ones(len(people)), 0.5)]
    out = []
    for i, a in enumerate(people):
        for b in people[i + 1:]:
            if box_iou(a, b) >= STRADDLE_PAIR_IOU:
                continue
            centre = (a[:2] + a[2:] + b[:2] + b[2:]) / 4
            height = ((a[3] - a[1]) + (b[3] - b[1])) / 2
            width = ((a[2] - a[0]) + (b[2] - b[0])) / 2
            for _ in range(per_pair):
                w = width * rng.uniform(1.0, 1.6)
                h = height * rng.uniform(0.9, 1.1)
                c = centre + rng.normal(0, 0.05, 2) * np.array([w, h])
                box = np.array([c[0] - w / 2, c[1] - h / 2, c[0] + w / 2, c[1] + h / 2])
                if all(box_iou(box, p) < STRADDLE_MAX_IOU for p in people):
                    out.append(box)
    return out


def mine_straddles(distill: str, out: str, seed: int = 0) -> dict:
    """OUT/parts/NAME_straddle.npz for every video (straddle_boxes in every frame with known people, not only
    the mined frames: pairs of people far enough apart are rare), then merge."""
    from model.data.distill import read_video

    for number, (name, path, source, view, _stride) in enumerate(videos()):
        part = os.path.join(out, "parts", f"{name}_straddle.npz")
        if os.path.isfile(part):
            continue
        rng = np.random.default_rng([seed, number, 2])
        people = people_boxes(distill, name, source, view)
        rows = []
        for index, image in read_video(path, 1):
            for box in straddle_boxes(people.get(index, []), rng):
                rows.append(mined(image, box, "straddle", 0.0, name, index, split_of(name, view, index)))
        save(part, rows)
        print(f"{name}: {len(rows)} boxes straddling two people", flush=True)
    return merge(out)


def mine_pictures(out: str, files: tuple[str, ...] = DEBIAN_PICTURES, seed: int = 0) -> dict:
    """OUT/parts/pictures.npz: PICTURES_PER_FILE random_box cuts of each installed picture (training split), then
    merge. Missing files are named once and skipped."""
    import cv2

    rng = np.random.default_rng([seed, 3])
    rows, missing = [], []
    for path in files:
        image = cv2.imread(path) if os.path.isfile(path) else None
        if image is None:
            missing.append(path)
            continue
        h, w = image.shape[:2]
        name = "picture:" + os.path.splitext(os.path.basename(path))[0]
        for _ in range(PICTURES_PER_FILE):
            rows.append(mined(image, random_box(rng, w, h), "background", 0.0, name, 0, "train"))
    if missing:
        print(f"{len(missing)} of {len(files)} pictures are not installed (first: {missing[0]}); "
              "apt-get install plasma-workspace-wallpapers lomiri-wallpapers-16.04 mate-backgrounds", flush=True)
    save(os.path.join(out, "parts", "pictures.npz"), rows)
    print(f"{len(rows)} crops of {len(files) - len(missing)} pictures", flush=True)
    return merge(out)


def mine(distill: str, out: str, backgrounds_per_video: int, only: tuple[str, ...] = (), seed: int = 0) -> dict:
    from app.detection import make_detector
    from app.types import Frame
    from model.data.distill import read_video

    from model.data.teacher.blazepose import BlazePoseCropTeacher

    detectors = [make_detector(n, max_people=10, min_score=FP_MIN_SCORE) for n in ("ssdlite", "mediapipe")]
    crop_teacher = BlazePoseCropTeacher()
    for number, (name, path, source, view, stride) in enumerate(videos()):
        part = os.path.join(out, "parts", f"{name}.npz")
        if (only and name not in only) or os.path.isfile(part):
            continue
        rows: dict[str, list[dict]] = {"train": [], "heldout": []}
        rng = np.random.default_rng([seed, number])
        started = time.perf_counter()
        indexed = list(read_video(path, stride))
        frames = [img for _, img in indexed]
        people = people_boxes(distill, name, source, view)
        median = temporal_median(frames)
        height, width = frames[0].shape[:2]
        kept_fp: list[tuple[int, np.ndarray]] = []
        counts = {"false_positive": 0, "background": 0, "person": 0, "seen_on_crop": 0, "detections": 0}
        for index, image in indexed:
            nearby = near(people, index, PERSON_WINDOW)
            for det in (d for detector in detectors for d in detector.detect(Frame(index, index / 30.0, image))):
                counts["detections"] += 1
                box = np.asarray(det.box_xyxy, np.float64)
                split = split_of(name, view, index)
                if any(box_iou(box, p) >= PERSON_IOU for p in people.get(index, [])):
                    rows[split].append(mined(image, box, "person", float(det.score), name, index, split))
                    counts["person"] += 1
                    continue
                if any(overlap(box, p) > MAX_OVERLAP for p in nearby):
                    continue
                if name == "vtest" and moving_fraction(image, median, box) > MAX_MOVING:
                    continue
                if any(index - f <= REPEAT_FRAMES and box_iou(box, b) > 0.7 for f, b in kept_fp):
                    continue
                kept_fp.append((index, box))
                kind = "person" if looks_like_a_person(crop_teacher, image, box) else "false_positive"
                counts["seen_on_crop"] += kind == "person"
                rows[split].append(mined(image, box, kind, float(det.score), name, index, split))
                counts[kind] += 1
        everyone = [b for boxes in people.values() for b in boxes]
        tries = 0
        while counts["background"] < backgrounds_per_video and tries < 50 * backgrounds_per_video:
            tries += 1
            box = random_box(rng, width, height)
            index, image = indexed[int(rng.integers(len(indexed)))]
            if name == "vtest":
                image = median  # people-free: the pedestrians move, the median keeps the street
            elif any(overlap(box, p) > 0.0 for p in everyone):
                continue
            split = split_of(name, view, index)
            rows[split].append(mined(image, box, "background", 0.0, name, index, split))
            counts["background"] += 1
        save(part, rows["train"] + rows["heldout"])
        print(f"{name}: {len(frames)} frames, {counts['detections']} detections, "
              f"{counts['false_positive']} false positives, {counts['background']} background crops, "
              f"{counts['person']} people ({counts['seen_on_crop']} seen only on their crop), "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    for detector in detectors:
        detector.close()
    crop_teacher.close()
    return merge(out)


def merge(out: str) -> dict:
    """OUT/train.npz and OUT/heldout.npz from every finished part; returns the counts per split and kind."""
    parts = sorted(glob.glob(os.path.join(out, "parts", "*.npz")))
    data = [d for d in (dict(np.load(p)) for p in parts) if len(d["kind"])]
    summary = {"videos": [os.path.basename(p)[:-4] for p in parts]}
    for split in ("train", "heldout"):
        merged = {k: np.concatenate([d[k][d["split"] == split] for d in data]) for k in data[0]} if data else {}
        with atomic_open(os.path.join(out, f"{split}.npz"), text=False) as f:
            np.savez_compressed(f, **merged)
        summary[split] = {kind: int((merged["kind"] == kind).sum()) if merged else 0
                          for kind in ("background", "false_positive", "straddle", "person")}
    print(summary, flush=True)
    return summary


def save(path: str, items: list[dict]) -> None:
    with atomic_open(path, text=False) as f:
        np.savez_compressed(
            f, crops=np.stack([r["crop"] for r in items]) if items else np.zeros((0, CROP_SIZE, CROP_SIZE, 3), np.uint8),
            boxes=np.array([r["box"] for r in items]).reshape(-1, 4), kind=np.array([r["kind"] for r in items]),
            score=np.array([r["score"] for r in items]), source=np.array([r["source"] for r in items]),
            frame=np.array([r["frame"] for r in items]).astype(np.int64),
            split=np.array([r["split"] for r in items]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--distill", default="out/distill", help="folder written by `python main.py distill`")
    p.add_argument("--out", default="out/negatives")
    p.add_argument("--backgrounds", type=int, default=150, help="background crops per video")
    p.add_argument("--only", default="", help="comma-separated video names (e.g. vtest,Demo_MultiPerson_cam04)")
    p.add_argument("--straddles", action="store_true", help="then add the boxes straddling two people")
    p.add_argument("--pictures", action="store_true", help="then add crops of DEBIAN_PICTURES")
    args = p.parse_args(argv)
    if not os.path.isdir(os.path.join(args.distill, "teacher")):
        print(f"{args.distill}: no teacher cache; run `python main.py distill --out {args.distill}` first")
        return 1
    mine(args.distill, args.out, args.backgrounds, tuple(n for n in args.only.split(",") if n))
    if args.straddles:
        mine_straddles(args.distill, args.out)
    if args.pictures:
        mine_pictures(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
