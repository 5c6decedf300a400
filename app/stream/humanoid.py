"""A standard humanoid (Unity's HumanBodyBones) posed from the 17 joints: the rest pose, the rotation solve, FK.

Axes and units: Unity's, left-handed: x right, y up, z forward, metres. The rest pose is a T-pose standing
on the floor (y = 0) at the origin, facing +z: the person's left is -x, legs straight down, spine and
head straight up, arms straight out sideways, palms down. Every bone's rest orientation is the identity
(its local axes are the world axes), as in a normalised VRM avatar, so a bone's rotation is simply "how
this bone is turned from the T-pose", and receivers apply it to their own avatar, whatever its proportions.

The humanoid's joints sit on the 17 Human3.6M joints (REST_POSE gives the position of each, for a person
of about 1.75 m; the receiving avatar keeps its own lengths):

  bone          at joint      parent         its rotation is solved from
  Hips          pelvis        (root)         the hip line (exact) and pelvis -> spine as up
  Spine         pelvis        Hips           pelvis -> spine, turned halfway from the hip to the shoulder line
  Chest         spine         Spine          spine -> thorax, turned to the shoulder line
  Neck          thorax        Chest          thorax -> nose, turned halfway from the shoulder line to the face
  Head          nose          Neck           nose -> head top, turned to the face (the plane of thorax, nose, head top)
  L/RShoulder   thorax        Chest          thorax -> shoulder (shortest arc from the chest)
  L/RUpperArm   shoulder      L/RShoulder    shoulder -> elbow, turned so the elbow bends backwards
  L/RLowerArm   elbow         L/RUpperArm    elbow -> wrist (shortest arc)
  L/RHand       wrist         L/RLowerArm    no hand joints: follows the forearm
  L/RUpperLeg   hip           Hips           hip -> knee, turned so the knee bends forwards
  L/RLowerLeg   knee          L/RUpperLeg    knee -> ankle (shortest arc)
  L/RFoot       ankle         L/RLowerLeg    no foot joints: follows the shin

The Spine bone starts at the pelvis (zero offset from Hips) so that the lower and the upper spine each
follow their own observed segment; the Head sits on the nose so that the neck and the head each follow
theirs. Forward kinematics with these rest positions then reproduces the direction of every observed
bone exactly, except the two pelvis -> hip bones: the pelvis is one rigid bone, so only the hip line
itself is reproduced (an observed pelvis off the line between the hips cannot be).

The BVH export (app.formats.bvh, docs/formats.md "BVH skeleton") names its joints with these names wherever it has
the same bone (starting at the same joint, pointing to the same one); it adds LeftHip and RightHip (pelvis -> hip),
which the rigid pelvis here has no need for.
"""

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from app.formats.rotations import rotation_between, shortest_arc, side_axes, twist_sides, twist_to, unit
from model.net.skeleton import JOINT_NAMES

_J = {name: i for i, name in enumerate(JOINT_NAMES)}
LEFT = np.array([-1.0, 0.0, 0.0])  # the person's left at rest (Unity axes, facing +z)
UP = np.array([0.0, 1.0, 0.0])
NOSE_REST = unit(np.array([0.0, 0.8, 0.6]))  # thorax -> nose at rest: forwards and up, as in the BVH rest pose
BEND_FADE_DEG = (10.0, 30.0)  # a limb's bend twist fades in between these bend angles (as in the BVH solve)


@dataclass(frozen=True)
class Bone:
    """One humanoid bone: Unity name, parent bone name ('' for Hips), the Human3.6M joint at its position,
    rest position (3,) m in Unity axes (T-pose, on the floor), and the joint its direction points to."""

    name: str
    parent: str
    joint: str
    rest: tuple[float, float, float]
    child: str = ""


def _sides(name: str, parent: str, joint: str, rest: tuple[float, float, float], child: str) -> tuple[Bone, Bone]:
    """The left and right versions of a limb bone. '*' in parent stands for Left/Right, in joint and child for
    l_/r_; `rest` is the left one's (x <= 0), mirrored for the right."""
    def sided(prefix: str, joint_prefix: str, x: float) -> Bone:
        return Bone(prefix + name, parent.replace("*", prefix), joint.replace("*", joint_prefix),
                    (x, rest[1], rest[2]), child.replace("*", joint_prefix))

    return sided("Left", "l_", rest[0]), sided("Right", "r_", -rest[0])


