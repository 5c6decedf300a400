"""BVH export of one track: a rest pose with the track's median bone lengths and joint rotations solved from its 3D joints.

Conventions (also in README, section "process"):
- Axes: Y up, right-handed. By default the world frame of the recording's floor (app.motion.floor:
  floor at Y = 0, origin on the floor below the camera, the camera's view laid flat on the floor is
  -Z), mm -> cm: the person's trajectory runs over the floor and a camera that looks down does not tilt
  anyone. In camera frame (`process --bvh-frame camera`, or no floor found), camera space (x right,
  y down, z forward, mm) becomes BVH space by a 180-degree turn about the camera's x axis: X = x,
  Y = -y, Z = -z, then mm -> cm, so the BVH origin is the camera. Either way the camera looks along
  about -Z, a person facing the camera faces +Z, and several tracks of one video line up in one scene.
- Units: centimetres (offsets and root translation); angles in degrees.
- Hierarchy: the 17 Human3.6M joints with the pelvis as ROOT (6 channels: X/Y/Z position, then
  rotations); every other joint has 3 rotation channels. A joint with several children (pelvis,
  thorax) gets one zero-length link joint per child, named PARENT_to_CHILD (e.g. pelvis_to_spine):
  a single rotation cannot point three bones whose mutual angles change from frame to frame, a
  link per bone can, so positions are reproduced exactly. Leaves (ankles, wrists, head) end in
  an End Site (a hand / head-top stub for display only; the foot's goes from the ankle down along the
  shin to the sole, ANKLE_HEIGHT_MM, so a standing foot's tip is on the floor: the 17 joints have no
  toes, and a foot stub pointing forward would tilt with the shin and dip through the floor).
- Rest pose: a T-pose facing +Z (legs down, spine up, arms out sideways), bone lengths = the
  median of the track's bone lengths over its frames: the tracks' joints are already fitted to one
  constant skeleton (app.motion), so the BVH's forward kinematics equals them.
- Rotation order, per joint in its CHANNELS line as BVH allows: ZXY (Zrotation Xrotation Yrotation,
  local matrix R = Rz(z) @ Rx(x) @ Ry(y) on column vectors) for all joints except the leg joints
  (r_hip, r_knee, r_ankle, l_hip, l_knee, l_ankle), which use XZY (R = Rx(x) @ Rz(z) @ Ry(y)): hip
  and knee flexion turn about X and pass 90 degrees when sitting, which would be ZXY's gimbal lock
  (its middle angle). child_world = parent_world + G_parent @ offset.
- Solving (per frame, from the observed joint positions):
  pelvis and thorax: orientation from two directions, x = right-to-left hip (shoulder) line,
    y = up the spine (pelvis->spine resp. spine->thorax), Gram-Schmidt with x first;
  links and single-child joints: the shortest-arc rotation taking the rest bone direction (in the
    parent's frame) to the observed one, so they carry no twist of their own, except
  spine, neck and head (pelvis_to_spine, spine, thorax_to_nose, nose): twist about the bone is observed
    (app.formats.rotations): the bone's rest side axis (+X) is turned to the person's right-to-left
    axis, which is the hip line for the pelvis, halfway from the hip line to the shoulder line for
    pelvis_to_spine, the shoulder line for spine (and thorax), halfway from the shoulder line to the
    face for thorax_to_nose, and the face (the normal of the thorax-nose-head-top plane) for nose,
    so the head (its End Site) turns where the nose points; and
  hips and shoulders: twist about the bone is set so the knee (elbow) points where the limb
    bends (the plane of thigh and shin, upper arm and forearm); the twist fades to the
    shortest-arc one while the limb is nearly straight (bend under 10 degrees, fully on at 30).
  Euler angles are kept continuous over frames (the equivalent triple and +-360 wraps that stay
  closest to the previous frame are chosen).
- Gaps: the BVH covers the track's first to last frame at the source fps; frames where the track
  was not seen are filled by linear interpolation of its 3D joints between the frames around.
"""

import os
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from scipy.spatial.transform import Rotation

from app.formats.rotations import basis, shortest_arc, twist_sides, twist_to, unit
from app.motion.floor import ANKLE_HEIGHT_MM, WorldFrame
from model.atomic import atomic_open
from model.net.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS

