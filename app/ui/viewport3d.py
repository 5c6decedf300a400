"""The 3D viewport: every tracked person's skeleton in one shared space, rendered offscreen by Open3D.

Frames. The pipeline gives joints in camera space (millimetres, x right, y down, z forward). The
viewport draws in a "world" frame in metres that is the camera frame turned 180 degrees about x:
world = (x, -y, -z) / 1000. It is a rotation, not a mirror, so left stays left; up is +y and the
real camera sits at the origin looking down -z (the OpenGL convention Open3D's camera uses).
A camera that looks down (or is tilted) would show everyone leaning, so the world is also
levelled. Where the pipeline has estimated the floor (FrameResult.world, app.motion.floor), its normal is
rotated onto +y and the ground grid lies on that floor. Before that (or without the motion layer) the
people's mean ankles-to-thorax direction, smoothed over time and limited to config.max_level_deg, is
rotated onto +y (people stand upright, so that direction is "up") and the grid lies in the levelled
x-z plane at the lowest ankle height seen (smoothed over time).

Speed (see bench/render.py): every mesh is created once per track and then only moved with
scene.set_geometry_transform; bones are unit cylinders scaled and rotated onto each bone. On 2 CPU
cores (Mesa software EGL) a 640x480 frame costs 29-33 ms of CPU with one person and 50-59 ms with
four; rebuilding the meshes every frame instead costs only 2-18% more: rendering dominates.

Bodies (config.show / set_show: "skeletons", "bodies" or "both"): each track's anny body (app.body.live: shaped
to its bones, posed from its joints by linear blend skinning in numpy) is a TriangleMesh rebuilt every frame
(Open3D's renderer moves only whole geometries; bench/body_cost.py measures what that costs). Bodies are drawn
unlit with their shading baked into vertex colours (ambient + the sun's diffuse light, from the vertex normals):
lit, three bodies covered three times the pixels of their skeletons and took 49-53 ms to render against the
skeletons' 30-37 ms (2 loaded cores, same process); unlit they took 27 ms.
"""

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from app.body.live import BodyBank
from app.colors import track_color
from model.net.skeleton import BONES, JOINT_NAMES, NUM_JOINTS
from app.motion.floor import WorldFrame
from app.types import Track

# Open3D's EGL renderer crashes without a display unless it is told to run surfaceless.
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")

import open3d as o3d  # noqa: E402  (needs EGL_PLATFORM set first)
from open3d.visualization import rendering  # noqa: E402

ANKLES = (JOINT_NAMES.index("r_ankle"), JOINT_NAMES.index("l_ankle"))
THORAX = JOINT_NAMES.index("thorax")
MM_PER_M = 1000.0
SUN_DIRECTION = np.array([0.3, -1.0, -0.5])  # where the sun's light travels (world axes, y up)
BODY_AMBIENT = 0.35  # a body's shade facing away from the sun, as a share of its colour
SHOW_MODES = ("skeletons", "bodies", "both")  # what the 3D view draws of each person


@dataclass(frozen=True)
class ViewportConfig:
    """How the 3D view looks; sizes in pixels and metres."""

    width: int = 640  # render size; the widget scales the image, so this bounds the render cost
    height: int = 480
    fov_deg: float = 50.0  # vertical field of view of the viewing camera (not the video camera)
    joint_radius_m: float = 0.035  # big enough to read at 5 m, small enough not to merge
    bone_radius_m: float = 0.018
    sphere_resolution: int = 8  # round enough at this size; more triangles only cost time
    grid_half_size_m: float = 5.0  # a 10 m x 10 m floor covers a room-sized scene
    grid_step_m: float = 0.5
    # Colours are sRGB but come out linear (post-processing, which would re-encode them, is off):
    # 0.62 shows as about 90/255 and 0.315 as 20/255.
    grid_color: tuple[float, float, float] = (0.62, 0.62, 0.68)  # grey: no hue, so never a track colour
    background: tuple[float, float, float] = (0.315, 0.315, 0.35)  # dark, as the widget around it
    default_pitch_deg: float = 20.0  # look slightly down so that the floor shows
    floor_smoothing: float = 0.1  # weight of a new floor estimate; the grid must not jitter
    follow_smoothing: float = 0.1  # how fast the automatic view follows the people (per frame)
    level_with_people: bool = True  # rotate the people's "up" onto +y (tilted cameras)
    level_smoothing: float = 0.05  # weight of a new "up" estimate: one bending person must not tip the world
    max_level_deg: float = 60.0  # never tilt the world further than this from the camera's own up
    show: str = "skeletons"  # one of SHOW_MODES


