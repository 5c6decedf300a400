"""Benchmark: constant bones, foot sliding and the floor on the project's real clips (issue 14).

Per clip (the clip list of bench/tracking_quality.py) the pipeline runs with its motion layer; the
network's joints of every track are then refined as a recording's files are (app.motion.layer.refine_tracks:
each track's final bones, one floor for the clip), once with foot pinning and once without. Printed:
- bones: median over tracks of the per-bone variation (std / mean of its length over the track, median
  over the 16 bones) of the raw network joints and of the fitted joints (0 by construction);
- fit: mean distance (mm) of the fitted joints from the raw ones, and the mean 2D reprojection error (px,
  joints with confidence >= 0.3) of the raw and of the fitted joints against the 2D keypoints;
- sliding: how far (mm per frame, along the floor, world frame) an ankle in contact in two consecutive
  frames moves, median and 90th percentile, without and with pinning; contact: share of foot-frames
  in contact;
- floor: the camera height (mm) and pitch / roll (degrees) the floor gives, and, for the calibrated
  Pose2Sim clips, the calibration's (Calib.qca.txt: its world is Z up with the floor at Z = 0). Those
  clips run with the calibrated horizontal field of view (36 degrees; the default 60 would squeeze depth);
- angles (issue 23: the floor decides where people stand, never how): per track, the median over frames of
  |angle(fitted) - angle(raw)| for every joint angle (app.motion.angles.every_joint_angle), the worst
  joint's; per clip the worst track; and the share of the tracks' frames placed by the floor;
- placement, on the calibrated Pose2Sim views: every view's tracks are matched across the clip's views
  each frame (model.data.multiview.associate on their 2D keypoints) and triangulated; the median distance
  (mm, camera space) of the track's root from the triangulated pelvis, for the network's root (root_raw)
  and for the placed root (after the floor and pinning), and the same over the frames placed by the floor;
- motion ms/frame: the live motion step's cost inside the pipeline (FrameResult.timings_ms["motion"]), and
  its share of the whole frame, plus the layer alone on 3 synthetic people and its ratio to the layer's bones
  and floor alone (feet=False: no placement, contact or pinning), in the same process.
Run: .venv/bin/python -m bench.motion_quality [--frames 100] [--clips N] [--card OTHER.card.json]
"""

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from app.motion.angles import EVERY_ANGLE_NAMES, every_joint_angle
from app.motion.bones import bone_lengths, reprojection_px
from app.motion.contact import ContactConfig
from app.motion.layer import MotionConfig, MotionLayer, PersonInput, refine_tracks
from app.processor import FrameProcessor, PipelineConfig, iter_results
from app.sources import open_source
from bench.tracking_quality import clips, foreground_ids, shown


def calibrated_camera(path: str):
    """The calibration's camera (model.data.multiview.Camera) of a Pose2Sim clip, or None."""
    if "Demo_" not in path:
        return None
    from model.data.multiview import read_qca

    folder = Path(path).parents[1]
    cams = {c.name: c for c in read_qca(str(folder / "calibration" / "Calib.qca.txt"))}
    return cams.get(Path(path).stem)


def calibration(path: str):
    """(height mm, pitch deg, roll deg, horizontal FOV deg) of a Pose2Sim clip's camera, or None."""
    cam = calibrated_camera(path)
    if cam is None:
        return None
    forward = cam.R.T @ np.array([0.0, 0.0, 1.0])  # camera axes in the calibration's world (Z up)
    right = cam.R.T @ np.array([1.0, 0.0, 0.0])
    fov = float(np.degrees(2 * np.arctan(cam.size[0] / 2 / cam.K[0, 0])))
    return (float(cam.center[2]), float(np.degrees(np.arcsin(-forward[2]))),
            float(np.degrees(np.arcsin(right[2]))), fov)


def collect(processor: FrameProcessor, path: str, frames: int) -> tuple[list, list, object]:
    """Per frame (t, [PersonInput of the foreground people, network joints]), the motion step's ms per frame,
    and the camera intrinsics."""
    processor.reset()
    inputs, cost, camera, heights = [], [], None, []
    for result in iter_results(processor, open_source(path), frames):
        camera = result.camera
        people = [PersonInput(t.track_id, t.pose.joints_3d_raw, t.pose.root_raw, t.pose.keypoints_2d, result.camera)
                  for t in result.tracks if t.missed == 0]
        inputs.append((result.frame.time_s, people))
        heights.append(shown(result))
        cost.append((result.timings_ms.get("motion", 0.0), result.timings_ms.get("total", 0.0),
                     sum(1 for t in result.tracks if t.missed == 0)))
    ids = foreground_ids(heights)  # background people (bench.tracking_quality) left out
    inputs = [(t, [p for p in people if p.track_id in ids]) for t, people in inputs]
    return inputs, cost, camera


