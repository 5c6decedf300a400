"""The 3D viewport in a child process (app.ui.viewport_process): same pictures as in-process, real Open3D."""

import os

import numpy as np
import pytest

from app.ui.viewport3d import SkeletonViewport, ViewportConfig
from app.ui.viewport_process import ViewportProcess, ViewportProcessError, open_viewport
from tests.app.ui.ui_fixtures import standing_track, track_hue_mask


@pytest.fixture(scope="module")
def remote():
    viewport = ViewportProcess(ViewportConfig())
    yield viewport
    viewport.close()


def test_renders_the_same_picture_as_the_viewport_in_this_process(remote):
    tracks = [standing_track(1, (-700, 100, 4000)), standing_track(2, (800, 100, 4800))]
    local = SkeletonViewport(ViewportConfig())
    try:
        local.update(tracks)
        expected = local.render()
    finally:
        local.close()
    remote.update(tracks)
    image = remote.render()
    assert image.shape == expected.shape == (480, 640, 3) and image.dtype == np.uint8
    for track in tracks:
        assert track_hue_mask(image, track.track_id).sum() == track_hue_mask(expected, track.track_id).sum() > 300
    assert np.mean(np.abs(image.astype(int) - expected.astype(int))) < 1.0
    assert remote.track_ids == {1, 2} and remote.is_open


def test_view_controls_and_properties_reach_the_child(remote):
    before = remote.view
    remote.orbit(40.0, 0.0)
    assert remote.view != before
    remote.reset_view()
    remote.resize(320, 240)
    assert remote.render().shape == (240, 320, 3) and remote.config.width == 320
    with pytest.raises(ViewportProcessError, match="AttributeError"):
        remote.no_such_method()


def test_renders_in_another_process_and_close_ends_it():
    viewport = open_viewport(ViewportConfig())
    assert isinstance(viewport, ViewportProcess)
    child = viewport._process
    assert child.pid != os.getpid() and child.is_alive()
    viewport.close()
    assert not child.is_alive() and not viewport.is_open
    viewport.close()  # twice is harmless