HIP_HEIGHT = 0.96
THORAX_HEIGHT = 1.43
# Parents come before children. The standard humanoid streamed each frame: these 19 bones.
BONES: tuple[Bone, ...] = (
    Bone("Hips", "", "pelvis", (0.0, HIP_HEIGHT, 0.0), "spine"),
    Bone("Spine", "Hips", "pelvis", (0.0, HIP_HEIGHT, 0.0), "spine"),
    Bone("Chest", "Spine", "spine", (0.0, 1.19, 0.0), "thorax"),
    Bone("Neck", "Chest", "thorax", (0.0, THORAX_HEIGHT, 0.0), "nose"),
    Bone("Head", "Neck", "nose", tuple(float(v) for v in np.round((0.0, THORAX_HEIGHT, 0.0) + 0.15 * NOSE_REST, 4)),
         "head"),
    *_sides("Shoulder", "Chest", "thorax", (0.0, THORAX_HEIGHT, 0.0), "*shoulder"),
    *_sides("UpperArm", "*Shoulder", "*shoulder", (-0.15, THORAX_HEIGHT, 0.0), "*elbow"),
    *_sides("LowerArm", "*UpperArm", "*elbow", (-0.43, THORAX_HEIGHT, 0.0), "*wrist"),
    *_sides("Hand", "*LowerArm", "*wrist", (-0.68, THORAX_HEIGHT, 0.0), ""),
    *_sides("UpperLeg", "Hips", "*hip", (-0.13, HIP_HEIGHT, 0.0), "*knee"),
    *_sides("LowerLeg", "*UpperLeg", "*knee", (-0.13, 0.52, 0.0), "*ankle"),
    *_sides("Foot", "*LowerLeg", "*ankle", (-0.13, 0.08, 0.0), ""),
)
BONE_NAMES: tuple[str, ...] = tuple(b.name for b in BONES)
BONE_INDEX = {name: i for i, name in enumerate(BONE_NAMES)}
# Ends of the leaf chains, for display and for checking the head: the head top above the nose (rest, m).
HEAD_TOP_REST = (0.0, BONES[BONE_INDEX["Head"]].rest[1] + 0.12, BONES[BONE_INDEX["Head"]].rest[2])
# Limb roots whose spin follows the limb's bend: bone -> where the middle joint points when bent, at rest.
BEND_DIRECTIONS = {"LeftUpperArm": (0.0, 0.0, -1.0), "RightUpperArm": (0.0, 0.0, -1.0),  # elbows backwards
                   "LeftUpperLeg": (0.0, 0.0, 1.0), "RightUpperLeg": (0.0, 0.0, 1.0)}  # knees forwards
# Spine, neck and head: bone -> (rest direction, which twist side axis of rotations.TWIST_SIDES).
TWISTED = {"Spine": (UP, "lower_spine"), "Chest": (UP, "upper_spine"), "Neck": (NOSE_REST, "neck"),
           "Head": (UP, "head")}


def rest_offset(bone: Bone) -> np.ndarray:
    """(3,) m: the bone's rest position relative to its parent's (for Hips: relative to the root, on the floor)."""
    parent = np.zeros(3) if not bone.parent else np.asarray(BONES[BONE_INDEX[bone.parent]].rest)
    return np.asarray(bone.rest, dtype=np.float64) - parent


def _rest_direction(bone: Bone) -> np.ndarray:
    """Unit rest direction from the bone's joint to its child joint (the bone that follows it)."""
    if bone.name == "Head":
        return unit(np.asarray(HEAD_TOP_REST) - np.asarray(bone.rest))
    child = next(b for b in BONES if b.parent == bone.name and b.joint == bone.child)
    return unit(np.asarray(child.rest) - np.asarray(bone.rest))


