"""Foot contact flags and pinning on a synthetic walk with known stance phases."""

import numpy as np
import pytest

from app.motion.bones import bone_lengths
from app.motion.contact import ContactConfig, FootContact, two_bone_ik
from app.motion.floor import WorldFrame
from app.motion.layer import MotionConfig, MotionLayer, PersonInput, refine_tracks
from tests.app.motion.walker import noisy, walk

FPS = 30.0


def _world(w) -> WorldFrame:
    return WorldFrame.from_plane(w.R @ np.array([0.0, 1.0, 0.0]), w.height_mm)


def _sliding(world: WorldFrame, ankles: np.ndarray, contact: np.ndarray) -> np.ndarray:
    """mm per frame that feet in contact (in this and the previous frame) move along the floor; ankles (F, 2, 3) camera."""
    xz = world.to_world(ankles)[..., [0, 2]]
    step = np.linalg.norm(np.diff(xz, axis=0), axis=-1)
    both = contact[1:] & contact[:-1]
    return step[both]


def test_ik_keeps_bone_lengths_and_reaches_the_target():
    rng = np.random.default_rng(0)
    for _ in range(200):
        hip = rng.normal(0, 100, 3)
        knee = hip + 450 * _unit(rng.normal(0, 1, 3))
        ankle = knee + 430 * _unit(rng.normal(0, 1, 3))
        target = ankle + rng.normal(0, 150, 3)
        new_knee, new_ankle = two_bone_ik(hip, knee, ankle, target)
        assert np.linalg.norm(new_knee - hip) == pytest.approx(450, abs=1e-6)
        assert np.linalg.norm(new_ankle - new_knee) == pytest.approx(430, abs=1e-6)
        reach = np.linalg.norm(target - hip)
        if 20 + 1e-2 < reach < 880 - 1e-2:
            assert np.linalg.norm(new_ankle - target) < 1e-6
        else:  # out of reach: as close as the leg allows, along the hip-target line
            assert np.linalg.norm(new_ankle - target) == pytest.approx(abs(reach - np.clip(reach, 20, 880)), abs=1e-2)


def _unit(v):
    return v / np.linalg.norm(v)


def test_contact_flags_follow_the_stance_phases():
    w = walk(frames=150)
    rel, root = noisy(w.camera, joint_noise_mm=10.0, root_noise_mm=0.0, seed=4)
    world = _world(w)
    feet = FootContact(ContactConfig(pin=False))
    flags = np.array([feet(rel[f] + root[f], f / FPS, world)[1] for f in range(len(rel))])
    agree = (flags == w.stance).mean()
    assert agree > 0.8, agree
    # Hysteresis: no single-frame flicker.
    changes = np.abs(np.diff(flags.astype(int), axis=0)).sum()
    assert changes <= np.abs(np.diff(w.stance.astype(int), axis=0)).sum() + 4


def test_no_floor_no_contact_and_nothing_moves():
    w = walk(frames=5)
    feet = FootContact()
    joints, contact = feet(w.camera[0], 0.0, None)
    assert not contact.any() and np.array_equal(joints, w.camera[0])


@pytest.mark.parametrize("noise", [15.0, 30.0])
def test_pinning_reduces_sliding_and_keeps_bones(noise):
    """The whole layer on a noisy walk (network-like: joints and root jitter, bones vary): feet in contact
    slide several times less after pinning, and every bone keeps its length."""
    w = walk(frames=180)
    rel, root = noisy(w.camera, joint_noise_mm=noise, root_noise_mm=noise, seed=5, bone_scale_noise=0.03,
                      correlation=0.8)
    people = [(f / FPS, [PersonInput(1, rel[f], root[f])]) for f in range(len(rel))]
    world = _world(w)
    pinned = MotionLayer(MotionConfig(), fixed_world=world)
    loose = MotionLayer(MotionConfig(contact=ContactConfig(pin=False)), fixed_world=world)
    out_pinned = [pinned.step(p, t)[0] for t, p in people]
    out_loose = [loose.step(p, t)[0] for t, p in people]
    ankles = lambda out: np.array([(o.joints_3d + o.root)[[3, 6]] for o in out])
    contact = np.array([o.contact for o in out_loose])
    assert np.array_equal(contact, np.array([o.contact for o in out_pinned]))  # pinning does not change the flags
    before = _sliding(world, ankles(out_loose), contact)
    after = _sliding(world, ankles(out_pinned), contact)
    assert len(before) > 60
    assert np.median(after) < 0.2 * np.median(before), (np.median(before), np.median(after))
    assert np.median(after) < 5.0
    lengths = bone_lengths(np.array([o.joints_3d for o in out_pinned]))
    # Live, a track's bones are refined slowly after the warm-up second: a small fraction of a mm per frame.
    change = np.abs(np.diff(lengths[60:], axis=0))
    assert change.max() < 2.0 and np.median(change) < 0.2
    assert np.abs(lengths[-1] - lengths[-30]).max() < 6.0  # settled: the last second moves bones a few mm at most
    # Pinned feet sit on the floor: stance ankles at standing height.
    assert np.median(world.height(ankles(out_pinned)[contact])) == pytest.approx(80.0, abs=5.0)


