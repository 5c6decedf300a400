"""`python main.py distill`: builds the distillation training set for the default weights from offline footage.

Stages (each cached under --out; rerunning skips what exists unless --force):
1. teacher: MediaPipe's PoseLandmarker (model/data/teacher, also the app's MediaPipe backend's model) runs
   over every frame of every source video and stores the raw 33 BlazePose landmarks per person
   (image pixels + visibility, and metric world landmarks).
2. labels: BlazePose -> 17 Human3.6M joints (model.data.teacher.blazepose_to_h36m). For
   the calibrated 4-view Pose2Sim clips, people are associated across views and triangulated
   (confidence-weighted DLT, model.data.multiview); the 3D joints are reprojected into every view as 2D
   labels and rotated into each camera as 3D labels. Bad labels (high reprojection error, left/right
   swapped views) are rejected and counted. Uncalibrated footage keeps the teacher's 2D and its metric
   world landmarks (lower-quality 3D, weighted down by the training set reader).
3. crops: every kept label is cut into a square crop (CROP_SIZE, larger than the network input so that
   augmentation can rotate and rescale without borders) with a soft person mask from MediaPipe's
   selfie segmentation (for background replacement), saved with its labels in train.npz / eval.npz.
4. mocap: the DeepMimic clips of pybullet as 17-joint 3D sequences (model/data/mocap.py), for the lifting block.

Usage: `python main.py distill [--out out/distill] [--stage all|teacher|labels|crops|mocap] [--force]`;
then `python -m model.training.distill_train` trains on it (recipe in assets/README.md).

Held out (never written to the training files, only to the evaluation file): camera HOLDOUT_VIEW of
the multi-person clip (all frames) and frames >= HOLDOUT_FROM_FRAME of that clip in every view. The
evaluation file's 3D reference is triangulated WITHOUT the held-out camera, so it does not lean on the
teacher's view of the evaluation frames.
"""

import json
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

from model.atomic import atomic_open, atomic_write_text
from model.boxes import points_box
from model.commands import output_folder
from model.net.crop import box_crop_affine
from model.net.skeleton import FLIP_INDEX, NUM_JOINTS
from model.data.teacher import blazepose_to_h36m

POSE2SIM_CLIPS = ("Demo_SinglePerson", "Demo_MultiPerson")
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
HOLDOUT_CLIP = "Demo_MultiPerson"
HOLDOUT_VIEW = "cam04"
HOLDOUT_FROM_FRAME = 70
# Frames just before the held-out block are dropped too: at 60 fps neighbouring poses are near copies.
HOLDOUT_GAP = 5
CROP_SIZE = 256


@dataclass(frozen=True)
class DistillConfig:
    """What goes into the set and how strictly labels are filtered."""

    out: str = "out/distill"  # where the caches and the final .npz files go (ignored by git)
    num_poses: int = 4  # PoseLandmarker max people per frame (the multi-person clip has 2 + 1 far away)
    max_reproj_px: float = 30.0  # a view whose median reprojection error exceeds this is not used
    min_views: int = 2  # triangulation needs at least two views
    max_joint_reproj_px: float = 40.0  # a kept view's joint label is masked out above this error
    vtest_stride: int = 4  # every 4th vtest.avi frame (10 fps, 795 frames): neighbours are near copies
    vtest_upscale: float = 2.0  # its pedestrians are ~60-120 px tall; BlazePose misses people under ~100 px
    min_box_px: float = 60.0  # labels with a smaller person box (before upscaling) are dropped
    min_mean_visibility: float = 0.5  # uncalibrated footage: teacher poses less sure than this are dropped
    crop_padding: float = 1.25  # crop side = this x the larger side of the person box (then rotation margin)


def pose2sim_dir() -> str:
    import Pose2Sim

    return os.path.dirname(Pose2Sim.__file__)


def read_video(path: str, stride: int = 1):
    """Yields (frame_index, BGR image) from a video file; raises ValueError with a one-line message."""
    import cv2

    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise ValueError(f"{path}: cannot open the video")
    try:
        index = 0
        while True:
            ok, image = cap.read()
            if not ok:
                break
            if index % stride == 0:
                yield index, image
            index += 1
    finally:
        cap.release()


