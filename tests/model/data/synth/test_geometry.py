"""Tests of model/data/synth's geometry (no anny needed): cameras and crop intrinsics, poses, joint labels and offsets."""

import numpy as np
import pytest

from model.net.crop import crop_affine
from model.data.synth.camera import Camera, crop_intrinsics, intrinsics, look_at, project_camera, square_box
from model.data.synth.labels import apply_offsets, corrected, derive
from model.data.synth.poses import (HEAD_CENTRE, TOUCH_REACH_M, BodyPose, DOWN, FAMILIES, SEGMENTS, arm, deepmimic_to_rfu, leg, retarget_17, rot,
                               sample_pose, swing)


def _camera(rng) -> Camera:
    eye = np.array([4.0, -3.0, 1.7])
    R = look_at(eye, np.array([0.0, 0.0, 0.9]), roll_deg=12.0)
    return Camera(R, -R @ eye, intrinsics(65.0, 1280, 720), (1280, 720))


def test_look_at_is_a_rotation_aimed_at_the_target():
    cam = _camera(None)
    assert np.allclose(cam.R @ cam.R.T, np.eye(3), atol=1e-9) and np.isclose(np.linalg.det(cam.R), 1.0)
    target_cam = cam.to_camera(np.array([0.0, 0.0, 0.9]))
    assert np.allclose(target_cam[:2], 0, atol=1e-9) and target_cam[2] > 0
    # Without roll, world up projects upwards on the image (y down): a point above is higher in the frame.
    R0 = look_at(np.array([4.0, -3.0, 1.7]), np.array([0.0, 0.0, 0.9]), 0.0)
    c0 = Camera(R0, -R0 @ np.array([4.0, -3.0, 1.7]), cam.K, cam.size)
    lo, hi = c0.project(np.array([[0, 0, 0.9], [0, 0, 1.9]]))
    assert hi[1] < lo[1] and abs(hi[0] - lo[0]) < 1e-6
    assert c0.fov_deg() == pytest.approx(65.0)


def test_crop_intrinsics_equal_cutting_the_full_frame():
    """Projecting with the crop's K = projecting into the full frame, then model/net/crop.py's crop affine."""
    rng = np.random.default_rng(0)
    cam = _camera(rng)
    points = rng.normal([0, 0, 1], 0.4, (50, 3))
    full = cam.project(points)
    centre, side = square_box(full, 1.25)
    K_crop = crop_intrinsics(cam.K, centre, side * 1.3, 256)
    in_crop = project_camera(cam.to_camera(points), K_crop)
    A = crop_affine(centre, np.array([side * 1.3, side * 1.3]), 256)
    assert np.allclose(in_crop, full @ A[:, :2].T + A[:, 2], atol=1e-9)
    # The padded box fits inside the stored crop with its margin.
    assert (in_crop > 256 * (1 - 1 / 1.3) / 2 - 1e-6).all() and (in_crop < 256 - 256 * (1 - 1 / 1.3) / 2 + 1e-6).all()


def test_arm_and_leg_angles_point_where_named():
    up, _ = arm(1, 180.0, 0.0, 0.0, 0.0)
    assert np.allclose(up @ DOWN, [0, 0, 1], atol=1e-9)
    out, _ = arm(1, 90.0, 0.0, 0.0, 0.0)  # right arm sideways: +x is the person's right
    assert np.allclose(out @ DOWN, [1, 0, 0], atol=1e-9)
    out_l, _ = arm(-1, 90.0, 0.0, 0.0, 0.0)
    assert np.allclose(out_l @ DOWN, [-1, 0, 0], atol=1e-9)
    fwd, fore = arm(1, 90.0, 90.0, 0.0, 90.0)  # arm forward, elbow bent 90: the forearm points up
    assert np.allclose(fwd @ DOWN, [0, 1, 0], atol=1e-9) and np.allclose(fore @ DOWN, [0, 0, 1], atol=1e-9)
    thigh, shin, _ = leg(1, 90.0, 0.0, 0.0, 90.0)  # sitting: thigh forward, shin down
    assert np.allclose(thigh @ DOWN, [0, 1, 0], atol=1e-9) and np.allclose(shin @ DOWN, [0, 0, -1], atol=1e-9)
    kneel_thigh, kneel_shin, _ = leg(-1, 0.0, 0.0, 0.0, 90.0)  # kneeling: the shin goes backward
    assert np.allclose(kneel_shin @ DOWN, [0, -1, 0], atol=1e-9)