def sliding(world, outputs: list) -> tuple[np.ndarray, float]:
    """(mm/frame along the floor of ankles in contact in consecutive frames, share of foot-frames in contact)."""
    steps, contact_frames, foot_frames = [], 0, 0
    last: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for frame in outputs:
        seen = set()
        for p in frame:
            ankles = world.to_world((p.joints_3d + p.root)[[3, 6]])[:, [0, 2]]
            contact_frames += int(p.contact.sum())
            foot_frames += 2
            if p.track_id in last:
                before, was = last[p.track_id]
                both = was & p.contact
                steps += list(np.linalg.norm(ankles - before, axis=1)[both])
            last[p.track_id] = (ankles, p.contact)
            seen.add(p.track_id)
        for tid in list(last):
            if tid not in seen:
                del last[tid]  # a gap: no step across it
    return np.array(steps), contact_frames / max(foot_frames, 1)


def bone_variation(joints: np.ndarray) -> float:
    """Median over bones of std/mean of the bone's length over the frames; joints (N, 17, 3)."""
    lengths = bone_lengths(joints)[:, 1:]
    return float(np.median(lengths.std(axis=0) / np.maximum(lengths.mean(axis=0), 1e-9)))


def reprojection(joints_camera: np.ndarray, keypoints: np.ndarray, camera) -> np.ndarray:
    """Pixel distances of the confident joints' projections from their keypoints."""
    seen = keypoints[:, 2] >= 0.3
    distances = reprojection_px(joints_camera, keypoints, camera.fx, camera.fy, camera.cx, camera.cy)
    return distances[seen]


def measure(inputs: list, camera) -> dict:
    config = MotionConfig()
    lengths, world, pinned = refine_tracks(lambda: iter(inputs), config)
    pinned = list(pinned)
    _, _, loose = refine_tracks(lambda: iter(inputs), replace(config, contact=ContactConfig(pin=False)))
    loose = list(loose)
    raw_by, fit_by, dist, px_raw, px_fit, roots = {}, {}, [], [], [], {}
    for index, ((_, people), frame) in enumerate(zip(inputs, pinned)):
        for person, out in zip(people, frame):
            raw_by.setdefault(person.track_id, []).append(person.joints_3d)
            fit_by.setdefault(person.track_id, []).append(out.joints_3d)
            roots[index, person.track_id] = (person.root, out.root, out.on_floor)
    for (_, people), frame in zip(inputs, loose):  # the fit alone, before pinning moves the legs
        for person, out in zip(people, frame):
            dist.append(np.linalg.norm(out.joints_3d - person.joints_3d, axis=-1).mean())
            px_raw += list(reprojection(person.joints_3d + person.root, person.keypoints_2d, camera))
            px_fit += list(reprojection(out.joints_3d + out.root, person.keypoints_2d, camera))
    long_tracks = [tid for tid, j in raw_by.items() if len(j) >= 10]
    raw_vars = [bone_variation(np.array(raw_by[t])) for t in long_tracks]
    row = {
        "tracks": len(long_tracks),
        "raw_vars": raw_vars,
        "raw_var": float(np.median(raw_vars)) if raw_vars else np.nan,
        "fit_var": float(np.median([bone_variation(np.array(fit_by[t])) for t in long_tracks])) if long_tracks else np.nan,
        "fit_mm": float(np.mean(dist)) if dist else np.nan,
        "px_raw": float(np.mean(px_raw)) if px_raw else np.nan,
        "px_fit": float(np.mean(px_fit)) if px_fit else np.nan,
        "world": world,
        "angles": {t: angle_change(np.array(fit_by[t]), np.array(raw_by[t])) for t in long_tracks},
        "roots": roots,
    }
    if world is not None:
        before, row["contact"] = sliding(world, loose)
        after, _ = sliding(world, pinned)
        row["slide_before"] = before
        row["slide_after"] = after
    return row


def angle_change(fitted: np.ndarray, raw: np.ndarray) -> tuple[float, str]:
    """(worst over joints of the median over frames of |angle(fitted) - angle(raw)| (degrees), that joint's
    angle name); fitted and raw (N, 17, 3)."""
    change = np.nanmedian(np.abs(every_joint_angle(fitted) - every_joint_angle(raw)), axis=0)
    worst = int(np.nanargmax(change))
    return float(change[worst]), EVERY_ANGLE_NAMES[worst]