CM_PER_MM = 0.1
ROTATION_ORDER = "ZXY"
LEG_ROTATION_ORDER = "XZY"
LEG_JOINTS = ("r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle")
CAMERA_TO_BVH = np.diag([1.0, -1.0, -1.0])  # 180 degrees about camera x: y-down/z-forward -> Y-up

# Rest direction of the bone ending at each joint (parent -> joint), BVH axes, T-pose facing +Z
# (the person's left is +X).
REST_DIRECTIONS = {
    "r_hip": (-1, 0, 0), "r_knee": (0, -1, 0), "r_ankle": (0, -1, 0),
    "l_hip": (1, 0, 0), "l_knee": (0, -1, 0), "l_ankle": (0, -1, 0),
    "spine": (0, 1, 0), "thorax": (0, 1, 0), "nose": (0, 0.8, 0.6), "head": (0, 1, 0),
    "l_shoulder": (1, 0, 0), "l_elbow": (1, 0, 0), "l_wrist": (1, 0, 0),
    "r_shoulder": (-1, 0, 0), "r_elbow": (-1, 0, 0), "r_wrist": (-1, 0, 0),
}
# End Site stubs (cm): feet down the shin to the sole (on the floor when standing), hands along the arm,
# head-top upward.
END_SITES = {"r_ankle": (0, -ANKLE_HEIGHT_MM * CM_PER_MM, 0), "l_ankle": (0, -ANKLE_HEIGHT_MM * CM_PER_MM, 0),
             "l_wrist": (8, 0, 0), "r_wrist": (-8, 0, 0), "head": (0, 5, 0)}
# Joints whose orientation comes from a left-right line and an up direction: joint -> (right, left, up-from, up-to).
FRAME_JOINTS = {"pelvis": ("r_hip", "l_hip", "pelvis", "spine"),
                "thorax": ("r_shoulder", "l_shoulder", "spine", "thorax")}
# Limb roots whose twist follows the limb's bend: joint -> where the middle joint points, at rest, when bent.
BEND_DIRECTIONS = {"r_hip": (0, 0, 1), "l_hip": (0, 0, 1),  # knees point forward
                   "r_shoulder": (0, 0, -1), "l_shoulder": (0, 0, -1)}  # elbows point backward
BEND_FADE_DEG = (10.0, 30.0)
# Spine, neck and head nodes whose twist is observed: node -> side axis of rotations.TWIST_SIDES.
TWIST_NODES = {"pelvis_to_spine": "lower_spine", "spine": "upper_spine", "thorax_to_nose": "neck", "nose": "head"}
REST_SIDE = np.array([1.0, 0.0, 0.0])  # the person's right-to-left axis at rest (T-pose facing +Z)


@dataclass(frozen=True)
class BvhNode:
    """One BVH joint: name, parent node index (-1 = root), the skeleton joint at its position, rest offset (3,) cm, Euler order."""

    name: str
    parent: int
    joint: int
    offset: np.ndarray
    end_site: tuple[float, float, float] | None = None
    order: str = ROTATION_ORDER


@dataclass(frozen=True, eq=False)
class BvhMotion:
    """A solved BVH: nodes in file (depth-first) order, frame_time s, root_position (F, 3) cm, rotations (F, nodes, 3) deg in each node's order."""

    nodes: tuple[BvhNode, ...]
    frame_time: float
    root_position: np.ndarray
    rotations: np.ndarray

    def __post_init__(self) -> None:
        f = len(self.root_position)
        assert self.root_position.shape == (f, 3)
        assert self.rotations.shape == (f, len(self.nodes), 3)


def _children() -> list[list[int]]:
    kids: list[list[int]] = [[] for _ in range(NUM_JOINTS)]
    for child, parent in enumerate(PARENTS):
        if parent >= 0:
            kids[parent].append(child)
    return kids