def run_teacher(video: str, num_poses: int, stride: int = 1, upscale: float = 1.0) -> dict:
    """PoseLandmarker (VIDEO mode) over a video.

    Returns arrays: frames (F,) source frame indices; image (F, P, 33, 3) x, y in ORIGINAL pixels and
    visibility; world (F, P, 33, 3) metres, hip-centred, camera axes; count (F,) people found.
    P = num_poses; rows beyond count are NaN.
    """
    import cv2
    import mediapipe as mp

    from model.data.teacher import create_pose_landmarker

    landmarker = create_pose_landmarker(num_poses=num_poses, video_mode=True)
    frames, images, worlds, counts = [], [], [], []
    fps = 60.0
    try:
        for index, bgr in read_video(video, stride):
            if upscale != 1.0:
                bgr = cv2.resize(bgr, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
            h, w = bgr.shape[:2]
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            result = landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb),
                                                 int(round(index * 1000.0 / fps)))
            image = np.full((num_poses, 33, 3), np.nan)
            world = np.full((num_poses, 33, 3), np.nan)
            for p, (lms, wls) in enumerate(zip(result.pose_landmarks, result.pose_world_landmarks)):
                image[p] = [[l.x * w / upscale, l.y * h / upscale,
                             l.visibility if l.visibility is not None else 1.0] for l in lms]
                world[p] = [[l.x, l.y, l.z] for l in wls]
            frames.append(index)
            images.append(image)
            worlds.append(world)
            counts.append(len(result.pose_landmarks))
    finally:
        landmarker.close()
    return {"frames": np.array(frames), "image": np.array(images), "world": np.array(worlds),
            "count": np.array(counts)}


def _save_npz(path: str, **arrays) -> None:
    """Atomic np.savez_compressed."""
    with atomic_open(path, text=False) as f:
        np.savez_compressed(f, **arrays)


def teacher_sources() -> list[tuple[str, str, int, float]]:
    """(name, video path, stride, upscale) of every video the teacher runs on."""
    base = pose2sim_dir()
    sources = []
    for clip in POSE2SIM_CLIPS:
        for cam in ("cam01", "cam02", "cam03", "cam04"):
            sources.append((f"{clip}_{cam}", os.path.join(base, clip, "videos", f"{cam}.mp4"), 1, 1.0))
    return sources


def stage_teacher(cfg: DistillConfig, force: bool = False, only: str = "") -> None:
    sources = teacher_sources()
    if os.path.isfile(VTEST):
        sources.append(("vtest", VTEST, cfg.vtest_stride, cfg.vtest_upscale))
    else:
        print(f"{VTEST}: missing (apt-get install opencv-doc); skipping it")
    for name, path, stride, upscale in sources:
        if only and only not in name:
            continue
        out = os.path.join(cfg.out, "teacher", f"{name}.npz")
        if os.path.isfile(out) and not force:
            continue
        start = time.perf_counter()
        result = run_teacher(path, cfg.num_poses, stride, upscale)
        _save_npz(out, **result)
        print(f"teacher {name}: {len(result['frames'])} frames, people per frame "
              f"{np.bincount(result['count']).tolist()}, {time.perf_counter() - start:.0f} s", flush=True)



# ----------------------------------------------------------------------------------------- labels

@dataclass
class LabelStats:
    """Counts of what the label stage kept and rejected (printed and saved as JSON)."""

    associations: int = 0  # people triangulated in some frame (first and second pass)
    rejected_bones: int = 0  # triangulated people with implausible bone lengths
    views_used: int = 0  # teacher poses that went into a triangulation
    views_swapped: int = 0  # teacher poses left out that fit the 3D once left and right are swapped
    views_bad: int = 0  # teacher poses left out for a high reprojection error otherwise
    second_pass_found: int = 0  # poses the teacher found on a crop around the reprojected person
    labels: int = 0  # per-view labels written (person x view x frame)
    labels_out_of_frame: int = 0  # projected person mostly outside the view: no label
    joints_masked: int = 0  # joint labels masked for a high per-joint reprojection error
    teacher_world: int = 0  # uncalibrated footage: teacher poses kept with their world landmarks
    teacher_rejected: int = 0  # uncalibrated footage: low visibility or too small