# Limb bones (pointed by the shortest arc from their parent): their rest directions.
REST_DIRECTIONS = {bone.name: _rest_direction(bone) for bone in BONES
                   if bone.child and bone.parent and bone.name not in TWISTED}
# Limb roots: the joint at the end of the limb's second bone (the knee's ankle, the elbow's wrist).
LIMB_ENDS = {name: next(b.child for b in BONES if b.joint == BONES[BONE_INDEX[name]].child) for name in BEND_DIRECTIONS}


def solve_world_rotations(joints: np.ndarray) -> np.ndarray:
    """(N, bones, 3, 3) world rotations of BONES (from their T-pose) posing them like joints (N, 17, 3),
    given in Unity axes (any unit); see the module docstring for what drives each bone."""
    n = len(joints)
    sides = twist_sides(joints)
    hips_side = side_axes(joints)["hips"]

    def direction(a: str, b: str) -> np.ndarray:
        return unit(joints[:, _J[b]] - joints[:, _J[a]])

    world = np.zeros((n, len(BONES), 3, 3))
    for k, bone in enumerate(BONES):
        parent = world[:, BONE_INDEX[bone.parent]] if bone.parent else np.broadcast_to(np.eye(3), (n, 3, 3))
        if bone.name == "Hips":
            g = rotation_between(LEFT, UP, hips_side, direction("pelvis", "spine"))
        elif bone.name in TWISTED:
            rest_dir, side = TWISTED[bone.name]
            g = rotation_between(rest_dir, LEFT, direction(bone.joint, bone.child), sides[side])
        elif bone.child:  # a limb bone: point it, carrying its parent's spin along
            seen = direction(bone.joint, bone.child)
            g = shortest_arc(parent @ REST_DIRECTIONS[bone.name], seen) @ parent
            if bone.name in BEND_DIRECTIONS:
                lower = direction(bone.child, LIMB_ENDS[bone.name])
                bend = seen - lower
                angle = np.degrees(np.arccos(np.clip(np.einsum("ni,ni->n", seen, lower), -1.0, 1.0)))
                lo, hi = BEND_FADE_DEG
                weight = np.clip((angle - lo) / (hi - lo), 0.0, 1.0)
                g = twist_to(g, seen, np.asarray(BEND_DIRECTIONS[bone.name]), bend, weight)
        else:  # hands and feet: no joints beyond them
            g = parent.copy()
        world[:, k] = g
    return world


def local_rotations(world: np.ndarray) -> np.ndarray:
    """(N, bones, 3, 3) each bone's rotation relative to its parent (Hips: relative to the root)."""
    local = world.copy()
    for k, bone in enumerate(BONES):
        if bone.parent:
            local[:, k] = np.swapaxes(world[:, BONE_INDEX[bone.parent]], 1, 2) @ world[:, k]
    return local


def quaternions_xyzw(rotations: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 4) quaternions x, y, z, w (Unity's order and convention for the
    same coordinate axes: Unity's Quaternion * Vector3 is the matrix product on coordinates)."""
    shape = rotations.shape[:-2]
    return Rotation.from_matrix(rotations.reshape(-1, 3, 3)).as_quat().reshape(*shape, 4)


def forward_kinematics(local: np.ndarray, hips_position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bone positions (N, bones, 3) and the head top (N, 3) from local rotations (N, bones, 3, 3) and the Hips
    position (N, 3), with the rest pose's offsets (the receiving side's view of a frame)."""
    n = len(local)
    world = np.zeros_like(local)
    positions = np.zeros((n, len(BONES), 3))
    for k, bone in enumerate(BONES):
        if not bone.parent:
            world[:, k], positions[:, k] = local[:, k], hips_position
            continue
        p = BONE_INDEX[bone.parent]
        world[:, k] = world[:, p] @ local[:, k]
        positions[:, k] = positions[:, p] + world[:, p] @ rest_offset(bone)
    head = BONE_INDEX["Head"]
    head_top = positions[:, head] + world[:, head] @ (np.asarray(HEAD_TOP_REST) - np.asarray(BONES[head].rest))
    return positions, head_top
