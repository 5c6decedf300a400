"""Frame sources on real files: the bundled clip, images, folders, and every kind of bad input."""

import os

import cv2
import numpy as np
import pytest

from app.sources import DEFAULT_SAMPLE, FALLBACK_FPS, SourceError, open_source
from tests.app.bad_videos import avi_with_rate, write_video


def test_bundled_clip_decodes_all_frames_in_order():
    source = open_source(DEFAULT_SAMPLE)
    assert (source.width, source.height, source.frame_count) == (544, 960, 100)
    assert source.fps == pytest.approx(60.0)
    frames = list(source)
    assert [f.index for f in frames] == list(range(100))
    assert frames[1].time_s == pytest.approx(1 / 60)
    assert frames[0].image.shape == (960, 544, 3) and frames[0].image.dtype == np.uint8


def test_default_without_camera_falls_back_to_the_sample_and_says_so():
    if os.path.exists("/dev/video0"):
        pytest.skip("a camera exists here: the default opens it")
    source = open_source("")
    assert source.path == DEFAULT_SAMPLE
    assert "no camera" in source.fallback_reason and "sample" in source.fallback_reason


def test_loop_replays_the_clip():
    source = open_source(DEFAULT_SAMPLE, loop=True)
    indices = [f.index for _, f in zip(range(150), source)]
    source.close()
    assert indices == list(range(150))


def test_image_and_folder_sources(tmp_path):
    image = np.full((120, 80, 3), 200, np.uint8)
    for name in ("b.png", "a.jpg"):
        cv2.imwrite(str(tmp_path / name), image)
    (tmp_path / "notes.txt").write_text("ignored")
    folder = list(open_source(str(tmp_path)))
    assert len(folder) == 2 and folder[0].image.shape == (120, 80, 3)
    assert len(list(open_source(str(tmp_path / "a.jpg")))) == 1


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda d: str(d / "missing.mp4"), "no such file"),
        (lambda d: _write(d / "notes.mp4", b"this is not a video"), "not a readable video"),
        (lambda d: _write(d / "empty.png", b""), "not a readable image"),
        (lambda d: str(d), "no images"),
    ],
)
def test_bad_inputs_give_one_line_naming_the_file(tmp_path, make, expected):
    path = make(tmp_path)
    with pytest.raises(SourceError) as error:
        list(open_source(path))
    message = str(error.value)
    assert expected in message and path in message and "\n" not in message


def test_truncated_video_yields_its_frames_then_one_line(tmp_path):
    capture = cv2.VideoCapture(DEFAULT_SAMPLE)
    writer = cv2.VideoWriter(str(tmp_path / "full.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 60, (544, 960))
    for _ in range(40):
        writer.write(capture.read()[1])
    writer.release()
    data = (tmp_path / "full.avi").read_bytes()
    truncated = _write(tmp_path / "cut.avi", data[: len(data) // 2])
    frames = []
    with pytest.raises(SourceError) as error:
        for frame in open_source(truncated):
            frames.append(frame)
    assert 5 < len(frames) < 40
    assert f"after {len(frames)} of 40 frames" in str(error.value) and truncated in str(error.value)


def test_missing_camera_index_gives_one_line():
    with pytest.raises(SourceError, match=r"^camera 57: cannot be opened"):
        open_source("57")


def _write(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_a_one_frame_video_gives_its_frame(tmp_path, suffix):
    """Opening decodes frame 0 to check the file; a 1-frame file used to lose it when seeking back (issue 26.1)."""
    path = write_video(tmp_path / f"one{suffix}", 1)
    frames = list(open_source(path))
    assert [f.index for f in frames] == [0] and frames[0].image.shape == (96, 64, 3)
    looped = open_source(path, loop=True)
    assert [f.index for _, f in zip(range(3), looped)] == [0, 1, 2]
    looped.close()


@pytest.mark.parametrize("rate, scale", [(2147483647, 1), (1, 100000)])
def test_an_absurd_header_frame_rate_is_replaced_and_said(tmp_path, rate, scale):
    """2147483647 fps gave frame times of 0; 1e-05 fps a 100000 s wait in real-time playback (issue 26.2)."""
    path = avi_with_rate(tmp_path / "odd.avi", rate, scale)
    source = open_source(path, realtime=True)
    assert source.fps == FALLBACK_FPS
    assert path in source.fallback_reason and "not believable" in source.fallback_reason
    frames = list(source)  # paced at 30 fps: 3 frames take 0.07 s, not 200000 s
    assert [f.time_s for f in frames] == pytest.approx([0, 1 / 30, 2 / 30])


def test_a_believable_header_frame_rate_is_kept(tmp_path):
    source = open_source(avi_with_rate(tmp_path / "ok.avi", 24))
    assert source.fps == pytest.approx(24) and source.fallback_reason is None