def camera_mm_to_world_m(points_mm: np.ndarray) -> np.ndarray:
    """(..., 3) camera-space millimetres -> (..., 3) world metres (x, -y, -z)."""
    return points_mm * np.array([1.0, -1.0, -1.0]) / MM_PER_M


@dataclass(frozen=True)
class OrbitView:
    """The viewing camera: it looks at `target` from `distance` metres at yaw/pitch degrees.

    yaw 0, pitch 0 puts the eye on the +z side of the target, i.e. behind the real camera, which
    is how the video sees the scene.
    """

    target: tuple[float, float, float] = (0.0, 0.0, -3.0)
    yaw_deg: float = 0.0
    pitch_deg: float = 20.0
    distance: float = 4.0

    def eye(self) -> np.ndarray:
        yaw, pitch = math.radians(self.yaw_deg), math.radians(self.pitch_deg)
        offset = np.array([math.sin(yaw) * math.cos(pitch), math.sin(pitch), math.cos(yaw) * math.cos(pitch)])
        return np.asarray(self.target) + self.distance * offset


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """3x3 rotation taking unit vector a onto unit vector b about their common normal (Rodrigues)."""
    axis = np.cross(a, b)
    sin, cos = float(np.linalg.norm(axis)), float(np.dot(a, b))
    if sin < 1e-9:
        return np.eye(3)  # parallel; anti-parallel cannot happen within max_level_deg
    k = axis / sin
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + sin * cross + (1 - cos) * cross @ cross


def bone_transform(start: np.ndarray, end: np.ndarray, radius: float) -> np.ndarray:
    """4x4 that maps a unit cylinder (radius 1, height 1, centred, along z) onto start->end."""
    axis = end - start
    length = float(np.linalg.norm(axis))
    z = axis / length if length > 1e-9 else np.array([0.0, 0.0, 1.0])
    helper = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    transform = np.eye(4)
    transform[:3, :3] = np.stack([x * radius, y * radius, z * max(length, 1e-6)], axis=1)
    transform[:3, 3] = (start + end) / 2.0
    return transform


def translation(point: np.ndarray) -> np.ndarray:
    transform = np.eye(4)
    transform[:3, 3] = point
    return transform


