"""The 2D overlay (app.draw) and the track colours (app.colors)."""

import numpy as np

from app.colors import PALETTE_RGB, track_color, track_color_bgr
from app.draw import draw_tracks
from model.net.skeleton import BONES, JOINT_NAMES
from tests.app.ui.ui_fixtures import frame_result, standing_track

PELVIS, R_KNEE, R_ANKLE, THORAX = (JOINT_NAMES.index(n) for n in ("pelvis", "r_knee", "r_ankle", "thorax"))


def exact(image_bgr: np.ndarray, track_id: int) -> np.ndarray:
    return (image_bgr == np.array(track_color_bgr(track_id), np.uint8)).all(axis=-1)


def test_palette_colours_are_distinct_and_consistent():
    assert len(set(PALETTE_RGB)) == len(PALETTE_RGB)
    for track_id in range(20):
        r, g, b = track_color(track_id)
        assert all(0.0 <= c <= 1.0 for c in (r, g, b))
        assert track_color_bgr(track_id) == (round(b * 255), round(g * 255), round(r * 255))
    assert track_color(3) == track_color(3 + len(PALETTE_RGB))


def test_bones_and_joints_drawn_in_the_track_colour():
    tracks = [standing_track(1, (-700, 100, 4000)), standing_track(2, (800, 100, 4800))]
    image = frame_result(tracks).frame.image
    drawn = draw_tracks(image, tracks)
    assert drawn is not image and (image == 40).all()  # input untouched
    for track in tracks:
        mask = exact(drawn, track.track_id)
        assert mask.sum() > 500
        points = track.pose.keypoints_2d[:, :2]
        for parent, child in BONES:  # the middle of every bone is painted
            x, y = np.round((points[parent] + points[child]) / 2).astype(int)
            assert mask[y - 1: y + 2, x - 1: x + 2].any(), (track.track_id, JOINT_NAMES[child])
    # Each track's pixels lie inside (or just around) its own box, not the other's.
    left = exact(drawn, 1)
    x2 = int(tracks[0].pose.box_xyxy[2]) + 10
    assert left[:, x2:].sum() == 0


def test_low_confidence_joints_are_left_out():
    track = standing_track(0, (0, 100, 4000))
    track.pose.keypoints_2d[R_ANKLE, 2] = 0.05
    drawn = draw_tracks(frame_result([track]).frame.image, [track])
    mask = exact(drawn, 0)
    knee, ankle = track.pose.keypoints_2d[R_KNEE, :2], track.pose.keypoints_2d[R_ANKLE, :2]
    x, y = np.round(knee + 0.75 * (ankle - knee)).astype(int)  # on the shin, clear of the knee dot
    assert not mask[y - 1: y + 2, x - 1: x + 2].any()
    x, y = np.round(ankle).astype(int)
    assert not mask[y - 2: y + 3, x - 2: x + 3].any()


def test_scale_draws_on_a_resized_frame():
    track = standing_track(0, (0, 100, 4000))
    small = np.zeros((240, 320, 3), np.uint8)
    drawn = draw_tracks(small, [track], scale=0.5)
    mask = exact(drawn, 0)
    for joint in (PELVIS, THORAX):
        x, y = np.round(track.pose.keypoints_2d[joint, :2] * 0.5).astype(int)
        assert mask[y - 1: y + 2, x - 1: x + 2].any()
