"""TensorRT: a clear one-line refusal where it is absent; engine build, parity, cache and stale refusal where present."""

import importlib.util
from dataclasses import replace

import pytest
import torch

import main
from app.engines import EngineUnavailable, TensorRTEngine, select_engine
from export.card import read_card, write_card
from model.net.checkpoint import make_random_checkpoint
from export.tensorrt_build import tensorrt_status
from model.net.config import ModelConfig

HAVE_TENSORRT = importlib.util.find_spec("tensorrt") is not None
HAVE_GPU = torch.cuda.is_available()
needs_tensorrt = pytest.mark.skipif(
    not (HAVE_TENSORRT and HAVE_GPU),
    reason="needs TensorRT and a CUDA GPU (`import tensorrt` fails here: see requirements-gpu.txt)",
)
without_tensorrt = pytest.mark.skipif(HAVE_TENSORRT, reason="checks the behaviour where TensorRT is not installed")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_random_checkpoint(tmp_path_factory.mktemp("trt") / "tiny.pt", ModelConfig.tiny(), seed=5)


@without_tensorrt
def test_status_says_tensorrt_is_missing_and_how_to_get_it():
    trt, reason = tensorrt_status()
    assert trt is None
    assert reason.startswith("TensorRT is not installed") and "requirements-gpu.txt" in reason and "\n" not in reason


@without_tensorrt
def test_export_asking_for_tensorrt_still_writes_onnx_and_card_and_says_why(checkpoint, tmp_path, capsys):
    assert main.main(["export", str(checkpoint), "--tensorrt", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tensorrt: not built: TensorRT is not installed")
    card = read_card(tmp_path / "tiny.card.json")
    assert [a.kind for a in card.artifacts] == ["onnx"]


@without_tensorrt
def test_tensorrt_engine_is_unavailable_with_the_reason(checkpoint, tmp_path):
    assert main.main(["export", str(checkpoint), "--out", str(tmp_path)]) == 0
    with pytest.raises(EngineUnavailable, match="TensorRT is not installed"):
        TensorRTEngine(read_card(tmp_path / "tiny.card.json"), tmp_path)


@needs_tensorrt
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_engine_builds_passes_parity_is_cached_and_runs(checkpoint, tmp_path, capsys, precision):
    args = ["export", str(checkpoint), "--tensorrt", "--max-batch", "8", "--out", str(tmp_path)]
    args += ["--fp16"] if precision == "fp16" else []
    assert main.main(args) == 0
    card = read_card(tmp_path / "tiny.card.json")
    (engine_artifact,) = [a for a in card.artifacts if a.kind == "tensorrt"]
    assert engine_artifact.precision == precision and engine_artifact.max_batch == 8
    assert engine_artifact.gpu_name == torch.cuda.get_device_name(0)
    assert engine_artifact.parity["max_mm"] <= engine_artifact.parity["tol_mm"]
    capsys.readouterr()
    assert main.main(args) == 0
    assert "up to date (cached)" in capsys.readouterr().out
    engine = select_engine(tmp_path / "tiny.card.json")
    assert engine.name == f"tensorrt-{precision}"
    assert engine.infer(torch.randn(11, 3, 64, 64).numpy())["joints_3d"].shape == (11, 17, 3)  # split at 8


@needs_tensorrt
def test_engine_card_for_another_gpu_is_refused_and_the_next_engine_runs(checkpoint, tmp_path):
    assert main.main(["export", str(checkpoint), "--tensorrt", "--out", str(tmp_path)]) == 0
    card_path = tmp_path / "tiny.card.json"
    card = read_card(card_path)
    foreign = tuple(replace(a, gpu_name="NVIDIA A100", compute_capability="8.0") if a.kind == "tensorrt" else a
                    for a in card.artifacts)
    write_card(replace(card, artifacts=foreign), card_path)
    with pytest.raises(EngineUnavailable, match="built for NVIDIA A100 .* but this machine has"):
        select_engine(card_path, preference="tensorrt")
    assert select_engine(card_path).name != "tensorrt-fp32"