def build_nodes(bone_lengths_cm: np.ndarray) -> tuple[BvhNode, ...]:
    """The BVH hierarchy for the 17-joint skeleton; bone_lengths_cm (17,) = length of the bone ending at each joint."""
    kids = _children()
    nodes: list[BvhNode] = []

    def offset(joint: int) -> np.ndarray:
        return bone_lengths_cm[joint] * unit(np.asarray(REST_DIRECTIONS[JOINT_NAMES[joint]], dtype=np.float64))

    def visit(joint: int, parent_node: int) -> None:
        name = JOINT_NAMES[joint]
        off = np.zeros(3) if parent_node < 0 else offset(joint)
        order = LEG_ROTATION_ORDER if name in LEG_JOINTS else ROTATION_ORDER
        nodes.append(BvhNode(name, parent_node, joint, off, END_SITES.get(name) if not kids[joint] else None, order))
        me = len(nodes) - 1
        if len(kids[joint]) > 1:
            for child in kids[joint]:
                nodes.append(BvhNode(f"{name}_to_{JOINT_NAMES[child]}", me, joint, np.zeros(3)))
                visit(child, len(nodes) - 1)
        else:
            for child in kids[joint]:
                visit(child, me)

    visit(0, -1)
    return tuple(nodes)


def camera_to_bvh(joints_camera_mm: np.ndarray, world: WorldFrame | None = None) -> np.ndarray:
    """(..., 3) mm camera space -> cm BVH space (Y up): the world frame of `world`, or camera frame when None."""
    if world is not None:
        return world.to_world(joints_camera_mm) * CM_PER_MM
    return (np.asarray(joints_camera_mm, dtype=np.float64) @ CAMERA_TO_BVH.T) * CM_PER_MM


