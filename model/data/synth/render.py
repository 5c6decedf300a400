"""Open3D offscreen rendering of posed bodies, and exact per-pixel person ids by ray casting.

Open3D 0.19's OffscreenRenderer on Mesa's software EGL (EGL_PLATFORM=surfaceless, set here before
open3d is imported; without it and without a display it segfaults). One renderer is made once and
reused: post-processing off (it halves the time), the camera set before geometries are added
(../shared/NOTES.md). Meshes carry vertex colours (skin, clothes, hair), lit by a sun light and
ambient light whose direction and strength vary per scene.

Which person covers each pixel (the target's mask, compositing onto a background, and whether a
joint is hidden by another person) comes from Open3D's ray casting (Embree) of the same meshes
through the same camera, not from the rendered colours.
"""

import os
from dataclasses import dataclass

import numpy as np

from model.data.synth.camera import Camera


@dataclass(frozen=True)
class Lighting:
    """Sun direction (world, unit, pointing from the light), sun and ambient intensity (Open3D units), colour tint."""

    direction: tuple[float, float, float] = (0.3, 0.5, -1.0)
    sun_intensity: float = 60000.0
    ambient_intensity: float = 25000.0
    colour: tuple[float, float, float] = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class Body:
    """One posed body to draw. vertices (V, 3) world m; faces (F, 3) int; colours (V, 3) RGB in [0, 1]."""

    vertices: np.ndarray
    faces: np.ndarray
    colours: np.ndarray


def open3d_intrinsics(K: np.ndarray) -> np.ndarray:
    """Our K (pixel centres at integers) -> the K Open3D wants (it puts pixel i's centre at i + 0.5; measured:
    a box rendered and ray cast covered exactly the pixels whose centres its projection spans only with this shift)."""
    out = np.array(K, dtype=np.float64, copy=True)
    out[0, 2] += 0.5
    out[1, 2] += 0.5
    return out


def _import_open3d():
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    import open3d as o3d

    return o3d


# Open3D 0.19 kills the process when an OffscreenRenderer is destroyed while another one exists, and at
# exit when two exist (checked: a 256 px and a 128 px renderer). So a process makes one, at one size, and
# keeps it; Renderer.close() only clears its geometry.
_OFFSCREEN: dict[int, object] = {}


def _offscreen(o3d, size: int):
    if size not in _OFFSCREEN:
        if _OFFSCREEN:
            raise RuntimeError(f"Open3D allows one offscreen renderer per process; it renders {next(iter(_OFFSCREEN))} px, "
                               f"not {size} px")
        renderer = o3d.visualization.rendering.OffscreenRenderer(size, size)
        renderer.scene.view.set_post_processing(False)
        renderer.scene.set_background([0.0, 0.0, 0.0, 1.0])
        _OFFSCREEN[size] = renderer
    return _OFFSCREEN[size]


class Renderer:
    """Renders square crops of size x size px; create once, call render() per scene, close() at the end."""

    def __init__(self, size: int) -> None:
        o3d = _import_open3d()
        self.o3d = o3d
        self.size = int(size)
        self._renderer = _offscreen(o3d, self.size)
        self._renderer.scene.clear_geometry()
        material = o3d.visualization.rendering.MaterialRecord()
        material.shader = "defaultLit"
        material.base_roughness = 0.8
        material.base_reflectance = 0.2
        self._material = material
        self._names: list[str] = []

    def render(self, bodies: list[Body], camera: Camera, lighting: Lighting) -> np.ndarray:
        """size x size x 3 uint8 RGB; black where no body is."""
        o3d = self.o3d
        scene = self._renderer.scene
        # The camera goes first: geometries added before setup_camera did not show (NOTES.md).
        self._renderer.setup_camera(open3d_intrinsics(camera.K), camera.extrinsic(), self.size, self.size)
        for name in self._names:
            scene.remove_geometry(name)
        self._names = []
        for i, body in enumerate(bodies):
            mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(body.vertices.astype(np.float64)),
                                             o3d.utility.Vector3iVector(body.faces.astype(np.int32)))
            mesh.vertex_colors = o3d.utility.Vector3dVector(np.clip(body.colours, 0, 1).astype(np.float64))
            mesh.compute_vertex_normals()
            name = f"body{i}"
            scene.add_geometry(name, mesh, self._material)
            self._names.append(name)
        scene.scene.set_sun_light(list(lighting.direction), list(lighting.colour), lighting.sun_intensity)
        scene.scene.enable_sun_light(True)
        scene.scene.set_indirect_light_intensity(lighting.ambient_intensity)
        return np.asarray(self._renderer.render_to_image()).copy()

    def close(self) -> None:
        self._renderer.scene.clear_geometry()
        self._names = []