def triangulated_roots(views: list) -> dict:
    """{(view, frame, track_id): triangulated pelvis (3,) in that view's calibrated camera mm} for the tracks
    seen in 2 views or more; views: per view of one clip (its calibrated Camera, its inputs as collect() gives
    them). The matching and triangulation are bench.calibration_placement's."""
    from bench.calibration_placement import triangulated

    frames = [[{p.track_id: (p.keypoints_2d, p.root) for p in people} for _, people in inputs] for _, inputs in views]
    return triangulated(frames, [camera for camera, _ in views])


def placement_errors(roots: dict, reference: dict, view: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(network root error, placed root error, placed by the floor) per matched track-frame of one view, mm."""
    rows = [(np.linalg.norm(raw - reference[view, frame, tid]), np.linalg.norm(placed - reference[view, frame, tid]),
             by_floor) for (frame, tid), (raw, placed, by_floor) in roots.items() if (view, frame, tid) in reference]
    if not rows:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool)
    raw, placed, by_floor = (np.array(column) for column in zip(*rows))
    return raw, placed, by_floor.astype(bool)


def layer_cost(frames: int = 300, feet: bool = True) -> float:
    """ms per frame of MotionLayer.step on 3 synthetic people (the layer alone), with 2D keypoints and a camera
    so that placement by the floor runs too; feet=False: constant bones and the floor only."""
    rng = np.random.default_rng(0)
    base = np.zeros((17, 3))
    from model.net.skeleton import PARENTS
    from app.types import CameraIntrinsics
    for j in range(1, 17):
        base[j] = base[PARENTS[j]] + rng.normal(0, 1, 3) * 100 + np.array([0, 300.0 if j in (2, 3, 5, 6) else -200.0, 0])
    camera = CameraIntrinsics.from_fov(1280, 720, 60.0)

    def person(k: int, f: int) -> PersonInput:
        joints, root = base + rng.normal(0, 10, (17, 3)), np.array([600.0 * k, 200.0, 4000.0 + 10 * f])
        absolute = joints + root
        uv = absolute[:, :2] / absolute[:, 2:] * [camera.fx, camera.fy] + [camera.cx, camera.cy]
        return PersonInput(k, joints, root, np.concatenate([uv, np.ones((17, 1))], axis=1), camera)

    layer = MotionLayer(feet=feet)
    people = [[person(k, f) for k in range(3)] for f in range(frames)]
    start = time.perf_counter()
    for f, frame in enumerate(people):
        layer.step(frame, f / 30.0)
    return (time.perf_counter() - start) * 1000.0 / frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--clips", type=int, default=0, help="only the first N clips (0 = all)")
    parser.add_argument("--card", help="run the cascade backend with this model card instead of the shipped one")
    args = parser.parse_args()
    found = clips()[: args.clips or None]
    processors: dict[float, FrameProcessor] = {}
    print(f"{'clip':<24} {'tracks':>6} {'bones raw':>9} {'fitted':>6} {'fit mm':>6} {'px raw/fit':>10} {'contact':>7} "
          f"{'slide before med/p90':>21} {'after med/p90':>14} {'height mm':>15} {'pitch deg':>13} {'roll deg':>13}")
    slides_before, slides_after, costs, raw_vars, angle_rows, demos = [], [], [], [], [], {}
    for path, _ in found:
        calib = calibration(path)
        fov = round(calib[3], 1) if calib else PipelineConfig().horizontal_fov_deg
        if fov not in processors:
            config = replace(PipelineConfig(), horizontal_fov_deg=fov)
            backend = None
            if args.card:
                from app.backends.cascade import CascadeBackend

                backend = CascadeBackend(card_path=args.card, engine=config.engine, device=config.device)
            processors[fov] = FrameProcessor(config, backend=backend)
        inputs, cost, camera = collect(processors[fov], path, args.frames)
        costs += cost
        row = measure(inputs, camera)
        raw_vars += row["raw_vars"]
        name = "/".join(Path(path).parts[-3:]) if "Demo" in path else Path(path).name
        name = name.replace("Demo_", "").replace("/videos", "").replace(".mp4", "")
        on_floor = np.mean([by_floor for _, _, by_floor in row["roots"].values()]) if row["roots"] else np.nan
        angle_rows.append((name, row["angles"], on_floor))
        if calib:
            demos.setdefault(str(Path(path).parents[1]), []).append((name, calibrated_camera(path), inputs, row["roots"]))
        line = (f"{name:<24} {row['tracks']:>6} {row['raw_var']:>9.1%} {row['fit_var']:>6.1%} {row['fit_mm']:>6.1f} "
                f"{row['px_raw']:>4.1f}/{row['px_fit']:>4.1f} ")
        world = row["world"]
        if world is None:
            print(line + "  (no floor)")
            continue
        b, a = row["slide_before"], row["slide_after"]
        slides_before.append(b)
        slides_after.append(a)
        pct = lambda v, q: np.percentile(v, q) if len(v) else np.nan
        line += (f"{row['contact']:>7.0%} {pct(b, 50):>10.1f} / {pct(b, 90):>6.1f}   {pct(a, 50):>5.1f} / {pct(a, 90):>5.1f} "
                 f"{world.height_mm:>7.0f}")
        if calib:
            line += (f" ({calib[0]:>5.0f}) {world.pitch_deg:>5.1f} ({calib[1]:>4.1f}) "
                     f"{world.roll_deg:>5.1f} ({calib[2]:>5.1f})")
        else:
            line += f"         {world.pitch_deg:>5.1f}        {world.roll_deg:>5.1f}"
        print(line, flush=True)
    print(f"all clips: bone-length variation of the network's joints, median over {len(raw_vars)} tracks: "
          f"{np.median(raw_vars):.1%}")
    b, a = np.concatenate(slides_before), np.concatenate(slides_after)
    print(f"all clips: sliding in contact {np.median(b):.1f} mm/frame median, {np.percentile(b, 90):.1f} p90 before "
          f"pinning; {np.median(a):.1f} median, {np.percentile(a, 90):.1f} p90 after ({len(a)} foot-steps)")
    print(f"\n{'clip':<24} joint-angle change fitted vs raw per track: worst joint's median over frames, deg "
          f"(floor-placed share of the clip's track-frames)")
    worst_all = []
    for name, angles, on_floor in angle_rows:
        worst_all += [a for a, _ in angles.values()]
        tracks = ", ".join(f"{tid}: {a:.1f} {joint}" for tid, (a, joint) in sorted(angles.items()))
        print(f"{name:<24} {tracks}  ({on_floor:.0%} on the floor)")
    if worst_all:
        print(f"all clips: worst per-track median joint-angle change {max(worst_all):.1f} deg over {len(worst_all)} tracks "
              f"(median track {np.median(worst_all):.1f})")
    if demos:
        print(f"\n{'view':<24} root vs triangulated pelvis, median mm: network -> placed (frames); "
              f"on the floor-placed frames: network -> placed (frames)")
        every_raw, every_placed, every_floor = [], [], []
        for views in demos.values():
            reference = triangulated_roots([(camera, inputs) for _, camera, inputs, _ in views])
            for view, (name, _, _, roots) in enumerate(views):
                raw, placed, by_floor = placement_errors(roots, reference, view)
                every_raw.append(raw), every_placed.append(placed), every_floor.append(by_floor)
                med = lambda v: float(np.median(v)) if len(v) else np.nan
                print(f"{name:<24} {med(raw):>6.0f} -> {med(placed):>6.0f} ({len(raw)})   "
                      f"{med(raw[by_floor]):>6.0f} -> {med(placed[by_floor]):>6.0f} ({int(by_floor.sum())})")
        raw, placed, by_floor = (np.concatenate(v) for v in (every_raw, every_placed, every_floor))
        if len(raw):
            print(f"all calibrated views: root vs triangulated pelvis, median {np.median(raw):.0f} mm network, "
                  f"{np.median(placed):.0f} mm placed over {len(raw)} track-frames; floor-placed frames "
                  f"({int(by_floor.sum())}): {np.median(raw[by_floor]) if by_floor.any() else np.nan:.0f} -> "
                  f"{np.median(placed[by_floor]) if by_floor.any() else np.nan:.0f} mm")
    cost = np.array(costs)
    three = cost[cost[:, 2] >= 3]
    print(f"motion step in the pipeline: {cost[:, 0].mean():.2f} ms/frame ({cost[:, 0].sum() / cost[:, 1].sum():.1%} "
          f"of the frame) over {len(cost)} frames; {three[:, 0].mean() if len(three) else float('nan'):.2f} ms on the "
          f"{len(three)} frames with 3+ people")
    # The layer alone, against its own bones-and-floor part (no placement, contact or pinning), same process.
    full = layer_cost()
    fit_only = layer_cost(feet=False)
    print(f"the layer alone on 3 synthetic people: {full:.2f} ms/frame, {full / fit_only:.2f}x its bones and floor alone "
          f"({fit_only:.2f} ms/frame)")
    for processor in processors.values():
        processor.close()


if __name__ == "__main__":
    main()
