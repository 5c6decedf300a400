"""Joint angles on hand-made skeletons whose angles are known by construction."""

import numpy as np
import pytest

from app.motion.angles import ANGLE_NAMES, EVERY_ANGLE_NAMES, WORLD_UP, every_joint_angle, joint_angles
from model.net.skeleton import JOINT_NAMES, NUM_JOINTS
from tests.app.motion.walker import walk


def standing() -> np.ndarray:
    """(17, 3) mm camera axes (y down): upright, legs straight, arms hanging along the trunk."""
    at = {
        "pelvis": (0, 0, 0), "r_hip": (-100, 0, 0), "r_knee": (-100, 450, 0), "r_ankle": (-100, 880, 0),
        "l_hip": (100, 0, 0), "l_knee": (100, 450, 0), "l_ankle": (100, 880, 0),
        "spine": (0, -230, 0), "thorax": (0, -480, 0), "nose": (0, -560, -80), "head": (0, -680, 0),
        "l_shoulder": (150, -480, 0), "l_elbow": (150, -200, 0), "l_wrist": (150, 50, 0),
        "r_shoulder": (-150, -480, 0), "r_elbow": (-150, -200, 0), "r_wrist": (-150, 50, 0),
    }
    return np.array([at[name] for name in JOINT_NAMES], dtype=np.float64)


def angle(joints: np.ndarray, name: str, up=(0.0, -1.0, 0.0)) -> float:
    return float(joint_angles(joints, up)[ANGLE_NAMES.index(name)])


def test_standing_person_has_straight_limbs_and_an_upright_trunk():
    a = dict(zip(ANGLE_NAMES, joint_angles(standing())))
    for name in ("r_knee", "l_knee", "r_hip", "l_hip", "r_elbow", "l_elbow"):
        assert a[name] == pytest.approx(180.0), name
    for name in ("r_shoulder", "l_shoulder", "trunk", "neck"):
        assert a[name] == pytest.approx(0.0, abs=1e-6), name


def test_right_angles_where_they_are_built():
    j = standing()
    j[JOINT_NAMES.index("r_ankle")] = j[JOINT_NAMES.index("r_knee")] + (0, 0, 430)  # shank straight back
    j[JOINT_NAMES.index("l_knee")] = j[JOINT_NAMES.index("l_hip")] + (0, 0, -450)  # thigh forward, horizontal
    j[JOINT_NAMES.index("l_ankle")] = j[JOINT_NAMES.index("l_knee")] + (0, 430, 0)  # sitting shank, down
    j[JOINT_NAMES.index("r_wrist")] = j[JOINT_NAMES.index("r_elbow")] + (0, 0, -250)  # forearm forward
    j[JOINT_NAMES.index("l_elbow")] = j[JOINT_NAMES.index("l_shoulder")] + (280, 0, 0)  # arm out sideways
    j[JOINT_NAMES.index("l_wrist")] = j[JOINT_NAMES.index("l_elbow")] + (250, 0, 0)
    assert angle(j, "r_knee") == pytest.approx(90.0)
    assert angle(j, "r_hip") == pytest.approx(180.0)  # the thigh did not move
    assert angle(j, "l_hip") == pytest.approx(90.0)
    assert angle(j, "l_knee") == pytest.approx(90.0)
    assert angle(j, "r_elbow") == pytest.approx(90.0)
    assert angle(j, "l_shoulder") == pytest.approx(90.0)
    assert angle(j, "l_elbow") == pytest.approx(180.0)
    j[JOINT_NAMES.index("r_elbow")] = j[JOINT_NAMES.index("r_shoulder")] + (0, -280, 0)  # arm straight up
    assert angle(j, "r_shoulder") == pytest.approx(180.0)


def test_trunk_and_neck_flexion_and_the_up_direction():
    j = standing()
    lean = np.radians(30.0)  # bend the whole upper body 30 degrees forward (-z) about the pelvis
    upper = [JOINT_NAMES.index(n) for n in JOINT_NAMES if n not in
             ("pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle")]
    rot = np.array([[1, 0, 0], [0, np.cos(lean), -np.sin(lean)], [0, np.sin(lean), np.cos(lean)]])
    j[upper] = j[upper] @ rot.T
    assert angle(j, "trunk") == pytest.approx(30.0)
    assert angle(j, "neck") == pytest.approx(0.0, abs=1e-6)  # the head went with the trunk
    assert angle(j, "r_hip") == pytest.approx(150.0)
    # The same skeleton in the world frame (Y up): trunk flexion is the same when `up` is given in that frame.
    world = j * np.array([1.0, -1.0, -1.0])
    assert angle(world, "trunk", WORLD_UP) == pytest.approx(30.0)
    head, thorax = JOINT_NAMES.index("head"), JOINT_NAMES.index("thorax")
    j[head] = j[thorax] + np.linalg.norm(j[head] - j[thorax]) * np.array([0.0, -np.cos(lean * 2), -np.sin(lean * 2)])
    assert angle(j, "neck") == pytest.approx(30.0)  # head 60 degrees from vertical on a trunk at 30


def test_angles_do_not_depend_on_position_rotation_or_batch_shape():
    w = walk(frames=20)
    rel = w.camera - w.camera[:, :1]
    turn = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # 90 degrees about the vertical
    np.testing.assert_allclose(joint_angles(rel + 5000.0), joint_angles(rel), atol=1e-9)
    np.testing.assert_allclose(every_joint_angle(rel @ turn.T), every_joint_angle(rel), atol=1e-9)
    per_frame = np.stack([joint_angles(f) for f in rel])
    np.testing.assert_allclose(joint_angles(rel), per_frame)
    assert joint_angles(rel[None]).shape == (1, 20, len(ANGLE_NAMES))


def test_every_joint_angle_covers_each_parent_child_pair():
    # Joints with a parent and a child: hips, knees, spine, thorax (3 children), nose, shoulders, elbows.
    assert len(EVERY_ANGLE_NAMES) == 13
    assert "r_knee>r_ankle" in EVERY_ANGLE_NAMES and "thorax>l_shoulder" in EVERY_ANGLE_NAMES
    a = dict(zip(EVERY_ANGLE_NAMES, every_joint_angle(standing())))
    assert a["r_knee>r_ankle"] == pytest.approx(180.0)
    assert a["spine>thorax"] == pytest.approx(180.0)
    assert a["thorax>l_shoulder"] == pytest.approx(90.0)  # shoulder line square to the spine
    assert a["r_hip>r_knee"] == pytest.approx(90.0)  # pelvis->hip is sideways, the thigh goes down


def test_a_degenerate_segment_gives_nan_and_bad_shapes_are_refused():
    j = standing()
    j[JOINT_NAMES.index("r_knee")] = j[JOINT_NAMES.index("r_hip")]
    a = dict(zip(ANGLE_NAMES, joint_angles(j)))
    assert np.isnan(a["r_knee"]) and np.isnan(a["r_hip"]) and a["l_knee"] == pytest.approx(180.0)
    with pytest.raises(ValueError, match="17, 3"):
        joint_angles(np.zeros((NUM_JOINTS, 2)))
