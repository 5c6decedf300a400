"""`main.py export --input-size`: the same weights exported for another crop size (issue 12: 160 px crops on a CPU)."""

import numpy as np
import pytest

import main
from app.engines import OnnxRuntimeEngine, TorchEngine
from export.card import read_card
from model.net.checkpoint import make_random_checkpoint
from model.net.config import ModelConfig


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_random_checkpoint(tmp_path_factory.mktemp("resize") / "tiny.pt", ModelConfig.tiny(), seed=5)


def test_a_96_px_export_runs_96_px_crops_and_its_engines_agree(checkpoint, tmp_path):
    assert main.main(["export", str(checkpoint), "--input-size", "96", "--out", str(tmp_path)]) == 0  # parity checked
    card_path = tmp_path / "tiny_96.card.json"
    card = read_card(card_path)
    assert card.input_size == 96 and card.model_config["input_size"] == 96
    assert (tmp_path / "tiny_96.onnx").is_file() and card.checkpoint_file.endswith("tiny.pt")
    crops = np.random.default_rng(0).standard_normal((2, 3, 96, 96)).astype(np.float32)
    onnx, torch_engine = OnnxRuntimeEngine(card, tmp_path), TorchEngine.from_card(card, tmp_path)
    a, b = onnx.infer(crops), torch_engine.infer(crops)
    assert a["uvz"].shape == (2, card.num_joints, 3)
    np.testing.assert_allclose(a["joints_3d"], b["joints_3d"], atol=1.0)  # mm
    np.testing.assert_allclose(a["uvz"][..., :2], b["uvz"][..., :2], atol=0.1)  # crop px


@pytest.mark.parametrize("size", ["100", "0"])
def test_a_size_that_is_not_a_multiple_of_32_is_refused_in_one_line(checkpoint, tmp_path, size, capsys):
    assert main.main(["export", str(checkpoint), "--input-size", size, "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"export: --input-size must be a positive multiple of 32, got {size}"