def teacher_poses(teacher: dict, f: int) -> np.ndarray:
    """(N, 17, 3) x, y px and confidence of the people the teacher found in frame row f."""
    n = int(teacher["count"][f])
    if n == 0:
        return np.zeros((0, NUM_JOINTS, 3))
    return np.stack([blazepose_to_h36m(teacher["image"][f, p]) for p in range(n)])


def bones_plausible(joints: np.ndarray) -> bool:
    """Every bone of a (17, 3) mm skeleton between 30 mm and 700 mm (a wrong match breaks this)."""
    from model.net.skeleton import BONES

    lengths = np.array([np.linalg.norm(joints[c] - joints[p]) for p, c in BONES])
    return bool(np.all(np.isfinite(lengths)) and lengths.min() > 30.0 and lengths.max() < 700.0)


def _inside_fraction(points: np.ndarray, size: tuple[int, int]) -> float:
    w, h = size
    ok = (points[:, 0] >= 0) & (points[:, 0] < w) & (points[:, 1] >= 0) & (points[:, 1] < h)
    return float(ok.mean())


def _read_frames(path: str) -> list[np.ndarray]:
    return [image for _, image in read_video(path)]


def triangulate_clip(cameras, teachers: list[dict], videos: list[str], cfg: DistillConfig,
                     stats: LabelStats, backend=None) -> list[list]:
    """Per frame, the people associated and triangulated across the given views.

    Two passes: associate the teacher's full-frame poses; then, for every person found, run the
    teacher again on a crop around their reprojection in each view that missed them (it misses
    people when two overlap or one is small) and associate again.
    Returns per frame a list of (Association, per-view teacher poses used (V, 17, 3) NaN where none).
    """
    from model.data.multiview import associate

    frames = [_read_frames(v) for v in videos] if backend is not None else None
    n_frames = min(len(t["count"]) for t in teachers)
    out = []
    for f in range(n_frames):
        poses = [teacher_poses(t, f) for t in teachers]
        found = associate(poses, cameras, cfg.max_reproj_px, cfg.min_views)
        if backend is not None and found:
            added = False
            for a in found:
                for v, cam in enumerate(cameras):
                    if a.candidate[v] >= 0:
                        continue
                    proj = cam.project(a.joints_world)
                    if not np.isfinite(proj).all() or _inside_fraction(proj, cam.size) < 0.7:
                        continue
                    x1, y1, x2, y2 = points_box(proj)
                    pad = 0.1 * max(x2 - x1, y2 - y1)
                    box = np.array([x1 - pad, y1 - pad, x2 + pad, y2 + pad])
                    res = backend.estimate(frames[v][f], [box])[0]
                    if res is not None:
                        poses[v] = np.concatenate([poses[v], res[0][None]], axis=0)
                        stats.second_pass_found += 1
                        added = True
            if added:
                found = associate(poses, cameras, cfg.max_reproj_px, cfg.min_views)
        kept = []
        for a in found:
            if not bones_plausible(a.joints_world):
                stats.rejected_bones += 1
                continue
            used = np.full((len(cameras), NUM_JOINTS, 3), np.nan)
            for v, c in enumerate(a.candidate):
                if c >= 0:
                    used[v] = poses[v][c]
            kept.append((a, used, poses))
            stats.associations += 1
            stats.views_used += int((a.candidate >= 0).sum())
        _count_left_out(kept, cameras, cfg, stats)
        out.append(kept)
    return out


def _count_left_out(kept: list, cameras, cfg: DistillConfig, stats: LabelStats) -> None:
    """Teacher poses overlapping a triangulated person but left out: left/right swap or just bad."""
    for a, _, poses in kept:
        for v, cam in enumerate(cameras):
            if a.candidate[v] >= 0 or len(poses[v]) == 0:
                continue
            proj = cam.project(a.joints_world)
            errs = [np.nanmedian(np.linalg.norm(p[:, :2] - proj, axis=-1)) for p in poses[v]]
            k = int(np.argmin(errs))
            if errs[k] > 4 * cfg.max_reproj_px:
                continue  # a different person, not a rejected view of this one
            swapped = poses[v][k][list(FLIP_INDEX)]
            err_swap = np.nanmedian(np.linalg.norm(swapped[:, :2] - proj, axis=-1))
            if err_swap < errs[k]:
                stats.views_swapped += 1
            else:
                stats.views_bad += 1


