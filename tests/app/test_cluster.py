"""`main.py process --ray` on a local two-core Ray: same files as the single-process run, a killed worker, --skip-done."""

import json
import shutil
from pathlib import Path

import pytest

from app.cluster import EXIT_HOOK_VARIABLE, RayOptions, actor_resources, process_on_ray
from app.formats.recording import DEFAULT_FORMATS
from app.processor import PipelineConfig
from app.sources import DEFAULT_SAMPLE
from main import main

ray = pytest.importorskip("ray", reason="ray is not installed (pip install -r requirements-ray.txt)")

FRAMES = 8
STEM = Path(DEFAULT_SAMPLE).stem


@pytest.fixture(scope="module")
def local_ray():
    """One small Ray for the whole module (starting one costs 10-20 s on two busy cores)."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning", object_store_memory=100 * 1024 * 1024)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Two short inputs: the bundled clip and a copy of it under another name."""
    folder = tmp_path_factory.mktemp("inputs")
    copy = folder / "copy_clip.mp4"
    shutil.copyfile(DEFAULT_SAMPLE, copy)
    return [DEFAULT_SAMPLE, str(copy)]


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory):
    """The single-process run's files."""
    out = tmp_path_factory.mktemp("single")
    assert main(["process", *inputs, "--out", str(out), "--max-frames", str(FRAMES)]) == 0
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def assert_same_outputs(out: Path, reference: Path, names=(STEM, "copy_clip")) -> None:
    """Same file names; the JSON parsed equal (every field); BVH and CSV byte for byte."""
    got, want = _files(out), _files(reference)
    got = {k: v for k, v in got.items() if k.split(".")[0] in names}
    want = {k: v for k, v in want.items() if k.split(".")[0] in names}
    assert sorted(got) == sorted(want)
    for name, data in want.items():
        if name.endswith(".json"):
            assert json.loads(got[name]) == json.loads(data), name
        else:
            assert got[name] == data, name


def test_ray_run_writes_the_single_process_files(local_ray, inputs, reference, tmp_path, capsys):
    out = tmp_path / "ray"
    assert main(["process", *inputs, "--out", str(out), "--max-frames", str(FRAMES), "--ray"]) == 0
    assert_same_outputs(out, reference)
    err = capsys.readouterr().err
    assert "ray: 2 workers" in err and "1 CPU + 0 GPU each" in err


def test_files_sent_back_when_out_is_not_shared(local_ray, inputs, reference, tmp_path):
    out = tmp_path / "driver_only"
    out.mkdir()
    jobs = [(inputs[0], STEM), (inputs[1], "copy_clip")]
    config = PipelineConfig(detect_every=1)  # what `main.py process` builds from its defaults
    reports, interrupted = process_on_ray(jobs, str(out), DEFAULT_FORMATS, config, FRAMES,
                                          RayOptions(out_shared=False))
    assert not interrupted and [r.error for r in reports] == [None, None]
    assert all(Path(f).parent == out for r in reports for f in r.files)
    assert_same_outputs(out, reference)


def test_killed_worker_is_retried_and_the_rest_finish(local_ray, inputs, reference, tmp_path, monkeypatch, capsys):
    out = tmp_path / "killed"
    monkeypatch.setenv(EXIT_HOOK_VARIABLE, "copy_clip:3")  # the worker on copy_clip exits after 3 frames, once
    assert main(["process", *inputs, "--out", str(out), "--max-frames", str(FRAMES), "--ray"]) == 0
    err = capsys.readouterr().err
    assert "copy_clip.mp4: worker failed" in err and "retrying" in err
    assert_same_outputs(out, reference)


def test_input_failing_twice_is_one_line_and_others_finish(local_ray, inputs, reference, tmp_path, monkeypatch,
                                                            capsys):
    out = tmp_path / "failed"
    monkeypatch.setenv(EXIT_HOOK_VARIABLE, "copy_clip:3:2")  # the worker dies on both attempts
    assert main(["process", *inputs, "--out", str(out), "--max-frames", str(FRAMES), "--ray"]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "failed twice" in line]
    assert len(lines) == 1 and lines[0].startswith(f"error: {inputs[1]}: failed twice on the cluster (")
    assert_same_outputs(out, reference, names=(STEM,))
    assert not (out / "copy_clip.json").exists()  # its partial file stays, as after a single-process crash


def test_skip_done_skips_finished_inputs(local_ray, inputs, reference, tmp_path, capsys):
    out = tmp_path / "resume"
    out.mkdir()
    for name, data in _files(reference).items():
        if name.startswith(STEM):
            (out / name).write_bytes(data)  # the first input finished in an earlier run
    before = (out / f"{STEM}.json").stat().st_mtime_ns
    assert main(["process", *inputs, "--out", str(out), "--max-frames", str(FRAMES), "--skip-done", "--ray"]) == 0
    assert (out / f"{STEM}.json").stat().st_mtime_ns == before
    assert f"{DEFAULT_SAMPLE}: done before, skipped" in capsys.readouterr().out
    assert_same_outputs(out, reference)


def test_actor_resources_follow_the_cluster():
    cpu_only = {"CPU": 8.0}
    assert actor_resources(RayOptions(cpus_per_worker=2), PipelineConfig(), cpu_only) == (
        {"num_cpus": 2.0, "num_gpus": 0.0}, 4)
    gpus = {"CPU": 32.0, "GPU": 4.0}
    assert actor_resources(RayOptions(cpus_per_worker=2, gpus_per_worker=0.5), PipelineConfig(), gpus) == (
        {"num_cpus": 2.0, "num_gpus": 0.5}, 8)
    assert actor_resources(RayOptions(), PipelineConfig(device="cpu"), gpus) == ({"num_cpus": 1.0, "num_gpus": 0.0}, 32)
