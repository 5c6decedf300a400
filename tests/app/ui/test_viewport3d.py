"""The Open3D offscreen viewport, real renderer: people where the maths puts them, colours, view controls."""

import numpy as np
import pytest

from model.net.skeleton import JOINT_NAMES
from app.ui.viewport3d import SkeletonViewport, ViewportConfig, rotation_between
from tests.app.ui.ui_fixtures import standing_track, track_hue_mask

HEAD, PELVIS, R_ANKLE, THORAX = (JOINT_NAMES.index(n) for n in ("head", "pelvis", "r_ankle", "thorax"))
# A standing person 4-5 m away covers 1,290-2,020 px of its colour at 640x480 (measured for the
# people below); 300 leaves room for lighting changes, not for a missing person.
MIN_PERSON_PIXELS = 300


@pytest.fixture
def viewport():
    vp = SkeletonViewport(ViewportConfig())
    yield vp
    vp.close()


def two_people():
    return [standing_track(1, (-700, 100, 4000)), standing_track(2, (800, 100, 4800))]


def hue_near(image, track_id, xy, radius=4) -> int:
    x, y = np.round(xy).astype(int)
    mask = track_hue_mask(image, track_id)
    return int(mask[max(0, y - radius): y + radius + 1, max(0, x - radius): x + radius + 1].sum())


def test_people_drawn_in_their_colours_where_projected(viewport):
    tracks = two_people()
    viewport.update(tracks)
    image = viewport.render()
    assert image.shape == (480, 640, 3) and image.dtype == np.uint8
    for track in tracks:
        assert track_hue_mask(image, track.track_id).sum() > MIN_PERSON_PIXELS
        joints = viewport.to_world(track.pose.joints_camera)
        for joint in (HEAD, PELVIS, R_ANKLE):
            xy = viewport.project(joints[joint:joint + 1])[0]
            assert 0 <= xy[0] < 640 and 0 <= xy[1] < 480
            assert hue_near(image, track.track_id, xy) > 5, (track.track_id, JOINT_NAMES[joint], xy)
    # Shared camera space: the person on the camera's left is on the left, and head is above feet.
    left = viewport.project(viewport.to_world(tracks[0].pose.joints_camera))
    right = viewport.project(viewport.to_world(tracks[1].pose.joints_camera))
    assert left[PELVIS, 0] < right[PELVIS, 0] - 50
    assert left[HEAD, 1] < left[R_ANKLE, 1] - 50


def test_four_people_four_distinct_colours(viewport):
    tracks = [standing_track(i, (x, 100, z)) for i, (x, z) in enumerate([(-1500, 4000), (-400, 5000), (600, 4200), (1600, 5200)])]
    viewport.update(tracks)
    image = viewport.render()
    counts = [int(track_hue_mask(image, t.track_id).sum()) for t in tracks]
    assert min(counts) > MIN_PERSON_PIXELS, counts
    # Colours do not bleed into each other: no pixel is claimed by two tracks.
    masks = np.stack([track_hue_mask(image, t.track_id) for t in tracks])
    assert (masks.sum(axis=0) <= 1).all()


def test_track_that_leaves_disappears(viewport):
    tracks = two_people()
    viewport.update(tracks)
    viewport.update(tracks[:1])
    image = viewport.render()
    assert viewport.track_ids == {1}
    assert track_hue_mask(image, 2).sum() == 0
    assert track_hue_mask(image, 1).sum() > MIN_PERSON_PIXELS


def test_grid_lies_under_the_feet(viewport):
    viewport.update(two_people())
    lowest_ankle = min(viewport.to_world(t.pose.joints_camera)[[3, 6], 1].min() for t in two_people())
    assert viewport.floor_y == pytest.approx(lowest_ankle, abs=1e-6)
    image = viewport.render()
    grey = (np.ptp(image.astype(int), axis=-1) < 24) & (image.mean(axis=-1) > 60)
    assert grey[240:].sum() > 2000  # the grid fills the lower half of the default view


def test_orbit_and_zoom_change_the_view_and_reset_restores_it(viewport):
    tracks = two_people()
    viewport.update(tracks)
    before = viewport.render()
    head = viewport.to_world(tracks[0].pose.joints_camera)[HEAD:HEAD + 1]
    head_before = viewport.project(head)[0]
    viewport.orbit(120, 0)  # drag 120 px to the right: 36 degrees of yaw
    orbited = viewport.render()
    assert np.abs(orbited.astype(int) - before).mean() > 1.0
    assert np.linalg.norm(viewport.project(head)[0] - head_before) > 20
    assert hue_near(orbited, 1, viewport.project(head)[0]) > 5  # still drawn where the maths says
    viewport.zoom(3)
    zoomed = viewport.render()
    assert track_hue_mask(zoomed, 1).sum() > track_hue_mask(orbited, 1).sum()  # closer = bigger
    viewport.reset_view()
    assert np.abs(viewport.render().astype(int) - before).mean() < 0.5