def test_refine_tracks_gives_one_skeleton_per_track_and_one_floor():
    a = walk(frames=90)
    b = walk(frames=90, start=(800.0, -3500.0), direction_deg=-60.0, phase=0.4)
    rel_a, root_a = noisy(a.camera, 20.0, 20.0, seed=6, bone_scale_noise=0.03)
    rel_b, root_b = noisy(b.camera, 20.0, 20.0, seed=7, bone_scale_noise=0.03)

    def frames():
        for f in range(90):
            people = [PersonInput(3, rel_a[f], root_a[f])]
            if f >= 10:  # the second person appears later
                people.append(PersonInput(8, rel_b[f], root_b[f]))
            yield f / FPS, people

    lengths, world, outputs = refine_tracks(frames)
    outputs = list(outputs)
    assert sorted(lengths) == [3, 8] and len(outputs) == 90
    for track_id in (3, 8):
        fitted = np.array([p.joints_3d for frame in outputs for p in frame if p.track_id == track_id])
        assert np.abs(bone_lengths(fitted) - lengths[track_id]).max() < 1e-6  # constant over the whole track
    assert world.height_mm == pytest.approx(1600.0, abs=60.0)
    assert all(p.world_root is not None for frame in outputs for p in frame)
    assert np.allclose(outputs[0][0].world_root, world.to_world(root_a[0]))


def _standing_feet(below_mm: float, frames: int = 10, left_extra_mm: float = 0.0):
    """(joints per frame, outputs) of FootContact on an upright person (test_angles' skeleton, 3 m away) whose
    ankles are below_mm under standing height on a level floor (the left one left_extra_mm lower still)."""
    from tests.app.motion.test_angles import standing

    joints = standing() + np.array([0.0, 0.0, 3000.0])
    joints[6, 1] += left_extra_mm  # camera y points down
    world = WorldFrame.from_plane(np.array([0.0, -1.0, 0.0]), 960.0 - below_mm)  # ankles (y 880) at 80 mm + below
    feet = FootContact()
    return joints, [feet(joints, f / FPS, world) for f in range(frames)]


def test_a_floor_far_from_the_feet_moves_nothing_and_bends_nothing():
    joints, outputs = _standing_feet(below_mm=200.0)
    assert outputs[-1][1].all()  # both feet are low and still: in contact
    for out, _ in outputs:
        assert np.array_equal(out, joints)  # 200 mm is the placement's business, not the legs'


def test_a_small_gap_is_closed_by_moving_the_body_not_the_legs():
    from app.motion.angles import every_joint_angle

    joints, outputs = _standing_feet(below_mm=30.0)
    out = outputs[-1][0]
    np.testing.assert_allclose(out - joints, np.broadcast_to([0.0, -30.0, 0.0], joints.shape), atol=1e-9)
    # Feet at different heights (gaps of 30 and 40 mm): the body first goes up by their mean (35 mm); closing
    # the rest on the straight left leg would bend its knee by about 12 degrees, so it keeps the network's leg
    # (its pin moves to where it is shown, and the body settles on the right foot's 30 mm). No joint angle
    # changes by more than max_angle_deg in any frame.
    joints, outputs = _standing_feet(below_mm=30.0, left_extra_mm=10.0)
    np.testing.assert_allclose(outputs[1][0][0] - joints[0], [0.0, -35.0, 0.0], atol=1e-9)
    for out, _ in outputs:
        assert np.abs(every_joint_angle(out) - every_joint_angle(joints)).max() <= ContactConfig().max_angle_deg + 1e-9
