"""Rotation helpers shared by the BVH export and the VMC stream (app.stream): bases, shortest arcs, twist, side axes.

Everything works on batches of coordinate vectors (N, 3) and rotation matrices (N, 3, 3) acting on column
vectors. The maths is on coordinates only, so it holds in right-handed axes (BVH, the camera) and in
left-handed ones (Unity) alike, as long as the joints and the rest pose are given in the same axes.

Twist: a shortest-arc rotation points a bone but leaves its spin about itself to chance. For the spine,
neck and head the spin is observed instead: the hip line, the shoulder line and the face each give a
"side axis" (from the person's right to their left), and each bone is turned about itself so that its
rest side axis lies along the observed one (or along a blend of two, for bones between them).
"""

import numpy as np

from model.net.skeleton import JOINT_NAMES

_J = {name: i for i, name in enumerate(JOINT_NAMES)}
# The face plane (thorax, nose, head top) is ill-conditioned when the three are nearly in a line: between these
# sines of the angle at the thorax it fades to the shoulder axis (real network output: 0.24-0.33 on the sample clip).
FACE_PLANE_SIN = (0.1, 0.25)


# These run per streamed frame on batches of one: plain arithmetic, because np.cross, np.linalg.norm and
# scipy's Rotation cost more in set-up than in work at that size (bench/stream.py).


def unit(v: np.ndarray) -> np.ndarray:
    """Vectors (..., 3) scaled to length 1 (zero vectors stay near zero)."""
    return v / np.maximum(np.sqrt((v * v).sum(axis=-1, keepdims=True)), 1e-9)


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross products of (..., 3) arrays, row by row."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dot products of (N, 3) arrays, row by row -> (N,)."""
    return (a * b).sum(axis=-1)


def axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations by angle (N,) radians about unit axes (N, 3) (Rodrigues' formula)."""
    x, y, z = axis[:, 0], axis[:, 1], axis[:, 2]
    c, s = np.cos(angle), np.sin(angle)
    t = 1.0 - c
    return np.stack([
        np.stack([c + t * x * x, t * x * y - s * z, t * x * z + s * y], axis=-1),
        np.stack([t * x * y + s * z, c + t * y * y, t * y * z - s * x], axis=-1),
        np.stack([t * x * z - s * y, t * y * z + s * x, c + t * z * z], axis=-1),
    ], axis=-2)


def reject(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """The part of v (N, 3) perpendicular to the unit axis (N, 3)."""
    return v - dot(v, axis)[:, None] * axis


def shortest_arc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations taking unit vectors a (N, 3) to unit vectors b (N, 3) along the shortest arc."""
    axis = cross(a, b)
    sin = np.sqrt(dot(axis, axis))
    angle = np.arctan2(sin, dot(a, b))
    # Opposite vectors: any axis perpendicular to a works; pick one away from a.
    fallback = cross(a, np.where(np.abs(a[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]]))
    axis = np.where((sin < 1e-9)[:, None], fallback, axis)
    return axis_angle(unit(axis), angle)


def basis(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(N, 3, 3) orthonormal bases with columns (f, s, f x s): f = first, s = second made perpendicular to f."""
    f = unit(first)
    s = unit(reject(second, f))
    return np.stack([f, s, cross(f, s)], axis=-1)


def rotation_between(rest_first: np.ndarray, rest_second: np.ndarray, first: np.ndarray,
                     second: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations taking the rest pair to the observed pair: rest_first exactly onto first,
    rest_second onto second as far as it can (its part perpendicular to first). All (N, 3) or (3,)."""
    n = len(first)
    rest = basis(np.broadcast_to(rest_first, (n, 3)), np.broadcast_to(rest_second, (n, 3)))
    return basis(first, second) @ np.swapaxes(rest, 1, 2)


def twist_to(g: np.ndarray, axis: np.ndarray, rest_side: np.ndarray, side: np.ndarray,
             weight: np.ndarray | float = 1.0) -> np.ndarray:
    """Turn world frames g (N, 3, 3) about the unit bone axis (N, 3) so that g @ rest_side points along
    `side` (N, 3) as seen across the bone, by `weight` (N,) of the angle. Where the bone is pointing, it stays.
    rest_side: one axis (3,) for every frame, or one per frame (N, 3)."""
    rest_side = np.asarray(rest_side, dtype=np.float64)
    turned = g @ rest_side if rest_side.ndim == 1 else np.einsum("nab,nb->na", g, rest_side)
    current = unit(reject(turned, axis))
    target = unit(reject(side, axis))
    angle = np.arctan2(dot(axis, cross(current, target)), dot(current, target))
    return axis_angle(axis, np.asarray(weight) * angle) @ g


def blend(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Unit side axes (N, 3) a fraction t of the way from a to b (0: a, 1: b)."""
    return unit((1.0 - t) * a + t * b)


def side_axes(joints: np.ndarray) -> dict[str, np.ndarray]:
    """The body's side axes, unit vectors (N, 3) from the person's right to their left, in the joints' axes.

    joints: (N, 17, 3) in the Human3.6M order, any axes and units. Keys:
    'hips': right hip -> left hip; 'shoulders': right shoulder -> left shoulder;
    'head': the normal of the plane through thorax, nose and head top (the face's own side axis: it turns
    with the head, unlike the shoulders), signed to agree with the shoulders (a head never turns 90 degrees
    from them). Where the three points are nearly in a line (FACE_PLANE_SIN) it fades to the shoulder axis.
    """
    hips = unit(joints[:, _J["l_hip"]] - joints[:, _J["r_hip"]])
    shoulders = unit(joints[:, _J["l_shoulder"]] - joints[:, _J["r_shoulder"]])
    up = joints[:, _J["head"]] - joints[:, _J["thorax"]]
    forward = joints[:, _J["nose"]] - joints[:, _J["thorax"]]
    normal = cross(up, forward)
    sin = np.sqrt(dot(normal, normal) / np.maximum(dot(up, up) * dot(forward, forward), 1e-18))
    normal = unit(normal) * np.sign(dot(normal, shoulders) + 1e-12)[:, None]
    lo, hi = FACE_PLANE_SIN
    weight = np.clip((sin - lo) / (hi - lo), 0.0, 1.0)[:, None]
    head = unit(weight * normal + (1.0 - weight) * shoulders)
    return {"hips": hips, "shoulders": shoulders, "head": head}


# The side axis each spine, neck and head bone turns to: (from, to, fraction of the way). The lower spine
# sits between the hips and the shoulders, the neck between the shoulders and the face.
TWIST_SIDES = {
    "lower_spine": ("hips", "shoulders", 0.5),
    "upper_spine": ("shoulders", "shoulders", 1.0),
    "neck": ("shoulders", "head", 0.5),
    "head": ("head", "head", 1.0),
}


def twist_sides(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Unit side axes (N, 3) for the keys of TWIST_SIDES, from joints (N, 17, 3) (see side_axes)."""
    axes = side_axes(joints)
    return {key: blend(axes[a], axes[b], t) for key, (a, b, t) in TWIST_SIDES.items()}
