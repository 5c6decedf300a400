"""Engines: automatic choice with logged reasons, ONNX Runtime and PyTorch agreeing, batching, stale artifacts."""

import logging
import shutil

import numpy as np
import pytest
import torch

import main
from app.engines import EngineUnavailable, OnnxRuntimeEngine, TorchEngine, engine_names, select_engine
from export.card import read_card, write_card
from model.net.checkpoint import make_random_checkpoint
from export.parity import compare, require
from model.net.config import ModelConfig

HAVE_CUDA = torch.cuda.is_available()


@pytest.fixture(scope="module")
def card_path(export_tiny):
    """A tiny random-weight network exported by the real CLI (ONNX + card + checkpoint in one folder)."""
    return export_tiny(3)


@pytest.fixture
def copy_of(card_path, tmp_path):
    """A private copy of the exported folder that a test may damage."""
    for file in card_path.parent.iterdir():
        shutil.copy(file, tmp_path / file.name)
    return tmp_path / card_path.name


def crops(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 3, 64, 64)).astype(np.float32)


@pytest.mark.skipif(HAVE_CUDA, reason="checks the CPU fallback; this machine has a GPU")
def test_cpu_machine_falls_back_to_onnxruntime_and_logs_why(card_path, caplog):
    with caplog.at_level(logging.INFO, logger="app.engines"):
        engine = select_engine(card_path)
    assert engine.name == "onnxruntime-cpu" and engine.device == "cpu"
    skipped = dict(engine.skipped)
    assert list(skipped) == ["tensorrt", "onnxruntime-cuda", "torch-cuda"]
    assert "no CUDA GPU" in skipped["torch-cuda"]
    assert "TensorRT is not installed" in skipped["tensorrt"] or "CUDA" in skipped["tensorrt"]
    assert "engine torch-cuda skipped: no CUDA GPU" in caplog.text
    assert "engine in use: onnxruntime-cpu" in caplog.text


def test_onnxruntime_and_torch_engines_agree_for_several_batch_sizes(card_path):
    ort_engine = select_engine(card_path, preference="onnxruntime", device="cpu")
    torch_engine = select_engine(card_path, preference="torch", device="cpu")
    assert isinstance(ort_engine, OnnxRuntimeEngine) and isinstance(torch_engine, TorchEngine)
    assert torch_engine.name == "torch-cpu"
    for n in (1, 3, 8):
        images = crops(n, seed=n)
        a, b = ort_engine.infer(images), torch_engine.infer(images)
        assert a["uvz"].shape == b["joints_3d"].shape == (n, 17, 3)
        require(compare("onnxruntime vs torch", "fp32", b, a))


def test_batches_larger_than_max_batch_are_split_without_changing_results(card_path):
    card = read_card(card_path)
    whole = TorchEngine.from_card(card, card_path.parent, device="cpu")
    split = TorchEngine.from_card(card, card_path.parent, device="cpu", max_batch=2)
    images = crops(5, seed=7)
    np.testing.assert_allclose(split.infer(images)["joints_3d"], whole.infer(images)["joints_3d"], atol=1e-3)
    empty = whole.infer(np.zeros((0, 3, 64, 64), np.float32))
    assert empty["uvz"].shape == (0, 17, 3)
    with pytest.raises(AssertionError, match="expected"):
        whole.infer(np.zeros((2, 3, 32, 32), np.float32))


def test_changed_onnx_file_is_refused_and_the_next_engine_runs(copy_of, caplog):
    onnx_file = copy_of.parent / "tiny.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes() + b"\0")
    with caplog.at_level(logging.WARNING, logger="app.engines"):
        engine = select_engine(copy_of, device="cpu")
    assert engine.name == "torch-cpu"
    assert "file changed since export" in dict(engine.skipped)["onnxruntime-cpu"]
    assert "engine onnxruntime-cpu skipped" in caplog.text
    with pytest.raises(EngineUnavailable, match="no inference engine can run here .*file changed since export"):
        select_engine(copy_of, preference="onnxruntime", device="cpu")


def test_a_card_for_another_checkpoint_is_refused(copy_of):
    checkpoint = copy_of.parent / "tiny.pt"
    make_random_checkpoint(checkpoint, ModelConfig.tiny(), seed=99)  # same name, other weights
    with pytest.raises(EngineUnavailable, match="checkpoint differs from the one the card was exported from"):
        select_engine(copy_of, preference="torch", device="cpu")


def test_foreign_tensorrt_engine_in_the_card_never_breaks_selection(copy_of):
    from dataclasses import replace

    from export.card import Artifact, engine_filename
    from model.atomic import sha256_file

    card = read_card(copy_of)
    file = engine_filename("tiny", card.checkpoint_sha256, "fp16", 16, "NVIDIA A100", "8.0", "10.0.1")
    (copy_of.parent / file).write_bytes(b"not an engine for this machine")
    foreign = Artifact(kind="tensorrt", file=file, sha256=sha256_file(copy_of.parent / file), precision="fp16",
                       max_batch=16, checkpoint_sha256=card.checkpoint_sha256, tensorrt_version="10.0.1",
                       gpu_name="NVIDIA A100", compute_capability="8.0")
    write_card(replace(card, artifacts=card.artifacts + (foreign,)), copy_of)
    engine = select_engine(copy_of)
    reason = dict(engine.skipped)["tensorrt"]
    # Without TensorRT it is skipped as not installed; with TensorRT on another GPU, as built for the A100.
    assert "not installed" in reason or "built for NVIDIA A100" in reason or "CUDA" in reason


def test_bad_requests_are_one_line_errors(card_path, tmp_path):
    with pytest.raises(ValueError, match="unknown engine 'tensorflow'"):
        select_engine(card_path, preference="tensorflow")
    with pytest.raises(ValueError, match="device must be one of"):
        select_engine(card_path, device="tpu")
    from export.card import CardError

    with pytest.raises(CardError, match="model card not found"):
        select_engine(tmp_path / "missing.card.json")
    assert engine_names() == ("tensorrt", "onnxruntime-cuda", "torch-cuda", "onnxruntime-cpu", "torch-cpu")


@pytest.mark.skipif(HAVE_CUDA, reason="checks the no-GPU refusal; this machine has a GPU")
def test_asking_for_the_gpu_without_one_says_why(card_path):
    with pytest.raises(EngineUnavailable) as info:
        select_engine(card_path, device="cuda")
    message = str(info.value)
    assert "tensorrt:" in message and "torch-cuda: no CUDA GPU" in message and "\n" not in message
    net = TorchEngine.from_card(read_card(card_path), card_path.parent).net
    with pytest.raises(EngineUnavailable, match="need device='cuda'"):
        TorchEngine(net, device="cpu", fp16=True)


@pytest.mark.skipif(not HAVE_CUDA, reason="needs a CUDA GPU (none on this machine)")
def test_torch_cuda_fp16_graphs_match_cpu_within_fp16_tolerance(card_path):
    card = read_card(card_path)
    gpu = TorchEngine.from_card(card, card_path.parent, device="cuda")
    cpu = TorchEngine.from_card(card, card_path.parent, device="cpu")
    assert gpu.name == "torch-cuda-fp16-graphs"
    for n in (1, 3, 8):
        images = crops(n, seed=n)
        require(compare("torch-cuda-fp16-graphs", "fp16", cpu.infer(images), gpu.infer(images)))


def test_onnxruntime_worker_threads_sleep_between_runs(card_path):
    """Spinning workers would take the cores the detector thread and the GUI need (issue 12)."""
    engine = select_engine(card_path, preference="onnxruntime-cpu")
    try:
        options = engine.session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    finally:
        engine.close()