@pytest.mark.parametrize("family", [f for f in FAMILIES if f != "mocap"])
def test_every_family_gives_rotations(family):
    pose = sample_pose(family, np.random.default_rng(3))
    assert pose.family == family and set(pose.segments) == set(SEGMENTS)
    for r in [pose.root, *pose.segments.values()]:
        assert np.allclose(r @ r.T, np.eye(3), atol=1e-9) and np.isclose(np.linalg.det(r), 1.0)


def _skeleton_from_pose(pose: BodyPose) -> np.ndarray:
    """17 joints (model.net.skeleton order) of a stick body posed by `pose`, world axes (z up)."""
    s = {k: pose.root @ v for k, v in pose.segments.items()}
    j = np.zeros((17, 3))
    right, up = pose.root[:, 0], pose.root[:, 2]
    j[1], j[4] = 0.1 * right, -0.1 * right
    for hip, knee, ankle, side in ((1, 2, 3, "R"), (4, 5, 6, "L")):
        j[knee] = j[hip] + 0.42 * s[f"upperleg.{side}"] @ DOWN
        j[ankle] = j[knee] + 0.42 * s[f"lowerleg.{side}"] @ DOWN
    chest = s["chest"]
    j[8] = j[0] + 0.5 * chest[:, 2]
    j[7] = (j[0] + j[8]) / 2
    j[11], j[14] = j[8] - 0.17 * chest[:, 0], j[8] + 0.17 * chest[:, 0]
    for sh, el, wr, side in ((11, 12, 13, "L"), (14, 15, 16, "R")):
        j[el] = j[sh] + 0.3 * s[f"upperarm.{side}"] @ DOWN
        j[wr] = j[el] + 0.26 * s[f"lowerarm.{side}"] @ DOWN
    head = s["head"]
    j[10] = j[8] + 0.25 * head[:, 2]
    j[9] = j[8] + 0.15 * head[:, 2] + 0.1 * head[:, 1]
    return j


@pytest.mark.parametrize("family", ["arms_up", "crouch", "kneel", "kick", "lying", "random"])
def test_retargeting_recovers_the_segment_directions(family):
    pose = sample_pose(family, np.random.default_rng(11))
    joints = _skeleton_from_pose(pose)
    back = retarget_17(joints)
    again = _skeleton_from_pose(back)
    # Same bone directions (the stick body keeps its lengths), so the same joints up to the pelvis.
    assert np.allclose(again, joints, atol=1e-6)


def test_deepmimic_axes():
    # humanoid: x forward, y up, z right -> x right, y forward, z up
    assert np.allclose(deepmimic_to_rfu(np.array([1.0, 2.0, 3.0])), [3.0, 1.0, 2.0])


def test_swing_and_rot():
    a, b = np.array([0.3, -0.2, 0.9]), np.array([-0.5, 0.4, 0.1])
    R = swing(a, b)
    assert np.allclose(R @ (a / np.linalg.norm(a)), b / np.linalg.norm(b), atol=1e-9)
    assert np.allclose(swing(a, -a) @ a, -a, atol=1e-9)
    assert np.allclose(rot([0, 0, 1], 90) @ [1, 0, 0], [0, 1, 0], atol=1e-12)


def test_offsets_move_direct_joints_and_derived_ones_follow():
    rng = np.random.default_rng(5)
    joints = rng.normal(0, 300, (17, 3))
    ears = rng.normal(0, 300, 3)
    derive(joints, ears)
    frames = np.stack([rot(rng.normal(size=3), rng.uniform(0, 180)) for _ in range(17)])
    offsets = rng.normal(0, 20, (17, 3))
    moved = apply_offsets(joints, frames, offsets, 1.0)
    for i in (1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 14, 15, 16):
        assert np.allclose(moved[i], joints[i] + frames[i] @ offsets[i])
    # The derived joints obey the teacher's definitions again.
    assert np.allclose(moved[0], (moved[1] + moved[4]) / 2) and np.allclose(moved[8], (moved[11] + moved[14]) / 2)
    assert np.allclose(moved[7], (moved[0] + moved[8]) / 2)
    assert np.allclose(moved[10], ears + 0.5 * (ears - moved[8]) + frames[10] @ offsets[10])
    assert np.allclose(apply_offsets(joints, frames, np.zeros((17, 3)), 1.0), joints)