class SkeletonViewport:
    """Owns one Open3D OffscreenRenderer; update(tracks) then render() -> (H, W, 3) uint8 RGB.

    Not thread-safe: create, use and close it on one thread (the GUI thread).
    """

    def __init__(self, config: ViewportConfig = ViewportConfig()):
        self.config = config
        self._sphere = o3d.geometry.TriangleMesh.create_sphere(1.0, resolution=config.sphere_resolution)
        self._sphere.compute_vertex_normals()
        self._cylinder = o3d.geometry.TriangleMesh.create_cylinder(1.0, 1.0, resolution=10, split=1)
        self._cylinder.compute_vertex_normals()
        self._track_ids: set[int] = set()  # tracks whose skeleton meshes exist in the scene
        self._body_ids: set[int] = set()  # tracks whose body mesh is in the scene
        self._bodies = BodyBank()  # reads the body asset when the first body is drawn
        self._faces = None  # the bodies' triangles as Open3D wants them, made once
        if config.show not in SHOW_MODES:
            raise ValueError(f"show must be one of {', '.join(SHOW_MODES)}, not {config.show!r}")
        self.show = config.show
        self._world: dict[int, np.ndarray] = {}  # track_id -> (17, 3) world metres, last update
        self._floor_y: float | None = None
        self._up = np.array([0.0, 1.0, 0.0])  # smoothed people's up, in the un-levelled world
        self._up_seen = False
        self.level = np.eye(3)  # rotation applied after camera_mm_to_world_m
        self._grid_centre = (math.nan, math.nan, math.nan)
        self.view = OrbitView(pitch_deg=config.default_pitch_deg)
        self._view_is_default = True  # no people seen yet: snap to them when they appear
        self._auto_view = True  # follow the people until the user orbits or zooms
        self._renderer = None
        self._open_renderer()

    def _open_renderer(self) -> None:
        config = self.config
        self._renderer = rendering.OffscreenRenderer(config.width, config.height)
        scene = self._renderer.scene
        scene.set_background([*config.background, 1.0])
        scene.view.set_post_processing(False)  # halves the software-rendering time
        scene.set_lighting(rendering.Open3DScene.LightingProfile.NO_SHADOWS, SUN_DIRECTION)
        # Brighter than the profile's default so that the track colours read as on the video.
        scene.scene.set_sun_light(SUN_DIRECTION.astype(np.float32), np.ones(3, np.float32), 150000)
        scene.scene.enable_sun_light(True)
        scene.scene.set_indirect_light_intensity(60000)
        self._apply_camera()  # before adding geometry: Open3D shows nothing otherwise
        self._add_grid()

    def resize(self, width: int, height: int) -> None:
        """A new render size (Open3D renderers have a fixed one): the renderer is rebuilt, people kept."""
        if (width, height) == (self.config.width, self.config.height) or self._renderer is None:
            return
        self._renderer.scene.clear_geometry()
        self._renderer = None
        self.config = dataclasses.replace(self.config, width=int(width), height=int(height))
        self._track_ids.clear()
        self._body_ids.clear()
        self._open_renderer()
        self._place(self._world)
        self._place_grid()

    # ---- scene content -------------------------------------------------------------------

    def _add_grid(self) -> None:
        half, step = self.config.grid_half_size_m, self.config.grid_step_m
        ticks = np.arange(-half, half + step / 2, step)
        points, lines = [], []
        for t in ticks:
            points += [(t, 0.0, -half), (t, 0.0, half), (-half, 0.0, t), (half, 0.0, t)]
            n = len(points)
            lines += [(n - 4, n - 3), (n - 2, n - 1)]
        grid = o3d.geometry.LineSet(o3d.utility.Vector3dVector(np.array(points)),
                                    o3d.utility.Vector2iVector(np.array(lines)))
        material = rendering.MaterialRecord()
        material.shader = "unlitLine"
        material.line_width = 1.5
        material.base_color = [*self.config.grid_color, 1.0]
        self._renderer.scene.add_geometry("grid", grid, material)
        self._renderer.scene.show_geometry("grid", False)  # until a floor height is known

    def _add_track(self, track_id: int) -> None:
        material = rendering.MaterialRecord()
        material.shader = "defaultLit"
        material.base_color = [*track_color(track_id), 1.0]
        material.base_roughness = 0.6
        scene = self._renderer.scene
        names = [(f"t{track_id}_j{joint}", self._sphere) for joint in range(NUM_JOINTS)]
        names += [(f"t{track_id}_b{bone}", self._cylinder) for bone in range(len(BONES))]
        for name, mesh in names:
            scene.add_geometry(name, mesh, material)
            # No shadow maps: nothing shows them here and they cost about 15% of the render time.
            scene.scene.geometry_shadows(name, False, False)
        self._track_ids.add(track_id)

    def _remove_track(self, track_id: int) -> None:
        scene = self._renderer.scene
        for joint in range(NUM_JOINTS):
            scene.remove_geometry(f"t{track_id}_j{joint}")
        for bone in range(len(BONES)):
            scene.remove_geometry(f"t{track_id}_b{bone}")
        self._track_ids.discard(track_id)

    def update(self, tracks: Sequence[Track], floor: WorldFrame | None = None) -> None:
        """Moves every track's skeleton to its pose this frame; tracks not given disappear.

        floor: the estimated floor (FrameResult.world): it levels the view and carries the grid.
        """
        raw = {}
        for track in tracks:
            joints = camera_mm_to_world_m(np.asarray(track.pose.joints_camera, dtype=np.float64))
            assert joints.shape == (NUM_JOINTS, 3)
            if np.isfinite(joints).all():
                raw[track.track_id] = joints
        floor_y = None
        if floor is not None:
            # The floor's up in this view's frame (camera axes turned about x); after levelling, every floor
            # point p has y = up . p = -height of the camera above the floor.
            up = floor.normal * np.array([1.0, -1.0, -1.0])
            self.level = rotation_between(up, np.array([0.0, 1.0, 0.0]))
            floor_y = -floor.offset / 1000.0
        elif self.config.level_with_people:
            self._update_level(list(raw.values()))
        world = {track_id: joints @ self.level.T for track_id, joints in raw.items()}
        self._place(world)
        self._world = world
        self._update_floor(floor_y)
        if self._auto_view:
            self._follow_people()

    def set_show(self, show: str) -> None:
        """Draw skeletons, bodies or both (SHOW_MODES) from now on; the people in view are redrawn at once."""
        if show not in SHOW_MODES:
            raise ValueError(f"show must be one of {', '.join(SHOW_MODES)}, not {show!r}")
        self.show = show
        self._place(self._world)

    def _place(self, world: dict[int, np.ndarray]) -> None:
        skeletons = world if self.show in ("skeletons", "both") else {}
        self._place_bodies(world if self.show in ("bodies", "both") else {})
        for track_id in self._track_ids - skeletons.keys():
            self._remove_track(track_id)
        scene = self._renderer.scene
        config = self.config
        for track_id, joints in skeletons.items():
            if track_id not in self._track_ids:
                self._add_track(track_id)
            joint_scale = np.diag([config.joint_radius_m] * 3 + [1.0])
            for joint in range(NUM_JOINTS):
                scene.set_geometry_transform(f"t{track_id}_j{joint}", translation(joints[joint]) @ joint_scale)
            for bone, (parent, child) in enumerate(BONES):
                scene.set_geometry_transform(
                    f"t{track_id}_b{bone}", bone_transform(joints[parent], joints[child], config.bone_radius_m))

    def _place_bodies(self, world: dict[int, np.ndarray]) -> None:
        """Every track's body posed at its joints (world m): its mesh replaced by this frame's."""
        scene = self._renderer.scene
        for track_id in self._body_ids - world.keys():
            scene.remove_geometry(f"t{track_id}_body")
        self._body_ids &= world.keys()
        self._bodies.keep(world.keys())
        if not world:
            return
        if self._faces is None:
            self._faces = o3d.utility.Vector3iVector(self._bodies.faces.astype(np.int32))
            self._body_material = rendering.MaterialRecord()
            self._body_material.shader = "defaultUnlit"  # the shading is in the vertex colours
        towards_sun = -SUN_DIRECTION / np.linalg.norm(SUN_DIRECTION)
        for track_id, vertices in self._bodies.pose(world).items():
            mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(vertices), self._faces)
            mesh.compute_vertex_normals()
            light = np.clip(np.asarray(mesh.vertex_normals) @ towards_sun, 0.0, 1.0)
            shade = BODY_AMBIENT + (1.0 - BODY_AMBIENT) * light
            mesh.vertex_colors = o3d.utility.Vector3dVector(shade[:, None] * np.asarray(track_color(track_id)))
            name = f"t{track_id}_body"
            if track_id in self._body_ids:
                scene.remove_geometry(name)
            scene.add_geometry(name, mesh, self._body_material)
            scene.scene.geometry_shadows(name, False, False)
            self._body_ids.add(track_id)

    def _update_level(self, skeletons: list[np.ndarray]) -> None:
        ups = []
        for joints in skeletons:
            up = joints[THORAX] - joints[list(ANKLES)].mean(axis=0)
            norm = np.linalg.norm(up)
            if norm > 0.3:  # a person folded up (or a broken pose) says little about "up"
                ups.append(up / norm)
        if not ups:
            return
        observed = np.mean(ups, axis=0)
        observed /= np.linalg.norm(observed)
        weight = self.config.level_smoothing if self._up_seen else 1.0
        self._up_seen = True
        up = self._up + weight * (observed - self._up)
        up /= np.linalg.norm(up)
        self._up = up
        # Limit the correction: beyond it, the people are more likely lying than the camera tilted.
        angle = math.acos(float(np.clip(up[1], -1.0, 1.0)))
        limit = math.radians(self.config.max_level_deg)
        if angle > limit:
            sideways = np.array([up[0], 0.0, up[2]])
            sideways /= max(np.linalg.norm(sideways), 1e-9)
            up = math.cos(limit) * np.array([0.0, 1.0, 0.0]) + math.sin(limit) * sideways
        self.level = rotation_between(up, np.array([0.0, 1.0, 0.0]))

    def to_world(self, points_mm: np.ndarray) -> np.ndarray:
        """(..., 3) camera-space millimetres -> (..., 3) displayed world metres (levelled)."""
        return camera_mm_to_world_m(np.asarray(points_mm, dtype=np.float64)) @ self.level.T

    def _update_floor(self, floor_y: float | None = None) -> None:
        """The grid's height: the estimated floor's (floor_y, m) when given, else the lowest ankle's."""
        if not self._world:
            return
        if floor_y is not None:
            lowest = floor_y
        else:
            lowest = min(float(joints[list(ANKLES), 1].min()) for joints in self._world.values())
        if self._floor_y is None:
            self._floor_y = lowest
        else:
            self._floor_y += self.config.floor_smoothing * (lowest - self._floor_y)
        # The grid moves only in whole steps sideways so that its lines stay still under people.
        centre = np.mean([joints[0] for joints in self._world.values()], axis=0)
        step = self.config.grid_step_m
        grid_centre = (round(centre[0] / step) * step, self._floor_y, round(centre[2] / step) * step)
        if grid_centre != self._grid_centre:
            self._grid_centre = grid_centre
            self._place_grid()

    def _place_grid(self) -> None:
        if math.isnan(self._grid_centre[0]):
            return
        self._renderer.scene.set_geometry_transform("grid", translation(np.array(self._grid_centre)))
        self._renderer.scene.show_geometry("grid", True)

    # ---- the viewing camera --------------------------------------------------------------

    def _apply_camera(self) -> None:
        config = self.config
        camera = self._renderer.scene.camera
        # Explicit near/far: setup_camera derives them from the (possibly empty) scene bounds.
        camera.set_projection(config.fov_deg, config.width / config.height, 0.05, 200.0,
                              rendering.Camera.FovType.Vertical)
        camera.look_at(np.asarray(self.view.target, dtype=np.float64), self.view.eye(), np.array([0.0, 1.0, 0.0]))

    def _framing(self) -> OrbitView | None:
        """The default view of the people now: their centre, from behind the real camera, from above."""
        if not self._world:
            return None
        all_joints = np.concatenate(list(self._world.values()))
        centre = (all_joints.min(axis=0) + all_joints.max(axis=0)) / 2.0
        extent = float(np.linalg.norm(all_joints.max(axis=0) - all_joints.min(axis=0)))
        # Far enough that everyone fits the field of view, and never in front of the real camera
        # by much (the video's viewpoint is the familiar one).
        tan_half = math.tan(math.radians(self.config.fov_deg) / 2.0) * min(1.0, self.config.width / self.config.height)
        fit = extent / (2.0 * tan_half) * 1.2
        distance = max(fit, -centre[2] + 0.5, 2.0)
        return OrbitView(tuple(float(c) for c in centre), 0.0, self.config.default_pitch_deg, distance)

    def _follow_people(self) -> None:
        """While the user has not taken the view, it drifts (smoothly) to keep everyone framed."""
        framing = self._framing()
        if framing is None:
            return
        if self._view_is_default:  # first sight of people: snap
            self.view, self._view_is_default = framing, False
        else:
            k = self.config.follow_smoothing
            target = np.asarray(self.view.target) + k * (np.asarray(framing.target) - np.asarray(self.view.target))
            distance = self.view.distance + k * (framing.distance - self.view.distance)
            self.view = OrbitView(tuple(float(c) for c in target), framing.yaw_deg, framing.pitch_deg, float(distance))
        self._apply_camera()

    def reset_view(self) -> None:
        """Back to the default view of the people (which then follows them again)."""
        self._auto_view = True
        framing = self._framing()
        self.view = framing or OrbitView(pitch_deg=self.config.default_pitch_deg)
        self._view_is_default = framing is None
        self._apply_camera()

    def orbit(self, dx_px: float, dy_px: float) -> None:
        """Mouse drag: 0.3 degrees per pixel; pitch stays within +-89 degrees."""
        view = self.view
        pitch = float(np.clip(view.pitch_deg + 0.3 * dy_px, -89.0, 89.0))
        self.view = OrbitView(view.target, view.yaw_deg - 0.3 * dx_px, pitch, view.distance)
        self._auto_view = False
        self._apply_camera()

    def zoom(self, steps: float) -> None:
        """Mouse wheel: each step (one notch) moves 10% closer (positive) or further (negative)."""
        view = self.view
        distance = float(np.clip(view.distance * 0.9 ** steps, 0.3, 100.0))
        self.view = OrbitView(view.target, view.yaw_deg, view.pitch_deg, distance)
        self._auto_view = False
        self._apply_camera()

    def project(self, points_world: np.ndarray) -> np.ndarray:
        """(N, 3) world metres -> (N, 2) pixel x, y in the rendered image (pinhole look-at math)."""
        eye = self.view.eye()
        forward = np.asarray(self.view.target) - eye
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        rel = np.asarray(points_world, dtype=np.float64) - eye
        depth = rel @ forward
        focal = (self.config.height / 2.0) / math.tan(math.radians(self.config.fov_deg) / 2.0)
        x = self.config.width / 2.0 + focal * (rel @ right) / depth
        y = self.config.height / 2.0 - focal * (rel @ up) / depth
        return np.stack([x, y], axis=-1)

    @property
    def floor_y(self) -> float | None:
        """World height of the ground grid in metres (None until a person was seen)."""
        return self._floor_y

    @property
    def is_open(self) -> bool:
        return self._renderer is not None

    @property
    def track_ids(self) -> set[int]:
        """Tracks drawn (as a skeleton, a body or both)."""
        return self._track_ids | self._body_ids

    @property
    def body_ids(self) -> set[int]:
        """Tracks drawn as a body."""
        return set(self._body_ids)

    # ---- output and teardown -------------------------------------------------------------

    def render(self) -> np.ndarray:
        """(height, width, 3) uint8 RGB image of the scene."""
        image = np.asarray(self._renderer.render_to_image())
        assert image.shape == (self.config.height, self.config.width, 3), image.shape
        return image

    def close(self) -> None:
        """Releases the renderer; Open3D can crash at exit if geometry outlives its engine."""
        if self._renderer is not None:
            self._renderer.scene.clear_geometry()
            self._renderer = None
            self._track_ids.clear()
            self._body_ids.clear()
