"""Benchmark: what bodies cost (issue 25): fitting and skinning per person per frame, and the 3D view's frame rate
with bodies vs skeletons.

Motion: DeepMimic's walk (pybullet_data, model/data/mocap.py; 39 frames, looped).
1. app.body: the shape fit once per track (ms), then per frame the node rotations from the 17 joints and linear
   blend skinning, of the full body (13,718 vertices: the .glb export) and of the live view's mesh (2,502; the
   3D view), in ms per person per frame (the issue's budget: 5 ms on 2 cores).
2. The 3D view (app.ui.viewport3d.SkeletonViewport, Open3D offscreen, the view the window's child process
   runs) with --people walkers side by side: update + render per frame for skeletons, bodies and both, in this
   process one after the other, printed as frames per second and as ratios to skeletons (the issue's bar:
   bodies within 15 % of skeletons).

    .venv/bin/python -m bench.body_cost --frames 200          # on an idle machine; numbers depend on its load
    .venv/bin/python -m bench.body_cost --frames 5 --people 1 # a quick check that it runs

The window itself with bodies: bench/window.py --show bodies vs --show skeletons (under Xvfb).
"""

import argparse
import os
import statistics
import time

import numpy as np


def walk_mm() -> np.ndarray:
    """(F, 17, 3) mm, Y up, feet on Y = 0: DeepMimic's walk."""
    from model.data.mocap import load_clip, motion_files

    return load_clip(next(p for p in motion_files() if p.endswith("humanoid3d_walk.txt")))


def walkers(people: int) -> list[np.ndarray]:
    """(F, 17, 3) joints in camera space (mm, y down, z forward) per person: the walk, side by side, 4-5 m away."""
    walk = walk_mm() * np.array([1.0, -1.0, -1.0])  # Y up -> y down, turned about x (not mirrored)
    return [walk + np.array([-1200.0 + 1200.0 * k, 900.0, 4000.0 + 400.0 * k]) for k in range(people)]


def skinning_cost(frames: int) -> dict[str, float]:
    """{'fit': ms, 'full': per-frame ms median, 'full_p90', 'live', 'live_p90'} for one person."""
    from app.body.pose import posed_vertices, rest_frame
    from app.body.shape import bone_lengths_m, dense_skin, fit_shape, live_shape
    from model.data.synth.body_asset import read_body_asset

    asset = read_body_asset()
    skin = dense_skin(asset)
    joints = walk_mm() / 1000.0
    lengths = np.median(bone_lengths_m(joints), axis=0)
    fits = []
    for _ in range(5):
        start = time.perf_counter()
        shape = fit_shape(asset, lengths, skin)
        fits.append((time.perf_counter() - start) * 1000)
    rest = rest_frame(shape.joints)
    out = {"fit": statistics.median(fits)}
    for name, body in (("full", shape), ("live", live_shape(shape, asset))):
        per_frame = []
        for f in range(frames):
            start = time.perf_counter()
            posed_vertices(body, joints[f % len(joints)], rest)
            per_frame.append((time.perf_counter() - start) * 1000)
        out[name], out[f"{name}_p90"] = statistics.median(per_frame), float(np.percentile(per_frame, 90))
    return out


def view_fps(show: str, people: list[np.ndarray], frames: int) -> float:
    """Frames per second of update + render in the 3D view with these people drawn as `show`."""
    from app.types import PersonPose, Track
    from app.ui.viewport3d import SkeletonViewport, ViewportConfig

    viewport = SkeletonViewport(ViewportConfig(show=show))
    try:
        def tracks(f: int) -> list[Track]:
            out = []
            for k, joints in enumerate(people):
                j = joints[f % len(joints)]
                pose = PersonPose(np.zeros(4), np.zeros((17, 3)), j - j[0], j[0].copy(), 0.9)
                out.append(Track(k + 1, pose, age=f))
            return out

        for f in range(3):  # first frames: the renderer warms up, bodies are fitted
            viewport.update(tracks(f))
            viewport.render()
        start = time.perf_counter()
        for f in range(frames):
            viewport.update(tracks(f))
            viewport.render()
        return frames / (time.perf_counter() - start)
    finally:
        viewport.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="frames per measurement")
    parser.add_argument("--people", type=int, default=3, help="people in the 3D view")
    args = parser.parse_args()
    print(f"load average before: {', '.join(f'{v:.2f}' for v in os.getloadavg())}; {os.cpu_count()} CPUs")
    cost = skinning_cost(args.frames)
    print(f"body fit: {cost['fit']:.2f} ms per track (once)")
    for name, what in (("full", "full body, 13,718 vertices (.glb)"), ("live", "live mesh, 2,502 vertices (3D view)")):
        print(f"pose + skin, {what}: {cost[name]:.2f} ms per person per frame (median; p90 {cost[name + '_p90']:.2f}; "
              f"budget 5 ms)")
    people = walkers(args.people)
    fps = {show: view_fps(show, people, args.frames) for show in ("skeletons", "bodies", "both")}
    for show, value in fps.items():
        print(f"3D view, {args.people} people as {show}: {value:.1f} fps "
              f"({value / fps['skeletons']:.2f} x skeletons)")
    print(f"load average after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