def test_corrected_labels_stay_projections_of_the_3d():
    rng = np.random.default_rng(2)
    n = 4
    K = np.tile(np.array([[300.0, 0, 128], [0, 300.0, 128], [0, 0, 1]]), (n, 1, 1))
    absolute = rng.normal([0, 0, 4000], [300, 500, 200], (n, 17, 3))
    for a in absolute:
        derive(a, a[9] + [0, -100, 0])
    frames = np.tile(np.eye(3), (n, 17, 1, 1))
    labels = {"joints_3d": (absolute - absolute[:, :1]).astype(np.float32), "root_mm": absolute[:, 0].astype(np.float32),
              "K": K.astype(np.float32), "frames": frames.astype(np.float32),
              "joints_2d": np.zeros((n, 17, 2), np.float32), "inside": np.ones((n, 17), bool)}
    delta = rng.normal(0, 30, (17, 3))
    out = corrected(labels, delta, 256)
    absolute2 = out["joints_3d"] + out["root_mm"][:, None]
    assert np.allclose(out["joints_3d"][:, 0], 0, atol=1e-3)
    uv = absolute2[..., :2] / absolute2[..., 2:]
    assert np.allclose(out["joints_2d"], uv * 300 + 128, atol=1e-2)
    assert np.allclose(absolute2[:, 2], absolute[:, 2] + delta[2], atol=1e-2)  # identity frames: plain mm shifts


def test_frame_edges_in_crop_match_the_crop_intrinsics():
    from model.data.synth.scene import frame_bounds_in_crop

    cam = _camera(None)
    centre, side = np.array([1200.0, 80.0]), 400.0  # a crop hanging over the frame's right and top edges
    K_crop = crop_intrinsics(cam.K, centre, side, 256)
    lo, hi = frame_bounds_in_crop(cam.size, centre, side, 256)
    # Frame pixel edges (-0.5 and W - 0.5) map through the same affine the crop's K applies.
    A = K_crop @ np.linalg.inv(cam.K)
    assert np.allclose(A[:2, :2] @ [-0.5, -0.5] + A[:2, 2], lo)
    assert np.allclose(A[:2, :2] @ [cam.size[0] - 0.5, cam.size[1] - 0.5] + A[:2, 2], hi)
    assert lo[1] > 0 and hi[0] < 256  # the top and right edges fall inside this crop


def test_touch_puts_a_hand_on_the_head():
    """'touch' (hands on hair, face, ears): on the stick body, one hand ends within reach of the head's centre in
    nearly every draw and both in about the sampler's 40 %; 'stand' (whose arms touch the head 10 % of the time)
    far less often."""
    def hands_to_head(family: str, seed: int) -> np.ndarray:
        pose = sample_pose(family, np.random.default_rng(seed))
        j = _skeleton_from_pose(pose)
        centre = j[8] + (pose.root @ pose.segments["chest"]) @ HEAD_CENTRE
        return np.linalg.norm(j[[16, 13]] - centre, axis=-1)

    touch = np.array([hands_to_head("touch", s) for s in range(200)])
    stand = np.array([hands_to_head("stand", s) for s in range(200)])
    # Measured (this stick body's shoulders are 2 cm narrower and its upper arm 1 cm longer than the sampler's
    # arm model): one hand within reach 98.5 %, both 39.5 %; 'stand' 9 %.
    assert (touch.min(1) < TOUCH_REACH_M).mean() > 0.95
    assert 0.3 < (touch.max(1) < TOUCH_REACH_M).mean() < 0.5
    assert (stand.min(1) < TOUCH_REACH_M).mean() < 0.2
