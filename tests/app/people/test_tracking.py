"""Tracker: stable IDs when people cross, and after short occlusions."""

from dataclasses import replace

import numpy as np

from app.people.tracking import Tracker, TrackerConfig
from model.boxes import box_iou
from app.types import PersonPose


def _person(cx: float, depth_mm: float, height: float = 200.0) -> PersonPose:
    ys = np.linspace(-height / 2, height / 2, 17)
    xs = cx + np.sin(np.arange(17)) * height * 0.15
    keypoints = np.column_stack([xs, 300 + ys, np.ones(17)])
    box = np.array([xs.min(), 300 - height / 2, xs.max(), 300 + height / 2])
    return PersonPose(box, keypoints, np.zeros((17, 3)), np.array([0.0, 0.0, depth_mm]), 0.9)


def test_box_iou():
    a = np.array([0.0, 0.0, 10.0, 10.0])
    assert box_iou(a, a) == 1.0
    assert box_iou(a, np.array([5.0, 0.0, 15.0, 10.0])) == 50.0 / 150.0
    assert box_iou(a, np.array([20.0, 20.0, 30.0, 30.0])) == 0.0


def test_two_people_crossing_keep_their_ids():
    tracker = Tracker()
    fps = 30.0
    ids_left, ids_right = set(), set()
    for i in range(60):  # A walks right at 6 px/frame, B left; they cross at frame 30
        a, b = _person(100 + 6 * i, 2000.0), _person(460 - 6 * i, 4000.0, height=120.0)
        out = tracker.update([b, a] if i % 2 else [a, b], i / fps, fps)
        assert len(out) == 2
        for track_id, pose, _, _ in out:
            (ids_left if pose.root[2] == 2000.0 else ids_right).add(track_id)
    assert ids_left == {1} and ids_right == {2}


def test_a_short_occlusion_keeps_the_id_and_a_long_one_does_not():
    config = TrackerConfig(max_missed_s=0.5, hold_frames=2)
    tracker = Tracker(config)
    fps = 30.0
    for i in range(10):
        tracker.update([_person(200 + i, 3000.0)], i / fps, fps)
    held = [tracker.update([], (10 + k) / fps, fps) for k in range(5)]
    assert [len(h) for h in held] == [1, 1, 0, 0, 0]  # shown for hold_frames, then hidden
    (track_id, _, _, missed), = tracker.update([_person(215, 3000.0)], 15 / fps, fps)
    assert track_id == 1 and missed == 0
    for k in range(20):  # longer than max_missed_s
        tracker.update([], (16 + k) / fps, fps)
    (track_id, _, _, _), = tracker.update([_person(215, 3000.0)], 40 / fps, fps)
    assert track_id == 2


def test_far_apart_people_never_swap():
    tracker = Tracker()
    tracker.update([_person(100, 2000.0)], 0.0)
    out = tracker.update([_person(500, 2000.0)], 1 / 30)
    assert [t[0] for t in out] == [1, 2] and out[0][3] == 1  # old one held, new one created


def test_poses_no_detector_confirmed_continue_tracks_but_never_start_them():
    tracker = Tracker()
    assert tracker.update([_person(100, 2000.0)], 0.0, 30.0, confirmed=[False]) == []
    tracker.update([_person(100, 2000.0)], 1 / 30, 30.0, confirmed=[True])
    for k in range(2, 6):
        out = tracker.update([_person(100 + k, 2000.0)], k / 30, 30.0, confirmed=[False])
        assert [(t[0], t[3]) for t in out] == [(1, 0)]
    assert tracker.longest_unconfirmed_run == 4


def test_a_pose_judged_not_a_person_never_starts_a_track_but_confirms_one_in_a_detectors_box():
    tracker = Tracker()
    ghost = replace(_person(100, 2000.0), is_person=False)
    assert tracker.update([ghost], 0.0, 30.0, confirmed=[True]) == []  # a detector's false positive
    tracker.update([_person(100, 2000.0)], 1 / 30, 30.0, confirmed=[True])
    for k in range(2, 6):  # the same person, now and then doubted by the network, still in the detector's box
        out = tracker.update([replace(_person(100 + k, 2000.0), is_person=k % 2 == 0)], k / 30, 30.0, confirmed=[True])
        assert [(t[0], t[3]) for t in out] == [(1, 0)]
    assert tracker.longest_unconfirmed_run == 0


def test_a_track_no_detector_confirmed_lately_gets_no_predicted_region():
    tracker = Tracker()
    tracker.update([_person(100, 2000.0)], 0.0, 30.0)
    for k in range(1, 16):  # followed on predicted regions alone for half a second
        tracker.update([_person(100, 2000.0)], k / 30, 30.0, confirmed=[False])
    t = 16 / 30
    assert [i for i, _ in tracker.predicted_boxes(t, max_missed=15, track_ids={1})] == [1]
    assert tracker.predicted_boxes(t, max_missed=15, track_ids={1}, max_unconfirmed_s=0.5) == []
    assert [i for i, _ in tracker.predicted_boxes(t, max_missed=15, track_ids={1}, max_unconfirmed_s=0.6)] == [1]


def test_someone_lost_while_a_live_track_was_not_seen():
    tracker = Tracker()
    tracker.update([_person(100, 2000.0), _person(400, 2000.0)], 0.0, 30.0)
    assert not tracker.someone_lost
    tracker.update([_person(100, 2000.0)], 1 / 30, 30.0)
    assert tracker.someone_lost
    tracker.update([_person(100, 2000.0), _person(400, 2000.0)], 2 / 30, 30.0)
    assert not tracker.someone_lost
