"""An input's files do not depend on the input processed before it (`process` and each `--ray` actor run many)."""

import json
from pathlib import Path

import cv2
import pytest

from app.process_input import process_input
from app.processor import FrameProcessor, PipelineConfig

Pose2Sim = pytest.importorskip("Pose2Sim", reason="Pose2Sim's demo clips (requirements-data.txt)")
VIDEOS = Path(Pose2Sim.__file__).parent / "Demo_MultiPerson" / "videos"


def _cam04(tmp_path: Path, before: list[str]) -> dict:
    config = PipelineConfig(detect_every=1)
    processor = FrameProcessor(config)
    out = tmp_path / f"out{len(before)}"
    try:
        for path in before + [str(VIDEOS / "cam04.mp4")]:
            process_input(processor, config, path, str(out), ("json",), Path(path).stem, 2)
    finally:
        processor.close()
    return json.loads((out / "cam04.json").read_text())


def test_next_input_does_not_see_the_last_inputs_people(tmp_path):
    # MediaPipe's video-mode detector followed cam01's people into cam04's first frame: 3 people instead of 2
    # (found by bench/ray_process.py, where an actor ran cam04 after 40 frames of cam01). Frames 38-39 of
    # cam01, as an image folder, leave the detector where those 40 frames did.
    folder = tmp_path / "cam01_end"
    folder.mkdir()
    capture = cv2.VideoCapture(str(VIDEOS / "cam01.mp4"))
    for index in range(40):
        ok, image = capture.read()
        assert ok
        if index >= 38:
            cv2.imwrite(str(folder / f"{index:03d}.png"), image)
    capture.release()
    alone = _cam04(tmp_path, [])
    after = _cam04(tmp_path, [str(folder)])
    assert [len(f["people"]) for f in after["frames"]] == [len(f["people"]) for f in alone["frames"]]
    assert after == alone