def _track_ids(per_frame: list[list]) -> list[list[int]]:
    """Person ids over frames by nearest pelvis (world mm); a new id when none is within 400 mm."""
    ids, last, next_id = [], {}, 0
    for people in per_frame:
        frame_ids, taken = [], set()
        for a, _, _ in people:
            pelvis = a.joints_world[0]
            best = min(((np.linalg.norm(pelvis - p), i) for i, p in last.items() if i not in taken),
                       default=(np.inf, -1))
            if best[0] < 400.0:
                pid = best[1]
            else:
                pid, next_id = next_id, next_id + 1
            taken.add(pid)
            frame_ids.append(pid)
        for a, pid in zip(people, frame_ids):
            last[pid] = a[0].joints_world[0]
        ids.append(frame_ids)
    return ids


def calibrated_labels(clip: str, cfg: DistillConfig, stats: LabelStats, backend,
                      views: tuple[str, ...] | None = None) -> list[dict]:
    """Per-view labels of one Pose2Sim clip, triangulated from `views` (default: all four)."""
    from model.data.multiview import camera_joints, read_qca

    base = os.path.join(pose2sim_dir(), clip)
    all_cams = read_qca(os.path.join(base, "calibration", "Calib.qca.txt"))
    use = [c for c in all_cams if views is None or c.name in views]
    teachers = [dict(np.load(os.path.join(cfg.out, "teacher", f"{clip}_{c.name}.npz"))) for c in use]
    videos = [os.path.join(base, "videos", f"{c.name}.mp4") for c in use]
    per_frame = triangulate_clip(use, teachers, videos, cfg, stats, backend)
    ids = _track_ids(per_frame)
    records = []
    for f, people in enumerate(per_frame):
        for (a, used, poses), pid in zip(people, ids[f]):
            for cam in all_cams:
                proj = cam.project(a.joints_world)
                if _inside_fraction(proj, cam.size) < 0.7:
                    stats.labels_out_of_frame += 1
                    continue
                valid = np.isfinite(proj).all(-1)
                v_used = [i for i, c in enumerate(use) if c.name == cam.name]
                teacher_2d = np.full((NUM_JOINTS, 3), np.nan)
                if v_used:
                    v = v_used[0]
                    err = np.linalg.norm(used[v][:, :2] - proj, axis=-1)
                    bad = np.isfinite(err) & (err > cfg.max_joint_reproj_px)
                    stats.joints_masked += int(bad.sum())
                    valid &= ~bad
                    teacher_2d = used[v]
                    if not np.isfinite(teacher_2d).all() and len(poses[v]):
                        # Not used in the triangulation: the nearest teacher pose, for evaluation.
                        d = [np.nanmedian(np.linalg.norm(p[:, :2] - proj, axis=-1)) for p in poses[v]]
                        if min(d) < 4 * cfg.max_reproj_px:
                            teacher_2d = poses[v][int(np.argmin(d))]
                rel, root = camera_joints(a.joints_world, cam)
                records.append({
                    "source": clip, "view": cam.name, "frame": f, "person": pid,
                    "joints_2d": proj, "valid_2d": valid, "teacher_2d": teacher_2d,
                    "joints_3d": rel, "root": root, "has_3d": True, "weight_3d": 1.0,
                    "K": cam.K, "reproj_px": a.median_error, "views": int((a.candidate >= 0).sum()),
                })
                stats.labels += 1
    return records


