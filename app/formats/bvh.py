"""BVH export of one track: a humanoid skeleton with the track's median bone lengths, rotations solved from its 3D joints.

Conventions (also in docs/formats.md, section "BVH skeleton", and README, section "process"):
- Axes: Y up, right-handed. By default the world frame of the recording's floor (app.motion.floor:
  floor at Y = 0, origin on the floor below the camera, the camera's view laid flat on the floor is
  -Z), mm -> cm: the person's trajectory runs over the floor and a camera that looks down does not tilt
  anyone. In camera frame (`process --bvh-frame camera`, or no floor found), camera space (x right,
  y down, z forward, mm) becomes BVH space by a 180-degree turn about the camera's x axis: X = x,
  Y = -y, Z = -z, then mm -> cm, so the BVH origin is the camera. Either way the camera looks along
  about -Z, a person facing the camera faces +Z, and several tracks of one video line up in one scene.
- Units: centimetres (offsets and root translation); angles in degrees.
- Hierarchy (NODES): 21 joints named for the bone that starts at them, with Unity's HumanBodyBones names
  where the VMC stream (app.stream.humanoid) has the same bone. Every joint but the root has a non-zero
  OFFSET, and every bone ends where its children (or its End Site) start, so no bone has zero length.
  Each bone points from the skeleton joint it sits at (`joint`) to one other (`target`), so a joint
  where the body branches (pelvis, thorax) is where several bones start, each with its own rotation:
  the three bones leaving the thorax (Neck, LeftShoulder, RightShoulder) are children of Chest, which
  ends there; the three leaving the pelvis (Spine, LeftHip, RightHip) are children of the root, Hips,
  which sits HIPS_BONE_CM below the pelvis along the pelvis's own down axis (its root position) and ends
  at the pelvis. Hips carries the pelvis's orientation (the hip line and the lower spine), as the VMC
  stream's Hips does. Positions are reproduced exactly (a single rotation cannot point three bones whose
  mutual angles change from frame to frame; one rotation per bone can). The head top is the Head's End
  Site; the hands' End Sites are a display stub along the forearm; the feet's go from the ankle down
  along the shin to the sole, ANKLE_HEIGHT_MM, so a standing foot's tip is on the floor (the 17 joints
  have no toes, and a foot stub pointing forward would tilt with the shin and dip through the floor).
- Rest pose: a T-pose facing +Z (legs down, spine up, arms out sideways), bone lengths = the
  median of the track's bone lengths over its frames: the tracks' joints are already fitted to one
  constant skeleton (app.motion), so the BVH's forward kinematics equals them.
- Rotation order, per joint in its CHANNELS line as BVH allows: ZXY (Zrotation Xrotation Yrotation,
  local matrix R = Rz(z) @ Rx(x) @ Ry(y) on column vectors) for all joints except the legs (LEG_NODES:
  upper leg, lower leg, foot), which use XZY (R = Rx(x) @ Rz(z) @ Ry(y)): hip and knee flexion turn about X
  and pass 90 degrees when sitting, which would be ZXY's gimbal lock (its middle angle).
  child_world = parent_world + G_parent @ offset.
- Solving (per frame, from the observed joint positions):
  Hips: orientation from two directions, x = right-to-left hip line, y = up the lower spine (pelvis ->
    spine), Gram-Schmidt with x first;
  every other bone with a target: the shortest-arc rotation taking its rest direction (in the parent's
    frame) to the observed one, so it carries no twist of its own, except
  Spine, Chest, Neck and Head: twist about the bone is observed (app.formats.rotations): the bone's rest
    side axis (+X) is turned to the person's right-to-left axis, halfway from the hip line to the shoulder
    line for Spine, the shoulder line for Chest, halfway from the shoulder line to the face for Neck, and
    the face (the normal of the thorax-nose-head-top plane) for Head, so the head turns where the nose
    points; and
  upper arms and upper legs: twist about the bone is set so the elbow (knee) points where the limb bends
    (the plane of upper arm and forearm, thigh and shin); the twist fades to the shortest-arc one while
    the limb is nearly straight (bend under 10 degrees, fully on at 30).
  Hands and feet (no joints beyond them) follow their parent.
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
CAMERA_TO_BVH = np.diag([1.0, -1.0, -1.0])  # 180 degrees about camera x: y-down/z-forward -> Y-up
HIPS_BONE_CM = 10.0  # the root bone's length: it rises to the pelvis from this far below it

# Rest direction of the bone ending at each skeleton joint (parent -> joint), BVH axes, T-pose facing +Z
# (the person's left is +X).
REST_DIRECTIONS = {
    "r_hip": (-1, 0, 0), "r_knee": (0, -1, 0), "r_ankle": (0, -1, 0),
    "l_hip": (1, 0, 0), "l_knee": (0, -1, 0), "l_ankle": (0, -1, 0),
    "spine": (0, 1, 0), "thorax": (0, 1, 0), "nose": (0, 0.8, 0.6), "head": (0, 1, 0),
    "l_shoulder": (1, 0, 0), "l_elbow": (1, 0, 0), "l_wrist": (1, 0, 0),
    "r_shoulder": (-1, 0, 0), "r_elbow": (-1, 0, 0), "r_wrist": (-1, 0, 0),
}
HAND_STUB_CM = 8.0  # the hands' End Site: a display stub along the forearm (no hand joints)


@dataclass(frozen=True)
class BoneSpec:
    """One BVH joint of the skeleton: its name, its parent's name ('' for the root), the skeleton joint it sits at
    and the one its bone points to ('' for hands and feet, which end in an End Site)."""

    name: str
    parent: str
    joint: str
    target: str = ""


def _limbs(side: str) -> tuple[BoneSpec, ...]:
    s, j = ("Left", "l_") if side == "l" else ("Right", "r_")
    return (BoneSpec(f"{s}Hip", "Hips", "pelvis", f"{j}hip"),
            BoneSpec(f"{s}UpperLeg", f"{s}Hip", f"{j}hip", f"{j}knee"),
            BoneSpec(f"{s}LowerLeg", f"{s}UpperLeg", f"{j}knee", f"{j}ankle"),
            BoneSpec(f"{s}Foot", f"{s}LowerLeg", f"{j}ankle"))


def _arm(side: str) -> tuple[BoneSpec, ...]:
    s, j = ("Left", "l_") if side == "l" else ("Right", "r_")
    return (BoneSpec(f"{s}Shoulder", "Chest", "thorax", f"{j}shoulder"),
            BoneSpec(f"{s}UpperArm", f"{s}Shoulder", f"{j}shoulder", f"{j}elbow"),
            BoneSpec(f"{s}LowerArm", f"{s}UpperArm", f"{j}elbow", f"{j}wrist"),
            BoneSpec(f"{s}Hand", f"{s}LowerArm", f"{j}wrist"))


# The BVH skeleton in file (depth-first) order: docs/formats.md, "BVH skeleton", has it as a table.
NODES: tuple[BoneSpec, ...] = (
    BoneSpec("Hips", "", "pelvis", "pelvis"),
    *_limbs("l"), *_limbs("r"),
    BoneSpec("Spine", "Hips", "pelvis", "spine"),
    BoneSpec("Chest", "Spine", "spine", "thorax"),
    BoneSpec("Neck", "Chest", "thorax", "nose"),
    BoneSpec("Head", "Neck", "nose", "head"),
    *_arm("l"), *_arm("r"),
)
NODE_NAMES: tuple[str, ...] = tuple(spec.name for spec in NODES)
LEG_NODES = ("LeftUpperLeg", "LeftLowerLeg", "LeftFoot", "RightUpperLeg", "RightLowerLeg", "RightFoot")
# Where each of the 17 skeleton joints is in the BVH: the BVH joint that sits there (the head top: Head's End Site).
JOINT_NODES = {"pelvis": "Spine", "r_hip": "RightUpperLeg", "r_knee": "RightLowerLeg", "r_ankle": "RightFoot",
               "l_hip": "LeftUpperLeg", "l_knee": "LeftLowerLeg", "l_ankle": "LeftFoot", "spine": "Chest",
               "thorax": "Neck", "nose": "Head", "head": "Head", "l_shoulder": "LeftUpperArm",
               "l_elbow": "LeftLowerArm", "l_wrist": "LeftHand", "r_shoulder": "RightUpperArm",
               "r_elbow": "RightLowerArm", "r_wrist": "RightHand"}
HEAD_TOP = "head"  # the one skeleton joint that is an End Site (of JOINT_NODES["head"])
# Upper limbs whose twist follows the limb's bend: bone -> where the middle joint points, at rest, when bent.
BEND_DIRECTIONS = {"RightUpperLeg": (0, 0, 1), "LeftUpperLeg": (0, 0, 1),  # knees point forward
                   "RightUpperArm": (0, 0, -1), "LeftUpperArm": (0, 0, -1)}  # elbows point backward
BEND_FADE_DEG = (10.0, 30.0)
# Spine, neck and head bones whose twist is observed: bone -> side axis of rotations.TWIST_SIDES.
TWIST_NODES = {"Spine": "lower_spine", "Chest": "upper_spine", "Neck": "neck", "Head": "head"}
REST_SIDE = np.array([1.0, 0.0, 0.0])  # the person's right-to-left axis at rest (T-pose facing +Z)


@dataclass(frozen=True)
class BvhNode:
    """One BVH joint: name, parent node index (-1 = root), the skeleton joint at its position (the root: the pelvis,
    which its bone ends at), the skeleton joint its bone points to (-1: none, an End Site), rest offset (3,) cm,
    End Site offset (3,) cm or None, Euler order."""

    name: str
    parent: int
    joint: int
    target: int
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


def _rest(joint: int) -> np.ndarray:
    """(3,) unit rest direction of the bone ending at skeleton joint `joint`."""
    return unit(np.asarray(REST_DIRECTIONS[JOINT_NAMES[joint]], dtype=np.float64))


def build_nodes(bone_lengths_cm: np.ndarray) -> tuple[BvhNode, ...]:
    """The BVH hierarchy (NODES); bone_lengths_cm (17,) = length of the bone ending at each skeleton joint."""
    index = {name: i for i, name in enumerate(JOINT_NAMES)}
    nodes: list[BvhNode] = []
    for spec in NODES:
        joint = index[spec.joint]
        target = index[spec.target] if spec.target and spec.parent else -1
        if not spec.parent:
            parent, offset = -1, np.zeros(3)
        else:
            parent = NODE_NAMES.index(spec.parent)
            # A bone starts where its parent's bone ends: Hips ends at the pelvis, the others at their target.
            offset = (np.array([0.0, HIPS_BONE_CM, 0.0]) if nodes[parent].parent < 0
                      else bone_lengths_cm[joint] * _rest(joint))
        end_site = None
        if spec.name == JOINT_NODES[HEAD_TOP]:
            end_site = tuple(float(v) for v in bone_lengths_cm[index[HEAD_TOP]] * _rest(index[HEAD_TOP]))
        elif spec.name.endswith("Foot"):
            end_site = (0.0, -ANKLE_HEIGHT_MM * CM_PER_MM, 0.0)
        elif spec.name.endswith("Hand"):
            end_site = (HAND_STUB_CM if spec.name.startswith("Left") else -HAND_STUB_CM, 0.0, 0.0)
        order = LEG_ROTATION_ORDER if spec.name in LEG_NODES else ROTATION_ORDER
        nodes.append(BvhNode(spec.name, parent, joint, target, offset, end_site, order))
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


def solve_world_rotations(joints_bvh: np.ndarray, nodes: tuple[BvhNode, ...]) -> np.ndarray:
    """World rotation matrices (F, nodes, 3, 3) posing `nodes` like joints_bvh (F, 17, 3) (cm, BVH axes)."""
    f = len(joints_bvh)
    kids = _children()
    index = {name: i for i, name in enumerate(JOINT_NAMES)}
    sides = twist_sides(joints_bvh)

    def observed(j: int) -> np.ndarray:
        """(F, 3) unit direction of the bone ending at joint j."""
        return unit(joints_bvh[:, j] - joints_bvh[:, PARENTS[j]])

    world = np.zeros((f, len(nodes), 3, 3))
    for n, node in enumerate(nodes):
        name = node.name
        if node.parent < 0:  # Hips: the hip line and the lower spine
            right, left, spine = index["r_hip"], index["l_hip"], index["spine"]
            seen = basis(joints_bvh[:, left] - joints_bvh[:, right], joints_bvh[:, spine] - joints_bvh[:, node.joint])
            rest_x, rest_y = _rest(left) - _rest(right), _rest(spine)  # both hips leave the pelvis sideways at rest
            rest_frame = basis(np.broadcast_to(rest_x, (f, 3)), np.broadcast_to(rest_y, (f, 3)))
            world[:, n] = seen @ np.swapaxes(rest_frame, 1, 2)
            continue
        parent_world = world[:, node.parent]
        if node.target < 0:  # hands and feet: no joint beyond them, they follow their parent
            world[:, n] = parent_world
            continue
        direction = observed(node.target)
        g = shortest_arc(parent_world @ _rest(node.target), direction) @ parent_world
        if name in BEND_DIRECTIONS:
            lower = observed(kids[node.target][0])
            bend = direction - lower
            bend = bend - np.einsum("ni,ni->n", bend, direction)[:, None] * direction
            angle = np.degrees(np.arccos(np.clip(np.einsum("ni,ni->n", direction, lower), -1, 1)))
            lo, hi = BEND_FADE_DEG
            weight = np.clip((angle - lo) / (hi - lo), 0.0, 1.0)
            g = twist_to(g, direction, np.asarray(BEND_DIRECTIONS[name], dtype=np.float64), unit(bend), weight)
        if name in TWIST_NODES:
            g = twist_to(g, direction, REST_SIDE, sides[TWIST_NODES[name]])
        world[:, n] = g
    return world


def solve_rotations(joints_bvh: np.ndarray, nodes: tuple[BvhNode, ...]) -> np.ndarray:
    """Local rotation matrices (F, nodes, 3, 3) posing `nodes` like joints_bvh (F, 17, 3) (cm, BVH axes)."""
    world = solve_world_rotations(joints_bvh, nodes)
    local = world.copy()
    for n, node in enumerate(nodes):
        if node.parent >= 0:
            local[:, n] = np.swapaxes(world[:, node.parent], 1, 2) @ world[:, n]
    return local


def root_positions(joints_bvh: np.ndarray, nodes: tuple[BvhNode, ...], hips_world: np.ndarray) -> np.ndarray:
    """(F, 3) cm: where the root (Hips) is, so that its bone, turned by hips_world (F, 3, 3), ends at the pelvis."""
    below = nodes[next(n for n, node in enumerate(nodes) if node.parent == 0)].offset
    return joints_bvh[:, nodes[0].joint] - hips_world @ below


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
        local = solve_rotations(joints, nodes)
        rotations = _continuous_euler(local, orders, previous)
        previous = rotations[-1]
        yield root_positions(joints, nodes, local[:, 0]), rotations


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
