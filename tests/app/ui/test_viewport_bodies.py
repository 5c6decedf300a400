"""Bodies in the 3D view (real Open3D renderer): a body covers far more of its colour than its skeleton, where
the skeleton is, and the show control switches between skeletons, bodies and both."""

import numpy as np
import pytest

from app.ui.viewport3d import SkeletonViewport, ViewportConfig
from model.net.skeleton import JOINT_NAMES
from tests.app.ui.ui_fixtures import standing_track, track_hue_mask

HEAD, PELVIS, R_ANKLE = (JOINT_NAMES.index(n) for n in ("head", "pelvis", "r_ankle"))


def people():
    return [standing_track(1, (-700, 100, 4000)), standing_track(2, (800, 100, 4800))]


def pixels(image, tracks) -> list[int]:
    return [int(track_hue_mask(image, t.track_id).sum()) for t in tracks]


@pytest.fixture(scope="module")
def images():
    """The same two people drawn as skeletons, bodies and both, in one viewport (the show control switched)."""
    viewport = SkeletonViewport(ViewportConfig())
    try:
        tracks = people()
        out = {}
        for show in ("skeletons", "bodies", "both"):
            viewport.set_show(show)
            viewport.update(tracks)
            out[show] = (viewport.render(), viewport.track_ids, viewport.body_ids)
        out["project"] = [viewport.project(viewport.to_world(t.pose.joints_camera)) for t in tracks]
        return tracks, out
    finally:
        viewport.close()


def test_bodies_cover_much_more_than_skeletons_where_the_people_are(images):
    tracks, out = images
    skeleton, body = pixels(out["skeletons"][0], tracks), pixels(out["bodies"][0], tracks)
    for s, b in zip(skeleton, body):
        assert b > 2.5 * s, (skeleton, body)  # measured: 6369 and 4685 px vs 1874 and 1579 (x3.0-3.4)
    for track, projected in zip(tracks, out["project"]):
        mask = track_hue_mask(out["bodies"][0], track.track_id)
        for joint in (HEAD, PELVIS, R_ANKLE):
            x, y = np.round(projected[joint]).astype(int)
            assert mask[y - 6:y + 7, x - 6:x + 7].sum() > 20, (track.track_id, JOINT_NAMES[joint])
    assert out["skeletons"][2] == set() and out["bodies"][2] == {1, 2} and out["both"][2] == {1, 2}


def test_both_draws_the_skeleton_over_the_body(images):
    tracks, out = images
    assert pixels(out["both"][0], tracks) >= [0.9 * b for b in pixels(out["bodies"][0], tracks)]
    assert out["both"][1] == {1, 2}


def test_an_unknown_show_mode_is_refused():
    with pytest.raises(ValueError, match="show must be one of skeletons, bodies, both"):
        SkeletonViewport(ViewportConfig(show="ghosts"))


def test_the_window_panel_shows_bodies_when_asked(qapp):
    """The 3D panel as the window has it (its viewport in a child process, offscreen Qt): after set_show('bodies'),
    as the tool bar's Show box asks, a screenshot of the panel holds each person's body in its colour, about as
    many pixels as the viewport's own bodies image, far more than skeletons."""
    from PyQt6.QtGui import QImage

    from app.ui.widgets import View3D

    view = View3D()
    try:
        view.resize(640, 480)
        view.show()
        tracks = people()

        def screenshot_pixels() -> list[int]:
            view.show_tracks(tracks)
            view.flush()
            image = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
            data = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8)
            rgb = data.reshape(image.height(), image.bytesPerLine())[:, :image.width() * 3].reshape(
                image.height(), image.width(), 3)
            return pixels(rgb, tracks)

        skeletons = screenshot_pixels()
        view.set_show("bodies")
        bodies = screenshot_pixels()
        assert view.viewport.body_ids == {1, 2}
        for s, b in zip(skeletons, bodies):
            assert b > 2.5 * s and b > 2000, (skeletons, bodies)  # measured: 6369 and 4685 px vs 1874 and 1579
    finally:
        view.close_viewport()
        view.close()


def test_the_command_lines_show_choices_are_the_viewports_modes():
    """`main.py --show` spells the modes out (parsing loads no Open3D); they must stay the viewport's."""
    from app.ui.cli import SHOW_CHOICES
    from app.ui.viewport3d import SHOW_MODES

    assert SHOW_CHOICES == tuple(SHOW_MODES)


def test_an_unknown_show_on_the_command_line_is_one_line_and_exit_2(capsys):
    from main import main

    assert main(["--show", "ghosts", "--max-frames", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--show" in err[0] and "ghosts" in err[0], err
