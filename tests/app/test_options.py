"""The shared pipeline options (app.options) have their effect: --fov sets the focal length, and so how far people are."""

import argparse
import math

import numpy as np
import pytest

from app.options import add_pipeline_arguments, pipeline_config
from app.processor import FrameProcessor, iter_results
from app.sources import DEFAULT_SAMPLE, open_source

FRAMES = 1


def people_at_fov(fov_deg: float) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray, float]]:
    """(frame, track) -> (root before the motion layer (3,) mm, 2D keypoints (17, 3), fx) on the bundled clip."""
    parser = argparse.ArgumentParser()
    add_pipeline_arguments(parser)
    config = pipeline_config(parser.parse_args(["--fov", str(fov_deg)]), source=DEFAULT_SAMPLE)
    processor = FrameProcessor(config)
    try:
        return {(r.frame.index, t.track_id): (np.asarray(t.pose.root_raw), np.asarray(t.pose.keypoints_2d), r.camera.fx)
                for r in iter_results(processor, open_source(DEFAULT_SAMPLE), FRAMES) for t in r.tracks
                if t.missed == 0}
    finally:
        processor.close()


def test_a_narrower_fov_puts_the_same_people_farther_away():
    narrow, wide = people_at_fov(40.0), people_at_fov(80.0)
    focal_ratio = math.tan(math.radians(40.0)) / math.tan(math.radians(20.0))  # f(40 deg) / f(80 deg) = 2.305
    assert len(set(narrow) & set(wide)) >= 2 * FRAMES  # both people, every frame
    for key in set(narrow) & set(wide):
        (root_n, points_n, fx_n), (root_w, points_w, fx_w) = narrow[key], wide[key]
        assert fx_n / fx_w == pytest.approx(focal_ratio)
        np.testing.assert_allclose(points_n, points_w)  # the image is the same: only the 3D placement changes
        # Depth follows the focal length (a person of a given size looks smaller when farther): measured
        # 2026-12-07 2.10 and 2.47 for the two people (2.305 for a flat target); 20 % margin.
        assert 0.8 * focal_ratio < root_n[2] / root_w[2] < 1.2 * focal_ratio, (key, root_n, root_w)


def test_the_app_process_and_stream_share_the_pipeline_options_and_their_defaults():
    """One declaration (app.options) for the three front ends; the one default that differs on purpose is process's
    --detect-every 1 (recorded files favour accuracy over speed; docs/cli.md)."""
    from app.main import COMMANDS

    required = {"gui": [], "process": ["clip.mp4", "--out", "out"], "stream": ["--vmc", "127.0.0.1:39539"]}
    parsed = {}
    for command, argv in required.items():
        parser = argparse.ArgumentParser()
        __import__(COMMANDS[command][0], fromlist=["add_arguments"]).add_arguments(parser)
        parsed[command] = vars(parser.parse_args(argv))
    reference = argparse.ArgumentParser()
    add_pipeline_arguments(reference)
    options = vars(reference.parse_args([]))
    for command, values in parsed.items():
        differs = {name for name, default in options.items() if values[name] != default}
        assert differs == ({"detect_every"} if command == "process" else set()), (command, differs)
    assert parsed["process"]["detect_every"] == 1 and options["detect_every"] == 0


@pytest.mark.parametrize("argv, problem", [
    (["--camera-size", "1280"], "--camera-size 1280: give WIDTHxHEIGHT in pixels, e.g. 1280x720"),
    (["--camera-size", "0x720"], "--camera-size 0x720: give WIDTHxHEIGHT in pixels, e.g. 1280x720"),
    (["--camera-fps", "0"], "--camera-fps 0: must be more than 0 and at most 1000"),
    (["--camera-fps", "nan"], "--camera-fps nan: must be more than 0 and at most 1000"),
    (["--calibration", "/no/such/cam.yaml"], "--calibration /no/such/cam.yaml: no such calibration file"),
])
def test_live_and_calibration_options_are_checked_in_one_line(argv, problem):
    from app.options import pipeline_problem

    parser = argparse.ArgumentParser()
    add_pipeline_arguments(parser)
    assert pipeline_problem(parser.parse_args(argv)) == problem


def test_camera_mode_options_reach_the_live_source_options():
    parser = argparse.ArgumentParser()
    add_pipeline_arguments(parser)
    config = pipeline_config(parser.parse_args(["--camera-size", "1280x720", "--camera-fps", "30"]), source="0")
    assert (config.live.size, config.live.fps, config.calibration) == ((1280, 720), 30.0, None)