def interpolate(frame_indices: np.ndarray, joints: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Joints (N, 17, 3) seen at frame_indices (N,), linearly interpolated at frames `at` (M,) -> (M, 17, 3) float64."""
    flat = joints.reshape(len(frame_indices), -1)
    filled = np.stack([np.interp(at, frame_indices, flat[:, k]) for k in range(flat.shape[1])], axis=1)
    return filled.reshape(len(at), NUM_JOINTS, 3)


def median_bone_lengths(joints: np.ndarray) -> np.ndarray:
    """(17,) median over frames of the length of the bone ending at each joint (0 for the root); joints (N, 17, 3)."""
    parents = np.array(PARENTS)
    lengths = np.zeros(NUM_JOINTS)
    for j in range(1, NUM_JOINTS):
        lengths[j] = np.median(np.linalg.norm(joints[:, j] - joints[:, parents[j]], axis=-1))
    return lengths


def normalise_bones(joints: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Joints (N, 17, 3) rebuilt from the root along the observed bone directions with the given lengths."""
    out = np.empty_like(joints, dtype=np.float64)
    out[:, 0] = joints[:, 0]
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        out[:, j] = out[:, p] + lengths[j] * unit(joints[:, j] - joints[:, p])
    return out


def solve_rotations(joints_bvh: np.ndarray, nodes: tuple[BvhNode, ...]) -> np.ndarray:
    """Local rotation matrices (F, nodes, 3, 3) posing `nodes` like joints_bvh (F, 17, 3) (cm, BVH axes)."""
    f = len(joints_bvh)
    kids = _children()
    index = {name: i for i, name in enumerate(JOINT_NAMES)}
    rest = {j: unit(np.asarray(REST_DIRECTIONS[JOINT_NAMES[j]], dtype=np.float64)) for j in range(1, NUM_JOINTS)}
    sides = twist_sides(joints_bvh)

    def observed(j: int) -> np.ndarray:
        """(F, 3) unit direction of the bone ending at joint j."""
        return unit(joints_bvh[:, j] - joints_bvh[:, PARENTS[j]])

    world = np.zeros((f, len(nodes), 3, 3))
    local = np.zeros_like(world)
    for n, node in enumerate(nodes):
        parent_world = np.broadcast_to(np.eye(3), (f, 3, 3)) if node.parent < 0 else world[:, node.parent]
        name = node.name
        if "_to_" in name:  # a link: point its one child's bone
            child = index[name.split("_to_")[1]]
            g = shortest_arc(parent_world @ rest[child], observed(child)) @ parent_world
            if name in TWIST_NODES:
                g = twist_to(g, observed(child), REST_SIDE, sides[TWIST_NODES[name]])
        elif name in FRAME_JOINTS:
            right, left, up_from, up_to = (index[k] for k in FRAME_JOINTS[name])
            seen = basis(joints_bvh[:, left] - joints_bvh[:, right], joints_bvh[:, up_to] - joints_bvh[:, up_from])
            rest_x = rest[left] - rest[right]  # both bones leave this joint sideways in the T-pose
            rest_frame = basis(np.broadcast_to(rest_x, (f, 3)), np.broadcast_to(rest[up_to], (f, 3)))
            g = seen @ np.swapaxes(rest_frame, 1, 2)
        elif kids[node.joint]:  # single child: shortest arc (+ bend twist for hips and shoulders)
            child = kids[node.joint][0]
            direction = observed(child)
            g = shortest_arc(parent_world @ rest[child], direction) @ parent_world
            if name in BEND_DIRECTIONS:
                lower = observed(kids[child][0])
                bend = direction - lower
                bend = bend - np.einsum("ni,ni->n", bend, direction)[:, None] * direction
                angle = np.degrees(np.arccos(np.clip(np.einsum("ni,ni->n", direction, lower), -1, 1)))
                lo, hi = BEND_FADE_DEG
                weight = np.clip((angle - lo) / (hi - lo), 0.0, 1.0)
                g = twist_to(g, direction, np.asarray(BEND_DIRECTIONS[name], dtype=np.float64), unit(bend), weight)
            if name in TWIST_NODES:
                g = twist_to(g, direction, REST_SIDE, sides[TWIST_NODES[name]])
        else:  # a leaf: only its End Site hangs on it, it follows its parent
            g = parent_world.copy()
        world[:, n] = g
        local[:, n] = np.swapaxes(parent_world, 1, 2) @ g
    return local


def _continuous_euler(local: np.ndarray, orders: list[str], previous: np.ndarray) -> np.ndarray:
    """(F, nodes, 3) Euler degrees in each node's order, choosing per frame the equivalent triple closest
    to the frame before (`previous` (nodes, 3): the angles of the frame before the first one)."""
    f, n = local.shape[:2]
    angles = np.empty((f, n, 3))
    for k, order in enumerate(orders):
        angles[:, k] = Rotation.from_matrix(local[:, k]).as_euler(order, degrees=True)
    # The other intrinsic Tait-Bryan solution of the same matrix: (a + 180, 180 - b, c + 180).
    other = np.stack([angles[..., 0] + 180.0, 180.0 - angles[..., 1], angles[..., 2] + 180.0], axis=-1)
    out = np.empty_like(angles)
    for t in range(f):
        best = None
        for candidate in (angles[t], other[t]):
            wrapped = candidate - 360.0 * np.round((candidate - previous) / 360.0)
            cost = np.abs(wrapped - previous).sum(axis=-1)
            best = (wrapped, cost) if best is None else (np.where((cost < best[1])[:, None], wrapped, best[0]),
                                                         np.minimum(cost, best[1]))
        out[t] = previous = best[0]
    return out


def _solve_chunks(frame_indices: np.ndarray, joints_camera_mm: np.ndarray, nodes: tuple[BvhNode, ...],
                  chunk_frames: int, world: WorldFrame | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(root_position (C, 3) cm, rotations (C, nodes, 3) deg) for every frame first..last, chunk by chunk.

    Frames are independent except for Euler continuity, which carries the last angles over, so
    memory is bounded by the chunk size, not the clip length.
    """
    orders = [node.order for node in nodes]
    previous = np.zeros((len(nodes), 3))
    for start in range(int(frame_indices[0]), int(frame_indices[-1]) + 1, chunk_frames):
        at = np.arange(start, min(start + chunk_frames, int(frame_indices[-1]) + 1))
        joints = camera_to_bvh(interpolate(frame_indices, joints_camera_mm, at), world)
        rotations = _continuous_euler(solve_rotations(joints, nodes), orders, previous)
        previous = rotations[-1]
        yield joints[:, 0], rotations


def _check_track(frame_indices: np.ndarray, joints_camera_mm: np.ndarray, fps: float,
                 world: WorldFrame | None = None) -> tuple[BvhNode, ...]:
    """Validate one track's arrays; the BVH nodes with its median bone lengths (over the frames really seen)."""
    assert joints_camera_mm.shape == (len(frame_indices), NUM_JOINTS, 3), joints_camera_mm.shape
    assert len(frame_indices) > 0 and np.all(np.diff(frame_indices) > 0), "frame indices must ascend"
    assert fps > 0, "frame rate must be positive"
    return build_nodes(median_bone_lengths(camera_to_bvh(joints_camera_mm, world)))


def solve_motion(frame_indices: np.ndarray, joints_camera_mm: np.ndarray, fps: float,
                 world: WorldFrame | None = None) -> BvhMotion:
    """Solve a BVH for one track in memory: frame_indices (N,) ascending, joints_camera_mm (N, 17, 3) absolute
    camera space; world: write in this floor's world frame (None: camera frame)."""
    nodes = _check_track(frame_indices, joints_camera_mm, fps, world)
    chunks = list(_solve_chunks(frame_indices, joints_camera_mm, nodes, 2048, world))
    return BvhMotion(nodes, 1.0 / fps, np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks]))