def world_labels(name: str, cfg: DistillConfig, stats: LabelStats) -> list[dict]:
    """Uncalibrated footage: the teacher's 2D and its metric world landmarks as (weaker) 3D labels."""
    teacher = dict(np.load(os.path.join(cfg.out, "teacher", f"{name}.npz")))
    records = []
    for f in range(len(teacher["count"])):
        for p in range(int(teacher["count"][f])):
            kp = blazepose_to_h36m(teacher["image"][f, p])
            world = blazepose_to_h36m(teacher["world"][f, p]) * 1000.0
            x1, y1, x2, y2 = points_box(kp[:, :2])
            if kp[:, 2].mean() < cfg.min_mean_visibility or max(x2 - x1, y2 - y1) < cfg.min_box_px:
                stats.teacher_rejected += 1
                continue
            records.append({
                "source": name, "view": "", "frame": int(teacher["frames"][f]), "person": p,
                "joints_2d": kp[:, :2], "valid_2d": kp[:, 2] > 0.3, "teacher_2d": kp,
                "joints_3d": world - world[:1], "root": np.full(3, np.nan), "has_3d": True,
                # World landmarks are one view's guess (tens of mm off): they count for less.
                "weight_3d": 0.3, "K": np.full((3, 3), np.nan), "reproj_px": np.nan, "views": 1,
            })
            stats.teacher_world += 1
    return records


def split_of(record: dict) -> str:
    """'train' or 'excluded' (held out: never trained on; see the module docstring)."""
    if record["source"] == HOLDOUT_CLIP and (
            record["view"] == HOLDOUT_VIEW or record["frame"] >= HOLDOUT_FROM_FRAME - HOLDOUT_GAP):
        return "excluded"
    return "train"


def stage_labels(cfg: DistillConfig, force: bool = False) -> None:
    out = os.path.join(cfg.out, "labels.npz")
    if os.path.isfile(out) and not force:
        return
    from model.data.teacher import BlazePoseCropTeacher

    backend = BlazePoseCropTeacher()
    stats = LabelStats()
    records = []
    for clip in POSE2SIM_CLIPS:
        recs = calibrated_labels(clip, cfg, stats, backend)
        for r in recs:
            r["split"] = split_of(r)
        records += recs
        print(f"labels {clip}: {len(recs)} per-view labels", flush=True)
    if os.path.isfile(os.path.join(cfg.out, "teacher", "vtest.npz")):
        recs = world_labels("vtest", cfg, stats)
        for r in recs:
            r["split"] = "train"
        records += recs
        print(f"labels vtest: {len(recs)} teacher labels", flush=True)
    # Evaluation reference: the held-out view's labels re-triangulated from the other three views only.
    eval_stats = LabelStats()
    held = [c for c in ("cam01", "cam02", "cam03", "cam04") if c != HOLDOUT_VIEW]
    recs = [r for r in calibrated_labels(HOLDOUT_CLIP, cfg, eval_stats, backend, tuple(held))
            if r["view"] == HOLDOUT_VIEW]
    for r in recs:
        r["split"] = "eval"
    records += recs
    backend.close()
    print(f"labels eval ({HOLDOUT_CLIP} {HOLDOUT_VIEW}, triangulated from {held}): {len(recs)}", flush=True)
    _save_records(out, records)
    summary = {"train": asdict(stats), "eval": asdict(eval_stats),
               "splits": {s: sum(r["split"] == s for r in records) for s in ("train", "excluded", "eval")}}
    atomic_write_text(os.path.join(cfg.out, "labels_stats.json"), json.dumps(summary, indent=1))
    print(json.dumps(summary), flush=True)


RECORD_ARRAYS = ("joints_2d", "valid_2d", "teacher_2d", "joints_3d", "root", "K")
RECORD_SCALARS = ("source", "view", "frame", "person", "has_3d", "weight_3d", "reproj_px", "views", "split")


def _save_records(path: str, records: list[dict], **extra) -> None:
    arrays = {k: np.stack([np.asarray(r[k], dtype=np.float64 if k != "valid_2d" else bool) for r in records])
              for k in RECORD_ARRAYS}
    arrays.update({k: np.array([r[k] for r in records]) for k in RECORD_SCALARS})
    _save_npz(path, **arrays, **extra)


def load_records(path: str) -> list[dict]:
    """The records of a labels.npz / crops .npz as dicts (arrays per record)."""
    data = np.load(path)
    n = len(data["frame"])
    return [{k: data[k][i] for k in RECORD_ARRAYS + RECORD_SCALARS} for i in range(n)]



# ------------------------------------------------------------------------------------------ crops

STORE_PADDING = 1.75  # stored crop side / tight box side: room for 1.25 padding x 1.25 scale jitter + rotation


def _video_of(source: str, view: str) -> str:
    if source == "vtest":
        return VTEST
    return os.path.join(pose2sim_dir(), source, "videos", f"{view}.mp4")


