"""Who is streamed (largest person, kept while tracked, or --track) and the camera/world -> Unity axes."""

import numpy as np

from app.motion.floor import WorldFrame
from app.stream.humanoid import HIP_HEIGHT
from app.stream.performer import PerformerPicker, unity_joints, vmc_frames
from app.types import PersonPose, Track
from tests.app.stream.test_humanoid import random_poses


def track(track_id: int, box_width: float, missed: int = 0) -> Track:
    pose = PersonPose(np.array([0.0, 0.0, box_width, 2 * box_width]), np.zeros((17, 3)), np.zeros((17, 3)),
                      np.array([0.0, 0.0, 3000.0]), 0.9)
    return Track(track_id, pose, age=5, missed=missed)


def test_largest_person_is_picked_and_kept_while_tracked():
    picker = PerformerPicker()
    assert picker.pick((track(1, 50), track(2, 80))).track_id == 2
    assert picker.pick((track(1, 120), track(2, 80))).track_id == 2  # kept, though no longer the largest
    assert picker.pick((track(1, 120), track(2, 80, missed=3))).track_id == 2  # held by the tracker: still them
    assert picker.pick((track(1, 120), track(3, 200, missed=1))).track_id == 1  # gone: the largest one seen now
    assert picker.pick(()) is None


def test_a_requested_track_only():
    picker = PerformerPicker(track_id=7)
    assert picker.pick((track(1, 300),)) is None
    assert picker.pick((track(1, 300), track(7, 10))).track_id == 7


def test_camera_and_world_axes_to_unity():
    point = np.array([[100.0, -200.0, 3000.0]])  # mm, camera: right, up (y down), 3 m ahead
    assert np.allclose(unity_joints(point), [[0.1, 0.2, 3.0]])  # Unity: x right, y up, z forward, m
    level = WorldFrame.from_plane(np.array([0.0, -1.0, 0.0]), 1500.0)  # level camera 1.5 m above the floor
    assert np.allclose(unity_joints(point, level), [[0.1, 1.7, 3.0]])


def test_root_is_under_the_hips():
    joints = random_poses(1)
    frame = vmc_frames(joints)[0]
    assert np.allclose(frame.root_position + frame.bone_positions[0], joints[0, 0])
    assert np.allclose(frame.bone_positions[0], [0.0, HIP_HEIGHT, 0.0]) and np.allclose(frame.root_rotation, [0, 0, 0, 1])


def test_missing_or_degenerate_joints_send_nobody():
    joints = random_poses(3)
    joints[0, 5] = np.nan
    joints[2, :] = joints[2, 0]  # every joint in one point: no bone has a direction
    frames = vmc_frames(joints)
    assert frames[0] is None and frames[2] is None and frames[1] is not None