def _hierarchy_lines(nodes: tuple[BvhNode, ...]) -> list[str]:
    lines = ["HIERARCHY"]
    kids: dict[int, list[int]] = {}
    for n, node in enumerate(nodes):
        kids.setdefault(node.parent, []).append(n)

    def write(n: int, depth: int) -> None:
        node, pad = nodes[n], "  " * depth
        rotation_channels = " ".join(f"{axis}rotation" for axis in node.order)
        lines.append(f"{pad}{'ROOT' if node.parent < 0 else 'JOINT'} {node.name}")
        lines.append(pad + "{")
        lines.append(f"{pad}  OFFSET {' '.join(f'{v:.4f}' for v in node.offset)}")
        if node.parent < 0:
            lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition {rotation_channels}")
        else:
            lines.append(f"{pad}  CHANNELS 3 {rotation_channels}")
        for child in kids.get(n, []):
            write(child, depth + 1)
        if not kids.get(n):
            end = node.end_site or (0.0, 0.0, 0.0)
            lines.extend([f"{pad}  End Site", pad + "  {",
                          f"{pad}    OFFSET {' '.join(f'{v:.4f}' for v in end)}", pad + "  }"])
        lines.append(pad + "}")

    write(0, 0)
    return lines


def _motion_lines(root_position: np.ndarray, rotations: np.ndarray) -> list[str]:
    values = np.concatenate([root_position, rotations.reshape(len(rotations), -1)], axis=1)
    return [" ".join(f"{v:.4f}" for v in row) for row in values]


def _write_atomically(path: str | os.PathLike, write) -> str:
    with atomic_open(path, encoding="ascii") as f:
        write(f)
    return str(path)


def bvh_text(motion: BvhMotion) -> str:
    """The BVH file contents."""
    lines = _hierarchy_lines(motion.nodes)
    lines += ["MOTION", f"Frames: {len(motion.root_position)}", f"Frame Time: {motion.frame_time:.8f}"]
    return "\n".join(lines + _motion_lines(motion.root_position, motion.rotations)) + "\n"


def write_bvh(path: str | os.PathLike, motion: BvhMotion) -> str:
    """Write a solved motion atomically (tmp + os.replace); returns the path."""
    return _write_atomically(path, lambda f: f.write(bvh_text(motion)))


def write_track_bvh(path: str | os.PathLike, frame_indices: np.ndarray, joints_camera_mm: np.ndarray, fps: float,
                    chunk_frames: int = 2048, world: WorldFrame | None = None) -> str:
    """Solve and write one track's BVH chunk by chunk (memory bounded for long clips), atomically; returns the path.

    Same arguments and result as write_bvh(path, solve_motion(frame_indices, joints_camera_mm, fps, world)).
    """
    nodes = _check_track(frame_indices, joints_camera_mm, fps, world)
    frames = int(frame_indices[-1] - frame_indices[0] + 1)

    def write(f) -> None:
        f.write("\n".join(_hierarchy_lines(nodes) + ["MOTION", f"Frames: {frames}", f"Frame Time: {1.0 / fps:.8f}"]))
        f.write("\n")
        for root_position, rotations in _solve_chunks(frame_indices, joints_camera_mm, nodes, chunk_frames, world):
            f.write("\n".join(_motion_lines(root_position, rotations)) + "\n")

    return _write_atomically(path, write)
