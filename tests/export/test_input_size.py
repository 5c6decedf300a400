"""`main.py export --input-size`: the same weights exported for another crop size (issue 12: 160 px crops on a CPU)."""

import numpy as np
import pytest

import main
from app.engines import OnnxRuntimeEngine, TorchEngine
from export.card import read_card
from model.net.checkpoint import MAX_INPUT_SIZE, make_random_checkpoint
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


@pytest.mark.parametrize("size", ["100", "0", "100000"])
def test_a_size_that_is_not_a_multiple_of_32_is_refused_in_one_line(checkpoint, tmp_path, size, capsys):
    assert main.main(["export", str(checkpoint), "--input-size", size, "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (f"export: --input-size must be a positive multiple of 32 up to "
                                               f"{MAX_INPUT_SIZE}, got {size}")


@pytest.mark.parametrize("where", ["file", "under-file"])
def test_an_out_that_cannot_be_a_folder_is_one_line(checkpoint, tmp_path, capsys, where):
    """Was a traceback (issue 26.15)."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    out = blocker if where == "file" else blocker / "exports"
    assert main.main(["export", str(checkpoint), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: --out {out}") and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]
