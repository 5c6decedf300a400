"""Offscreen 3D render time per frame: meshes moved with set_geometry_transform vs rebuilt every frame.

    .venv/bin/python -m bench.render [--frames 40] [--width 640 --height 480]

Both ways draw the same skeletons (17 joint spheres + 16 bone cylinders per person, ground grid)
with the real Open3D OffscreenRenderer, for 1 and 4 people who sway a little every frame; the
time per frame covers the scene update and render_to_image. The baseline is the rebuild, run in
the same process; the ratio says how much faster moving the meshes is.
"""

import argparse
import os
import statistics
import time

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")

import numpy as np  # noqa: E402
import open3d as o3d  # noqa: E402
from open3d.visualization import rendering  # noqa: E402

from app.colors import track_color  # noqa: E402
from model.net.skeleton import BONES  # noqa: E402
from app.types import PersonPose, Track  # noqa: E402
from app.ui.viewport3d import SkeletonViewport, ViewportConfig, bone_transform  # noqa: E402

# Root-relative standing pose, camera axes (x right, y down), mm.
STANDING_MM = np.array([
    (0, 0, 0), (-130, 0, 0), (-130, 450, 0), (-130, 880, 0), (130, 0, 0), (130, 450, 0), (130, 880, 0),
    (0, -230, 0), (0, -480, 0), (0, -580, -90), (0, -700, 0),
    (180, -460, 0), (200, -200, 0), (210, 40, 0), (-180, -460, 0), (-200, -200, 0), (-210, 40, 0),
], dtype=np.float64)


def people_at(frame: int, count: int) -> list[Track]:
    """`count` people side by side 4-5 m away, arms and heads swaying with the frame number."""
    tracks = []
    for person in range(count):
        joints = STANDING_MM.copy()
        sway = 80 * np.sin(0.3 * frame + person)
        joints[[12, 13, 15, 16], 0] += sway
        joints[[9, 10], 0] += sway / 4
        root = np.array([(person - (count - 1) / 2) * 900.0, 100.0, 4000.0 + 300 * (person % 2)])
        keypoints = np.ones((17, 3))
        tracks.append(Track(person, PersonPose(np.zeros(4), keypoints, joints, root, 1.0), age=frame))
    return tracks


class RebuildingViewport(SkeletonViewport):
    """The baseline: every person's meshes are removed and created anew each frame."""

    def update(self, tracks) -> None:
        scene = self._renderer.scene
        config = self.config
        for name in getattr(self, "_rebuilt", []):
            scene.remove_geometry(name)
        self._rebuilt = []
        for track in tracks:
            material = rendering.MaterialRecord()
            material.shader = "defaultLit"
            material.base_color = [*track_color(track.track_id), 1.0]
            joints = self.to_world(track.pose.joints_camera)
            for j, point in enumerate(joints):
                sphere = o3d.geometry.TriangleMesh.create_sphere(config.joint_radius_m, config.sphere_resolution)
                sphere.translate(point)
                sphere.compute_vertex_normals()
                self._add(f"r{track.track_id}_j{j}", sphere, material)
            for b, (parent, child) in enumerate(BONES):
                cylinder = o3d.geometry.TriangleMesh.create_cylinder(1.0, 1.0, resolution=10, split=1)
                cylinder.transform(bone_transform(joints[parent], joints[child], config.bone_radius_m))
                cylinder.compute_vertex_normals()
                self._add(f"r{track.track_id}_b{b}", cylinder, material)

    def _add(self, name, mesh, material) -> None:
        self._renderer.scene.add_geometry(name, mesh, material)
        self._renderer.scene.scene.geometry_shadows(name, False, False)  # as the app does
        self._rebuilt.append(name)


def time_per_frame(viewport: SkeletonViewport, people: int, frames: int, warmup: int = 5) -> tuple[float, float]:
    """(median wall ms, mean process CPU ms) for update + render over `frames` frames.

    CPU time (all threads of this process, Open3D's render threads included) is given as well
    because wall time on a shared 2-core machine mostly measures the other processes.
    """
    # Place the camera and the grid once from the first pose, as the app does.
    SkeletonViewport.update(viewport, people_at(0, people))
    viewport.reset_view()
    if isinstance(viewport, RebuildingViewport):
        SkeletonViewport.update(viewport, [])  # the rebuild draws its own meshes
    times = []
    for frame in range(warmup + frames):
        if frame == warmup:
            cpu_start = time.process_time()
        start = time.perf_counter()
        viewport.update(people_at(frame, people))
        image = viewport.render()
        if frame >= warmup:
            times.append((time.perf_counter() - start) * 1000)
    cpu_ms = (time.process_time() - cpu_start) * 1000 / frames
    assert image.mean() > 0
    return statistics.median(times), cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    args = parser.parse_args()
    config = ViewportConfig(width=args.width, height=args.height)
    print(f"offscreen render, {args.width}x{args.height}, median of {args.frames} frames, {os.cpu_count()} CPUs")
    print("ms per frame (update + render): wall median / CPU mean; ratio = rebuild / transform")
    print(f"{'people':>6} {'rebuild wall':>13} {'transform wall':>15} {'ratio':>6}"
          f" {'rebuild CPU':>12} {'transform CPU':>14} {'ratio':>6}")
    for people in (1, 4):
        moved = SkeletonViewport(config)
        fast, fast_cpu = time_per_frame(moved, people, args.frames)
        moved.close()
        rebuilt = RebuildingViewport(config)
        slow, slow_cpu = time_per_frame(rebuilt, people, args.frames)
        rebuilt.close()
        print(f"{people:>6} {slow:>13.1f} {fast:>15.1f} {slow / fast:>5.2f}x"
              f" {slow_cpu:>12.1f} {fast_cpu:>14.1f} {slow_cpu / fast_cpu:>5.2f}x")


if __name__ == "__main__":
    main()
