"""The floor and world frame from people's feet: noisy feet, jumps and sitting, against a known camera pose."""

import numpy as np
import pytest

from app.motion.floor import ANKLE_HEIGHT_MM, FloorEstimator, WorldFrame, fit_floor
from tests.app.motion.walker import noisy, walk


def _people(pitch=20.0, roll=0.0, height=1600.0, frames=150):
    """Two people walking on different lines seen by one camera (camera mm, absolute)."""
    a = walk(frames=frames, start=(-800.0, -5000.0), direction_deg=70.0, pitch_deg=pitch, roll_deg=roll,
             height_mm=height)
    b = walk(frames=frames, start=(900.0, -3000.0), direction_deg=-100.0, pitch_deg=pitch, roll_deg=roll,
             height_mm=height, phase=0.3)
    return a, b


def _feed(estimator, people_frames):
    for frame in people_frames:
        for joints in frame:
            estimator.add_person(joints)


@pytest.mark.parametrize("pitch,roll,height", [(20.0, 0.0, 1600.0), (35.0, 4.0, 2500.0), (-5.0, -3.0, 1100.0)])
def test_floor_recovered_from_noisy_feet_with_jumps_and_sitting(pitch, roll, height):
    a, b = _people(pitch, roll, height)
    rng = np.random.default_rng(0)
    frames = []
    for f in range(len(a.camera)):
        people = []
        for k, w in enumerate((a, b)):
            rel, root = noisy(w.camera[f:f + 1], joint_noise_mm=20.0, root_noise_mm=40.0, seed=f * 2 + k)
            joints = rel[0] + root[0]
            up_cam = w.R @ np.array([0.0, 1.0, 0.0])
            if f % 10 == 3:  # a jump: the whole body 400 mm up
                joints = joints + 400.0 * up_cam
            if k == 1 and 60 <= f < 90:  # sitting on a chair: feet tucked under, 250 mm up, pelvis lowered
                joints[[2, 3, 5, 6]] += 250.0 * up_cam
                joints[[0, 1, 4, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]] -= 400.0 * up_cam
            people.append(joints + rng.normal(0, 5.0, 3))
        frames.append(people)
    estimator = FloorEstimator()
    assert estimator.estimate() is None  # nothing seen yet
    _feed(estimator, frames)
    world = estimator.estimate()
    assert world is not None
    assert world.height_mm == pytest.approx(height, abs=40.0)
    assert world.pitch_deg == pytest.approx(pitch, abs=1.5)
    assert world.roll_deg == pytest.approx(np.degrees(np.arcsin(np.sin(np.radians(roll)) * np.cos(np.radians(pitch)))), abs=1.5)
    # The world frame puts the true feet on the floor: stance ankles at ankle height.
    stance = a.camera[a.stance[:, 0], 3]
    assert np.median(world.height(stance)) == pytest.approx(ANKLE_HEIGHT_MM, abs=40.0)


def test_one_person_standing_still_uses_the_up_prior():
    """Feet in one spot do not define a tilt; the people's up direction does."""
    w = walk(frames=60, speed_mm_s=0.0, pitch_deg=25.0)
    estimator = FloorEstimator()
    rng = np.random.default_rng(1)
    for joints in w.camera:
        estimator.add_person(joints + rng.normal(0, 15.0, joints.shape))
    world = estimator.estimate()
    assert world.pitch_deg == pytest.approx(25.0, abs=3.0)
    assert world.height_mm == pytest.approx(1600.0, abs=60.0)


def test_world_frame_axes_and_round_trip():
    w = walk(frames=5, pitch_deg=30.0, roll_deg=2.0, height_mm=2000.0)
    up = w.R @ np.array([0.0, 1.0, 0.0])
    frame = WorldFrame.from_plane(up, 2000.0)
    assert np.allclose(frame.rotation @ frame.rotation.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(frame.rotation) == pytest.approx(1.0)
    assert np.allclose(frame.to_world(np.zeros(3)), [0.0, 2000.0, 0.0])  # the camera above the origin
    assert np.allclose(frame.to_world(w.camera), w.world, atol=1e-6)  # same frame as the walker's world
    assert np.allclose(frame.to_camera(frame.to_world(w.camera)), w.camera, atol=1e-6)
    restored = WorldFrame.from_dict(frame.to_dict())
    assert np.allclose(restored.rotation, frame.rotation, atol=1e-5) and restored.offset == pytest.approx(2000.0)
    # A level camera's world axes are the BVH axes (X = x, Y = -y, Z = -z) shifted up by the height.
    level = WorldFrame.from_plane(np.array([0.0, -1.0, 0.0]), 1500.0)
    assert np.allclose(level.rotation, np.diag([1.0, -1.0, -1.0]))


def test_estimator_memory_is_bounded():
    a, _ = _people(frames=30)
    estimator = FloorEstimator()
    for _ in range(200):
        for joints in a.camera:
            estimator.add_person(joints)
    assert estimator.count == estimator.config.max_samples and estimator.seen == 6000
    assert estimator.estimate().height_mm == pytest.approx(1600.0, abs=5.0)


def test_fit_floor_direct():
    w = walk(frames=90)
    feet = w.camera[:, [3, 6]].reshape(-1, 3)
    world = fit_floor(feet, w.R @ np.array([0.0, 1.0, 0.0]))
    assert world.height_mm == pytest.approx(1600.0, abs=25.0)