def test_tilted_camera_is_levelled(viewport):
    # A camera pitched 30 degrees down sees upright people leaning; the view stands them up again.
    tracks = [standing_track(1, (-600, 300, 4000), tilt_deg=30), standing_track(2, (700, 300, 4500), tilt_deg=30)]
    viewport.update(tracks)
    for track in tracks:
        joints = viewport.to_world(track.pose.joints_camera)
        up = joints[THORAX] - joints[[3, 6]].mean(axis=0)
        angle = np.degrees(np.arccos(up[1] / np.linalg.norm(up)))
        assert angle < 1.0
    assert track_hue_mask(viewport.render(), 2).sum() > MIN_PERSON_PIXELS


def test_rotation_between_maps_a_onto_b():
    a = np.array([0.3, 0.9, -0.2])
    a /= np.linalg.norm(a)
    b = np.array([0.0, 1.0, 0.0])
    rotation = rotation_between(a, b)
    assert np.allclose(rotation @ a, b)
    assert np.allclose(rotation @ rotation.T, np.eye(3)) and np.isclose(np.linalg.det(rotation), 1.0)


def test_resize_keeps_people_grid_and_view(viewport):
    tracks = two_people()
    viewport.update(tracks)
    viewport.orbit(40, 10)
    view = viewport.view
    viewport.resize(500, 420)
    image = viewport.render()
    assert image.shape == (420, 500, 3) and viewport.view == view
    for track in tracks:
        head = viewport.project(viewport.to_world(track.pose.joints_camera)[HEAD:HEAD + 1])[0]
        assert hue_near(image, track.track_id, head) > 5
    grey = (np.ptp(image.astype(int), axis=-1) < 24) & (image.mean(axis=-1) > 60)
    assert grey.sum() > 2000


def test_view_follows_people_until_the_user_takes_it(viewport):
    viewport.update([standing_track(1, (0, 100, 4000))])
    start = np.asarray(viewport.view.target)
    for _ in range(30):  # the person walks 2 m to the right; the automatic view drifts after them
        viewport.update([standing_track(1, (2000, 100, 4000))])
    assert np.asarray(viewport.view.target)[0] - start[0] > 1.5
    viewport.orbit(30, 0)  # now the user holds the view: it stays put
    held = viewport.view
    for _ in range(5):
        viewport.update([standing_track(1, (-2000, 100, 4000))])
    assert viewport.view == held
    viewport.reset_view()  # and gives it back
    assert np.asarray(viewport.view.target)[0] == pytest.approx(-2.0, abs=0.3)


def test_grid_lies_on_the_estimated_floor(viewport):
    """With the pipeline's floor (camera pitched 30 degrees down, 1.6 m up), the view is levelled by the floor
    and the grid lies on it, not at the lowest ankle."""
    from app.motion.floor import WorldFrame
    from scipy.spatial.transform import Rotation

    # The floor's up direction in camera axes for a camera pitched 30 degrees down.
    up = Rotation.from_euler("x", 30, degrees=True).as_matrix() @ np.array([0.0, -1.0, 0.0])
    floor = WorldFrame.from_plane(up, 1600.0)
    tracks = [standing_track(1, (-600, 300, 4000), tilt_deg=30), standing_track(2, (700, 300, 4500), tilt_deg=30)]
    viewport.update(tracks, floor)
    assert viewport.floor_y == pytest.approx(-1.6, abs=1e-9)
    # Levelled by the floor: the floor's normal is the view's +y, so a point on the floor sits at y = -1.6 m.
    on_floor = -1600.0 * up + np.array([300.0, 0.0, 0.0]) - (np.array([300.0, 0.0, 0.0]) @ up) * up
    assert viewport.to_world(on_floor)[1] == pytest.approx(-1.6, abs=1e-9)
    for track in tracks:
        joints = viewport.to_world(track.pose.joints_camera)
        spine = joints[THORAX] - joints[PELVIS]
        assert np.degrees(np.arccos(spine[1] / np.linalg.norm(spine))) < 1.0  # standing upright
    image = viewport.render()
    grey = (np.ptp(image.astype(int), axis=-1) < 24) & (image.mean(axis=-1) > 60)
    assert grey[240:].sum() > 2000
