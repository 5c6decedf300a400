"""`main.py process` on the inputs of issue 26: a 1-frame video, names that sanitise alike, --skip-done against
damaged or foreign files, Ctrl-C while the models load. Real runs of the real pipeline on small real videos."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import app.process
from app.formats.tracks_json import read_tracks
from main import main
from tests.app.bad_videos import avi_with_rate, write_video

import mediapipe  # noqa: E402,F401  (the default install provides it: a broken install fails, never skips)
REPO = Path(__file__).resolve().parents[2]


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["process", *map(str, argv), "--format", "json"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_a_one_frame_video_gives_one_frame(tmp_path, capsys, suffix):
    """Was "1 of 1 inputs ok, 0 frames, 0 files", exit 0 (issue 26.1)."""
    video = write_video(tmp_path / f"one{suffix}", 1)
    code, out, err = _run(capsys, video, "--out", tmp_path / "out")
    assert code == 0 and "Traceback" not in err, err
    assert "1 of 1 inputs ok, 1 frames" in out, out
    assert len(read_tracks(tmp_path / "out" / "one.json").frames) == 1


def test_inputs_whose_names_sanitise_alike_never_share_files(tmp_path, capsys):
    """日本.avi and 中国.mp4 both sanitise to "recording"; clip.mp4 from two folders to "clip". Each gets its own
    files, run after run, and --skip-done skips only an input whose own files are finished (issue 26.3)."""
    inputs = [write_video(tmp_path / "日本.avi", 2), write_video(tmp_path / "中国.mp4", 2)]
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    inputs += [write_video(tmp_path / "a" / "clip.mp4", 2), write_video(tmp_path / "b" / "clip.mp4", 3)]
    out = tmp_path / "out"
    for video in inputs:  # one run each, as the issue tried it
        code, _, err = _run(capsys, video, "--out", out, "--skip-done")
        assert code == 0, err
    sources = {p.name: read_tracks(p).source.path for p in out.glob("*.json")}
    assert sources == {"recording.json": inputs[0], "recording_2.json": inputs[1],
                       "clip.json": inputs[2], "clip_2.json": inputs[3]}
    code, out_text, _ = _run(capsys, *inputs, "--out", out, "--skip-done")
    assert code == 0 and "4 skipped (done before)" in out_text, out_text
    assert sorted(p.name for p in out.iterdir()) == sorted(sources)


def _damage(path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("change", [
    lambda d: d.update(world={"floor": {"normal": [0, 0, 0], "offset_mm": 1.0}}),  # issue 26.13
    lambda d: d["skeleton"].update(parents=[-1, 2, 0] + d["skeleton"]["parents"][3:]),  # issue 26.12
], ids=["damaged-world", "parents-out-of-order"])
def test_skip_done_reruns_an_input_whose_track_file_does_not_read_back(tmp_path, capsys, change):
    """Was "done before, skipped" for a damaged world block, and a 30-line traceback that stopped the batch for
    parents out of order; now the input runs again and its file is replaced."""
    video = write_video(tmp_path / "clip.mp4", 2)
    assert _run(capsys, video, "--out", tmp_path)[0] == 0
    _damage(tmp_path / "clip.json", change)
    code, out, err = _run(capsys, video, "--out", tmp_path, "--skip-done")
    assert code == 0 and "skipped" not in out and "Traceback" not in err, (out, err)
    assert len(read_tracks(tmp_path / "clip.json").frames) == 2


def test_ctrl_c_while_the_models_load_is_130_and_counts_no_input(tmp_path, capsys, monkeypatch):
    """Was "done: -1 of 1 inputs ok" (issue 26.17). The interrupt is raised where the model would load."""
    def interrupted(config):
        raise KeyboardInterrupt

    monkeypatch.setattr(app.process, "FrameProcessor", interrupted)
    code, out, err = _run(capsys, write_video(tmp_path / "clip.mp4", 2), "--out", tmp_path / "out")
    assert code == 130 and "done: 0 of 1 inputs ok" in out and "Traceback" not in err, (out, err)


def test_a_ray_address_where_nothing_listens_is_one_line_and_exit_2(tmp_path):
    """Was still waiting at 180 s, printing Ray's raw warnings, SIGTERM ignored (issue 26.14). Port 1 on this
    machine: nothing listens there, and nothing leaves the machine. A subprocess, so that a regression fails
    on the timeout instead of hanging the suite."""
    video = write_video(tmp_path / "clip.mp4", 2)
    done = subprocess.run([sys.executable, "main.py", "process", video, "--out", str(tmp_path / "out"),
                           "--ray", "127.0.0.1:1"], cwd=REPO, capture_output=True, text=True, timeout=120)
    lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("note:")]
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1 and "127.0.0.1:1" in lines[0] and "connection refused" in lines[0], lines
    assert not (tmp_path / "out").exists()


def test_names_with_a_newline_or_an_escape_sequence_print_on_one_line(tmp_path, capsys):
    """Were printed raw: a newline split the message, an escape sequence recoloured the terminal."""
    odd = write_video(tmp_path / "bad\nname\x1b[31m.mp4", 2)
    missing = str(tmp_path / "gone\n.mp4")
    code, out, err = _run(capsys, odd, missing, "--out", tmp_path / "out")
    assert code == 1 and "\x1b" not in out + err
    assert f"{tmp_path}/bad\\nname\\x1b[31m.mp4: 2 frames" in out, out
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {tmp_path}/gone\\n.mp4: no such file or folder"], err


@pytest.mark.parametrize("make, problem", [
    (lambda d: os.mkfifo(d / "pipe.mp4") or d / "pipe.mp4", "not a regular file"),  # blocked forever, deaf to SIGTERM
    (lambda d: os.symlink(d / "loop.mp4", d / "loop.mp4") or d / "loop.mp4", "a symbolic link to nothing"),
], ids=["fifo", "symlink-loop"])
def test_a_fifo_or_a_symlink_loop_is_one_line_naming_what_it_is(tmp_path, capsys, make, problem):
    """A FIFO with no writer blocked forever; a link loop was 'no such file'."""
    path = make(tmp_path)
    code, _, err = _run(capsys, path, "--out", tmp_path / "out")
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 1 and errors == [f"error: {path}: {problem}" + errors[0].split(problem, 1)[1]], err


def test_a_header_frame_rate_of_2147483647_is_timed_at_30_fps_and_said(tmp_path, capsys):
    """Gave BVH 'Frame Time: 0.00000000' and every JSON time 0.0, exit 0, silently (issue 26.2)."""
    video = avi_with_rate(tmp_path / "fast.avi", 2147483647)
    code = main(["process", video, "--out", str(tmp_path / "out"), "--format", "json,bvh"])
    err = capsys.readouterr().err
    assert code == 0 and f"note: {video}: the header's frame rate 2147483647 fps is not believable" in err, err
    tracks = read_tracks(tmp_path / "out" / "fast.json")
    assert tracks.source.fps == 30.0 and [f.time_s for f in tracks.frames] == pytest.approx([0, 1 / 30, 2 / 30], abs=1e-6)  # 6 decimals
    for bvh in (tmp_path / "out").glob("*.bvh"):
        assert "Frame Time: 0.03333333" in bvh.read_text()