def person_ids(bodies: list[Body], camera: Camera, size: int) -> tuple[np.ndarray, "RayScene"]:
    """(size, size) int16 index of the body seen at each pixel centre (-1: none), and the ray scene for later queries."""
    scene = RayScene(bodies)
    o3d = scene.o3d
    rays = o3d.t.geometry.RaycastingScene.create_rays_pinhole(
        o3d.core.Tensor(open3d_intrinsics(camera.K)), o3d.core.Tensor(camera.extrinsic()), size, size)
    hit = scene.scene.cast_rays(rays)
    ids = hit["geometry_ids"].numpy().astype(np.int64)
    ids = np.where(ids == scene.scene.INVALID_ID, -1, ids)
    return ids.astype(np.int16), scene


class RayScene:
    """Open3D ray-casting scene of the bodies (geometry id i = body i)."""

    def __init__(self, bodies: list[Body]) -> None:
        self.o3d = _import_open3d()
        self.scene = self.o3d.t.geometry.RaycastingScene()
        for body in bodies:
            self.scene.add_triangles(self.o3d.core.Tensor(body.vertices.astype(np.float32)),
                                     self.o3d.core.Tensor(body.faces.astype(np.uint32)))

    def first_hits(self, origin: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rays from origin (3,) towards targets (N, 3), world m -> (body id or -1 (N,), hit distance as a
        fraction of the distance to the target (N,), inf where nothing is hit)."""
        direction = targets - origin
        rays = np.concatenate([np.broadcast_to(origin, direction.shape), direction], axis=1).astype(np.float32)
        hit = self.scene.cast_rays(self.o3d.core.Tensor(rays))
        ids = hit["geometry_ids"].numpy().astype(np.int64)
        t = hit["t_hit"].numpy().astype(np.float64)  # in units of the ray direction's length
        ids = np.where(ids == self.scene.INVALID_ID, -1, ids)
        return ids, t


def occluded_by_others(scene: RayScene, camera_centre: np.ndarray, joints_world: np.ndarray, target: int,
                       bodies_count: int) -> np.ndarray:
    """(J,) bool: another body than `target` lies between the camera and each joint (joints are inside the body).

    Each ray is cast against every body except the target's by asking for the first hit and, where it is
    the target itself, casting again from just behind that hit.
    """
    occluded = np.zeros(len(joints_world), bool)
    origin = np.asarray(camera_centre, np.float64)
    todo = np.arange(len(joints_world))
    start = np.broadcast_to(origin, joints_world.shape).copy()
    for _ in range(8):  # a ray crosses the target's own surface a few times at most (arm, torso)
        if len(todo) == 0:
            break
        direction = joints_world[todo] - start[todo]
        rays = np.concatenate([start[todo], direction], axis=1).astype(np.float32)
        hit = scene.scene.cast_rays(scene.o3d.core.Tensor(rays))
        ids = hit["geometry_ids"].numpy().astype(np.int64)
        t = hit["t_hit"].numpy().astype(np.float64)
        before = np.isfinite(t) & (t < 1.0) & (ids != scene.scene.INVALID_ID)
        other = before & (ids != target) & (ids < bodies_count)
        occluded[todo[other]] = True
        again = before & (ids == target)
        # Move just past the target's surface and look again for someone else in front of the joint.
        start[todo[again]] = start[todo[again]] + direction[again] * (t[again, None] + 1e-4)
        todo = todo[again]
    return occluded
