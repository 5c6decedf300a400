"""Writes tests/fixtures/raised_arms/: real crops of raised and outstretched arms with multi-view labels.

    python -m bench.make_raised_arms_fixture [--data out/distill]

Needs out/distill/eval.npz and out/distill/teacher/ (`python main.py distill`) and Pose2Sim's Demo_MultiPerson
cam04.mp4 (pip pose2sim). Camera 4 is the held-out view: never trained on, its labels triangulated from cameras
1-3 only. Each chosen person has an arm raised (wrist above its shoulder) or held out (wrist further out sideways
than 0.6 x the arm's length), and the multi-view label of all six arm joints lies within 0.1 of the box side of
the MediaPipe teacher's pose on camera 4 itself (a check the triangulation did not use: some triangulated arms
float beside the body or swap sides, and a wrong label would make the test meaningless).
"""

import argparse
import json
import os

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "raised_arms")
# (frame, person) of camera 4 in eval.npz, spread over the clip, among those passing both checks (docstring).
CHOSEN = ((4, 1), (15, 1), (19, 1), (27, 1), (35, 1), (48, 0), (52, 0), (61, 0), (64, 0), (67, 1), (75, 1),
          (81, 1))
MAX_TEACHER_GAP = 0.1  # x the box side, on every arm joint
# The cut is this many joints-box sides wide: the backend's crop of the box grown by 10 % with 1.25 padding
# (1.375 sides) lies inside it, so the network sees what it sees on the full frame (resampled once more).
CUT_SIDES = 1.5
MAX_SIDE = 384  # px; the networks read 160-192 px crops, so a smaller cut keeps each JPEG to a few tens of KB
JPEG_QUALITY = 90


def arms_raised_or_out(joints: np.ndarray, valid: np.ndarray) -> list[str]:
    """The arms (l, r) whose wrist is above its shoulder or further out sideways than 0.6 x the arm's length."""
    from model.net.skeleton import JOINT_NAMES

    out = []
    for side in "lr":
        s, e, w = (JOINT_NAMES.index(f"{side}_{j}") for j in ("shoulder", "elbow", "wrist"))
        if not valid[[s, e, w]].all():
            continue
        length = np.linalg.norm(joints[e] - joints[s]) + np.linalg.norm(joints[w] - joints[e])
        if joints[w, 1] < joints[s, 1] or abs(joints[w, 0] - joints[s, 0]) > 0.6 * length:
            out.append(side)
    return out


def teacher_gap(rec: dict) -> float:
    """The largest distance of the six arm joints' multi-view label to the camera-4 teacher's, x the box side."""
    from model.net.skeleton import JOINT_NAMES

    joints, valid = rec["joints_2d"], rec["valid_2d"].astype(bool)
    lo, hi = joints[valid].min(0), joints[valid].max(0)
    arm = [JOINT_NAMES.index(f"{s}_{j}") for s in "lr" for j in ("shoulder", "elbow", "wrist")]
    gap = np.linalg.norm(joints[arm] - rec["teacher_2d"][arm, :2], axis=1).max() / float((hi - lo).max())
    return float(gap) if np.isfinite(gap) else np.inf  # no teacher pose: not checked, so not chosen


def main(argv: list[str] | None = None) -> int:
    import cv2

    from model.data.distill import HOLDOUT_CLIP, HOLDOUT_VIEW, load_records, pose2sim_dir, read_video

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="out/distill", help="folder written by `python main.py distill`")
    args = p.parse_args(argv)
    from bench.eval_default_weights import attach_teacher

    records = load_records(os.path.join(args.data, "eval.npz"))
    attach_teacher(records, os.path.join(args.data, "teacher", f"{HOLDOUT_CLIP}_{HOLDOUT_VIEW}.npz"))
    records = {(int(r["frame"]), int(r["person"])): r for r in records}
    video = os.path.join(pose2sim_dir(), HOLDOUT_CLIP, "videos", f"{HOLDOUT_VIEW}.mp4")
    frames = {f: image for f, image in read_video(video) if f in {f for f, _ in CHOSEN}}
    crops = []
    for frame, person in CHOSEN:
        rec = records[(frame, person)]
        joints, valid = rec["joints_2d"], rec["valid_2d"].astype(bool)
        arms = arms_raised_or_out(joints, valid)
        assert arms, f"frame {frame} person {person}: no arm raised or held out"
        gap = teacher_gap(rec)
        assert gap < MAX_TEACHER_GAP, f"frame {frame} person {person}: label {gap:.2f} of the box off the teacher's"
        image = frames[frame]
        lo, hi = joints[valid].min(0), joints[valid].max(0)
        half = CUT_SIDES * float((hi - lo).max()) / 2
        centre = (lo + hi) / 2
        x0, y0 = np.maximum(np.floor(centre - half), 0).astype(int)
        x1, y1 = np.minimum(np.ceil(centre + half), image.shape[1::-1]).astype(int)
        scale = min(1.0, MAX_SIDE / max(x1 - x0, y1 - y0))
        cut = cv2.resize(image[y0:y1, x0:x1], (round((x1 - x0) * scale), round((y1 - y0) * scale)),
                         interpolation=cv2.INTER_AREA)
        name = f"f{frame:03d}_p{person}.jpg"
        cv2.imwrite(os.path.join(HERE, name), cut, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        # INTER_AREA maps pixel centres: frame x -> (x - x0 + 0.5) * scale - 0.5 in the cut.
        fixed = (joints - [x0, y0] + 0.5) * scale - 0.5
        crops.append({"file": name, "frame": frame, "person": person, "arms": arms,
                      "joints_2d": np.round(fixed, 2).tolist(), "valid": valid.tolist(),
                      "origin_px": [int(x0), int(y0)], "scale": scale,
                      "reproj_px": round(float(rec["reproj_px"]), 2), "views": int(rec["views"]),
                      "teacher_gap": round(gap, 3)})
    about = (f"Real crops of raised and outstretched arms: {HOLDOUT_CLIP} {HOLDOUT_VIEW} (held out of training), "
             "labels triangulated from the other views and reprojected, in the cut's pixels "
             "(python -m bench.make_raised_arms_fixture).")
    with open(os.path.join(HERE, "labels.json"), "w", encoding="utf-8") as f:
        json.dump({"about": about, "crops": crops}, f, indent=1)
        f.write("\n")
    print(f"{len(crops)} crops -> {os.path.normpath(HERE)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