def stage_crops(cfg: DistillConfig, force: bool = False) -> None:
    """labels.npz -> train.npz and eval.npz: crops (N, 256, 256, 3) uint8 BGR, masks (N, 256, 256) uint8,
    labels moved into crop pixels (joints_2d, teacher_2d) and the affine used (image px -> crop px)."""
    import cv2
    import mediapipe as mp

    outs = {s: os.path.join(cfg.out, f"{s}.npz") for s in ("train", "eval")}
    if all(os.path.isfile(p) for p in outs.values()) and not force:
        return
    records = [r for r in load_records(os.path.join(cfg.out, "labels.npz")) if r["split"] != "excluded"]
    segmenter = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
    by_video: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(records):
        by_video.setdefault((str(r["source"]), str(r["view"])), []).append(i)
    crops = np.zeros((len(records), CROP_SIZE, CROP_SIZE, 3), np.uint8)
    masks = np.zeros((len(records), CROP_SIZE, CROP_SIZE), np.uint8)
    affines = np.zeros((len(records), 2, 3))
    boxes = np.zeros((len(records), 4))
    for (source, view), idx in sorted(by_video.items()):
        wanted: dict[int, list[int]] = {}
        for i in idx:
            wanted.setdefault(int(records[i]["frame"]), []).append(i)
        for f, image in read_video(_video_of(source, view)):
            if f not in wanted:
                continue
            seg = segmenter.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)).segmentation_mask
            mask = np.clip(seg * 255.0, 0, 255).astype(np.uint8)
            for i in wanted[f]:
                r = records[i]
                pts = r["joints_2d"][r["valid_2d"]]
                box = np.array([*pts.min(0), *pts.max(0)])
                a = box_crop_affine(box, STORE_PADDING, CROP_SIZE)
                crops[i] = cv2.warpAffine(image, a, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_AREA,
                                          borderMode=cv2.BORDER_CONSTANT)
                masks[i] = cv2.warpAffine(mask, a, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR,
                                          borderMode=cv2.BORDER_CONSTANT)
                affines[i], boxes[i] = a, box
        print(f"crops {source} {view}: {len(idx)}", flush=True)
    segmenter.close()
    for split, path in outs.items():
        sel = [i for i, r in enumerate(records) if (r["split"] == "eval") == (split == "eval")]
        recs = [records[i] for i in sel]
        _save_records(path, recs, crops=crops[sel], masks=masks[sel], affines=affines[sel], boxes=boxes[sel])
        print(f"{path}: {len(sel)} crops", flush=True)


def stage_mocap(cfg: DistillConfig, force: bool = False) -> None:
    """DeepMimic clips -> out/mocap.npz of (T, 17, 3) mm sequences (model/data/mocap.py)."""
    from model.data.mocap import load_all, motion_files

    path = os.path.join(cfg.out, "mocap.npz")
    if force and os.path.isfile(path):
        os.remove(path)
    if not motion_files():
        print("pybullet is not installed (pip install pybullet==3.2.7): no mocap clips for the lifting block")
        return
    clips = load_all(path)
    print(f"mocap: {len(clips)} clips, {sum(len(c) for c in clips.values())} frames -> {path}", flush=True)


def add_arguments(parser) -> None:
    parser.add_argument("--out", default=DistillConfig.out, help="output folder (default %(default)s)")
    parser.add_argument("--stage", choices=("all", "teacher", "labels", "crops", "mocap"), default="all",
                        help="run one stage only (each stage reuses the previous stage's cache)")
    parser.add_argument("--only", default="", help="only sources whose name contains this")
    parser.add_argument("--force", action="store_true", help="recompute cached stages")


def run(args) -> int:
    output_folder(args.out)  # a file in the way or /proc: one line, exit 2, before any footage is read
    cfg = DistillConfig(out=args.out)
    if args.stage in ("all", "teacher"):
        stage_teacher(cfg, args.force, args.only)
    if args.stage in ("all", "labels"):
        stage_labels(cfg, args.force)
    if args.stage in ("all", "crops"):
        stage_crops(cfg, args.force)
    if args.stage in ("all", "mocap"):
        stage_mocap(cfg, args.force)
    return 0
