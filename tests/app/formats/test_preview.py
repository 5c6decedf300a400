"""NAME.preview.mp4 from `process` on the bundled clip: re-opened with OpenCV, one frame per processed frame at the
source's size and rate, each tracked person's skeleton drawn in the track's colour where the JSON puts its joints."""

import cv2
import numpy as np
import pytest

from app.colors import track_color_bgr
from app.draw import MIN_CONFIDENCE
from app.formats.preview import MAX_SIDE, PreviewWriter, video_size
from app.formats.tracks_json import read_tracks
from app.sources import DEFAULT_SAMPLE
from main import main

FRAMES = 12


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    out = tmp_path_factory.mktemp("preview")
    stale = out / "sample_two_people.preview.mp4"
    stale.write_bytes(b"an earlier run's preview")  # a rerun replaces it
    assert main(["process", DEFAULT_SAMPLE, "--out", str(out), "--max-frames", str(FRAMES), "--format",
                 "json,preview"]) == 0
    return out


def _frames(path) -> tuple[list[np.ndarray], float]:
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), path
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames, fps


def test_preview_has_every_frame_at_the_source_size_and_rate(processed):
    frames, fps = _frames(processed / "sample_two_people.preview.mp4")
    assert len(frames) == FRAMES
    assert frames[0].shape == (960, 544, 3)  # the clip is 544 x 960 portrait
    assert fps == pytest.approx(60.0)
    assert sorted(p.name for p in processed.iterdir()) == ["sample_two_people.json", "sample_two_people.preview.mp4"]


def test_skeletons_are_drawn_in_the_track_colours(processed):
    """At every confidently seen joint of every track the preview shows that track's colour (the source frame does
    not), and the tracks differ in colour."""
    frames, _ = _frames(processed / "sample_two_people.preview.mp4")
    source = cv2.VideoCapture(DEFAULT_SAMPLE)
    tracks = read_tracks(processed / "sample_two_people.json")
    seen_ids = set()
    for recorded, image in zip(tracks.frames, frames):
        ok, original = source.read()
        assert ok
        for track in recorded.tracks:
            keypoints = track.pose.keypoints_2d
            points = np.round(keypoints[keypoints[:, 2] >= MIN_CONFIDENCE, :2]).astype(int)
            points = points[(points >= 0).all(1) & (points[:, 0] < 544) & (points[:, 1] < 960)]
            if len(points) < 5:
                continue
            colour = np.array(track_color_bgr(track.track_id), dtype=np.float64)
            drawn = np.abs(image[points[:, 1], points[:, 0]].astype(np.float64) - colour).max(axis=1)
            before = np.abs(original[points[:, 1], points[:, 0]].astype(np.float64) - colour).max(axis=1)
            # Joint dots (radius 4 px here) in the colour, through mp4v's compression: measured per-track median
            # 5-10 (largest channel difference) on the drawn frames, 127-194 on the source frames; bound 50.
            assert np.median(drawn) < 50, (recorded.index, track.track_id, np.median(drawn))
            assert np.median(before) > 50, (recorded.index, track.track_id, np.median(before))
            seen_ids.add(track.track_id)
    source.release()
    assert len(seen_ids) >= 2
    assert len({track_color_bgr(i) for i in seen_ids}) == len(seen_ids)


def test_frames_of_another_size_are_fitted_in_and_discard_leaves_nothing(tmp_path):
    """A folder of images of several sizes: later frames are scaled into the first one's size, centred on black."""
    writer = PreviewWriter(tmp_path, "stills", 25.0)
    writer.add(np.full((48, 64, 3), 200, np.uint8), [])
    writer.add(np.full((40, 160, 3), 200, np.uint8), [])  # wider: 64 x 16 in the middle, black above and below
    path = writer.finish()
    frames, fps = _frames(path)
    assert len(frames) == 2 and all(f.shape == (48, 64, 3) for f in frames) and fps == pytest.approx(25.0)
    rows = frames[1].mean(axis=(1, 2))
    assert rows[:12].max() < 30 and rows[20:28].min() > 150 and rows[-12:].max() < 30  # mp4v blurs the edges
    other = PreviewWriter(tmp_path, "cut", 25.0)
    other.add(np.zeros((48, 64, 3), np.uint8), [])
    other.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stills.preview.mp4"]
    assert PreviewWriter(tmp_path, "none", 25.0).finish() is None  # no frame: no file


def test_large_frames_are_scaled_down_to_max_side(tmp_path):
    """A 4K or full-HD input gets a preview of at most MAX_SIDE pixels on its long side, even sides, skeleton drawn."""
    assert video_size(544, 960) == (544, 960)  # the bundled clip: its own size
    assert video_size(3840, 2160) == (MAX_SIDE, 720) and video_size(1088, 1920) == (724, MAX_SIDE)
    assert video_size(65, 49) == (64, 48)
    writer = PreviewWriter(tmp_path, "big", 30.0)
    for _ in range(2):
        writer.add(np.full((1080, 1920, 3), 90, np.uint8), [])
    frames, _ = _frames(writer.finish())
    assert len(frames) == 2 and frames[0].shape == (720, MAX_SIDE, 3)
