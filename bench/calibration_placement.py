"""Benchmark: where people are placed with the camera's calibration (--calibration) vs the assumed default FOV.

On the calibrated Pose2Sim views (the pose2sim wheel's Demo_SinglePerson and Demo_MultiPerson, cam01..04, with
their Calib.qca.txt), each view runs through the pipeline twice: once as a user without a calibration runs it
(the default 60 degree horizontal FOV, no lens distortion) and once with `--calibration Calib.qca.txt#camNN`
(intrinsics and undistorted keypoints). The reference is the pelvis triangulated from the clip's 4 views
(model.data.multiview.associate on the 2D keypoints, which do not depend on the camera model), in each view's
calibrated camera frame. Printed per view and for all: the median distance (mm) of the placed root
(PersonPose.root, what the files record) from the triangulated pelvis, and the median depth error (mm),
for both runs; the people the detector finds are the same in both (2D does not change), so the rows compare
like for like. Run:

    nice -n 10 .venv/bin/python -m bench.calibration_placement [--frames 100] [--clips single,multi]
"""

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from app.calibration import load_calibration
from app.processor import FrameProcessor, PipelineConfig, iter_results
from app.sources import open_source
from model.data.multiview import associate, read_qca

DEMOS = {"single": "Demo_SinglePerson", "multi": "Demo_MultiPerson"}


def demo_folder(name: str) -> Path:
    import Pose2Sim

    return Path(Pose2Sim.__file__).parent / DEMOS[name]


def run_view(processor: FrameProcessor, video: Path, frames: int) -> list[dict]:
    """Per frame {track_id: (keypoints_2d (17, 3) px, root (3,) mm camera)} of the people seen that frame."""
    processor.reset()
    out = []
    for result in iter_results(processor, open_source(str(video)), frames):
        out.append({t.track_id: (t.pose.keypoints_2d, t.pose.root) for t in result.tracks if t.missed == 0})
    return out


def triangulated(views: list[list[dict]], cameras: list) -> dict:
    """{(view, frame, track_id): pelvis (3,) mm in that view's camera frame} for people seen in 2+ views."""
    out = {}
    for frame in range(min(len(v) for v in views)):
        ids = [list(view[frame]) for view in views]
        poses = [np.array([view[frame][i][0] for i in ids[k]]).reshape(-1, 17, 3) for k, view in enumerate(views)]
        for match in associate(poses, cameras):
            pelvis = match.joints_world[0]
            if not np.isfinite(pelvis).all():
                continue
            for view, candidate in enumerate(match.candidate):
                if candidate >= 0:
                    out[view, frame, ids[view][candidate]] = cameras[view].to_camera(pelvis)
    return out


def errors(view_frames: list[dict], reference: dict, view: int) -> tuple[np.ndarray, np.ndarray]:
    """(distance, |depth difference|) in mm of each matched track-frame's root from the triangulated pelvis."""
    rows = [(np.linalg.norm(root - reference[view, f, tid]), abs(root[2] - reference[view, f, tid][2]))
            for f, people in enumerate(view_frames) for tid, (_, root) in people.items() if (view, f, tid) in reference]
    return (np.array([r[0] for r in rows]), np.array([r[1] for r in rows])) if rows else (np.zeros(0), np.zeros(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100, help="frames per view (the clips have 100)")
    parser.add_argument("--clips", default="single,multi", help="which demos: single, multi (default both)")
    args = parser.parse_args()
    default_processor = FrameProcessor(PipelineConfig())
    print(f"{'view':<16} {'pairs':>5}  root vs triangulated pelvis, median mm: default FOV -> calibrated; "
          f"depth error: default -> calibrated")
    every = {"default": ([], []), "calibrated": ([], [])}
    for clip in args.clips.split(","):
        folder = demo_folder(clip)
        calibration_file = folder / "calibration" / "Calib.qca.txt"
        cameras = read_qca(str(calibration_file))
        runs = {"default": [], "calibrated": []}
        for camera in cameras:
            video = folder / "videos" / f"{camera.name}.mp4"
            runs["default"].append(run_view(default_processor, video, args.frames))
            config = replace(PipelineConfig(), calibration=load_calibration(f"{calibration_file}#{camera.name}"))
            calibrated = FrameProcessor(config, detector=default_processor.detector, backend=default_processor.backend)
            runs["calibrated"].append(run_view(calibrated, video, args.frames))
        # The 2D keypoints are the same in both runs (the camera model only moves people in 3D).
        reference = triangulated(runs["calibrated"], cameras)
        for view, camera in enumerate(cameras):
            row = {name: errors(runs[name][view], reference, view) for name in runs}
            for name, (dist, depth) in row.items():
                every[name][0].append(dist), every[name][1].append(depth)
            med = lambda v: float(np.median(v)) if len(v) else float("nan")
            print(f"{clip + '/' + camera.name:<16} {len(row['default'][0]):>5}  {med(row['default'][0]):>6.0f} -> "
                  f"{med(row['calibrated'][0]):>6.0f}            {med(row['default'][1]):>6.0f} -> "
                  f"{med(row['calibrated'][1]):>6.0f}", flush=True)
    dist = {name: np.concatenate(every[name][0]) for name in every}
    depth = {name: np.concatenate(every[name][1]) for name in every}
    print(f"all views: root vs triangulated pelvis, median {np.median(dist['default']):.0f} mm with the default FOV, "
          f"{np.median(dist['calibrated']):.0f} mm with the calibration ({len(dist['default'])} / "
          f"{len(dist['calibrated'])} track-frames); depth error {np.median(depth['default']):.0f} -> "
          f"{np.median(depth['calibrated']):.0f} mm")
    default_processor.close()


if __name__ == "__main__":
    main()
