"""A tiny two-stage training run on synthetic stick figures: checkpoints, resume, config handling."""

import json

import pytest
import torch

import main
from model.net.skeleton import H36M
from model.training.train_config import ConfigError, TrainConfig, load_config
from tests.model.data.dataset_fixtures import make_h36m, make_mpii

TINY = [
    "model=tiny", "datasets_3d=synthetic", "datasets_2d=synthetic", "synthetic_size=16", "batch_size=4",
    "max_steps_per_epoch=2", "num_workers=0", "cpu_threads=1", "log_every=1",
]


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _train(out_dir, extra, config_file=None, resume=None) -> int:
    argv = ["train"] + ([str(config_file)] if config_file else [])
    argv += [a for s in TINY + extra for a in ("--set", s)] + ["--out-dir", str(out_dir), "--device", "cpu"]
    if resume:
        argv += ["--resume", str(resume)]
    return main.main(argv)


def test_defaults_are_the_papers_recipe():
    cfg = TrainConfig()
    assert (cfg.optimizer, cfg.lr, cfg.epochs, cfg.lr_decay_epochs, cfg.lr_decay_factor, cfg.batch_size) == (
        "adam", 1e-3, 20, (17,), 0.1, 64)
    assert cfg.stages == (1, 2) and cfg.stage2_epochs == 20 and cfg.stage2_lr == 1e-3
    assert cfg.datasets_3d == ("human36m",) and cfg.datasets_2d == ("mpii",) and cfg.fraction_3d == 0.5
    assert cfg.augment.rotation_deg == 30.0 and cfg.model.backbone == "resnet50" and cfg.model.input_size == 256


def test_config_file_and_overrides_are_type_checked(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("lr: 5.0e-4\nmodel:\n  backbone: resnet18\n  input_size: 128\naugment:\n  flip_prob: 0.0\n")
    cfg = load_config(str(path), ["epochs=3", "model.depth_bins=32", "datasets_2d=coco,mpii"])
    assert (cfg.lr, cfg.epochs, cfg.model.backbone, cfg.model.input_size, cfg.model.depth_bins) == (
        5e-4, 3, "resnet18", 128, 32)
    assert cfg.augment.flip_prob == 0.0 and cfg.datasets_2d == ("coco", "mpii")
    json_path = tmp_path / "run.json"
    json_path.write_text(json.dumps(cfg.to_dict()))
    assert load_config(str(json_path)) == cfg
    for bad, message in [("epochs=two", "expected an integer"), ("warmup=3", "unknown key"),
                         ("model.input_size=100", "multiple of 32"), ("augment.flip=1", "unknown key")]:
        with pytest.raises(ConfigError, match=message):
            load_config(str(path), [bad])
    path.write_text("lr: 1e-3\nbogus: 1\n")
    with pytest.raises(ConfigError, match=r"run.yaml: config: unknown key\(s\) bogus"):
        load_config(str(path))


def test_bad_config_is_a_one_line_error(tmp_path, capsys):
    assert main.main(["train", str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("missing.yaml: config file not found") and "\n" not in err
    assert main.main(["train", "--set", "lr=fast"]) == 2
    assert capsys.readouterr().err.strip() == "error: lr: expected a number, got 'fast'"


def test_two_stage_training_checkpoints_and_resume(tmp_path, restore_threads):
    out = tmp_path / "run"
    config = tmp_path / "tiny.yaml"
    config.write_text("epochs: 1\nstages: [1]\n")
    assert _train(out, [], config_file=config) == 0
    first = torch.load(out / "last.pt", map_location="cpu", weights_only=True)
    assert (first["stage"], first["epoch"], first["global_step"]) == (1, 1, 2)
    assert (out / "final.pt").is_file()
    assert first["skeleton"] == H36M.to_dict()
    assert first["model_config"]["input_size"] == 64 and first["train_config"]["batch_size"] == 4
    assert first["preprocessing"] == {
        "input_size": 64, "channel_order": "RGB", "pixel_scale": 255.0, "pixel_mean": [0.485, 0.456, 0.406],
        "pixel_std": [0.229, 0.224, 0.225], "crop_padding": 1.25, "crop_aspect": 1.0}
    assert first["optimizer"]["state"], "Adam moments are saved for resuming"

    # Resume: one more stage-1 epoch, then stage 2 (the lifting block alone).
    assert _train(out, ["epochs=2", "stages=1,2", "stage2_epochs=1"], resume=out / "last.pt") == 0
    final = torch.load(out / "final.pt", map_location="cpu", weights_only=True)
    stage1 = torch.load(out / "stage1.pt", map_location="cpu", weights_only=True)
    assert [(h["stage"], h["epoch"]) for h in final["history"]] == [(1, 0), (1, 1), (2, 0)]
    assert final["global_step"] == 6 and (final["stage"], final["epoch"]) == (2, 1)
    assert set(final["history"][-1]) >= {"pose", "total", "lr"}
    assert all(v == v for h in final["history"] for k, v in h.items() if k not in ("stage", "epoch"))
    # Resuming reproduces an uninterrupted run exactly (weights, Adam moments, sampling, augmentation).
    straight = tmp_path / "straight"
    assert _train(straight, ["epochs=2", "stages=1"]) == 0
    reference = torch.load(straight / "final.pt", map_location="cpu", weights_only=True)
    assert all(torch.equal(reference["model"][k], stage1["model"][k]) for k in reference["model"])
    # Stage 2 changed only the lifting block; everything else (BatchNorm statistics too) is frozen.
    changed = {k for k in final["model"] if not torch.equal(final["model"][k], stage1["model"][k])}
    assert changed and all(k.startswith("lifting.") for k in changed)
    assert any(k.startswith("lifting.") and k.endswith("weight") for k in changed)


def test_resume_rejects_a_different_model(tmp_path, restore_threads, capsys):
    out = tmp_path / "run"
    assert _train(out, ["epochs=1", "stages=1", "max_steps_per_epoch=1"]) == 0
    assert _train(out, ["model.depth_bins=8"], resume=out / "last.pt") == 2
    assert "model config differs" in capsys.readouterr().err


def test_train_and_eval_on_real_format_fixtures(tmp_path, restore_threads, capsys):
    # Human3.6M (Protocol 1 train subjects) + MPII in half/half batches, read from their real file
    # formats, through both stages; then Table 1 on the Protocol 1 test subjects of the same fixture.
    data = tmp_path / "data"
    make_h36m(str(data / "Human36M"))
    make_mpii(str(data / "MPII"))
    out = tmp_path / "run"
    settings = ["model=tiny", f"data_root={data}", "batch_size=4", "epochs=1", "stage2_epochs=1",
                "max_steps_per_epoch=1", "num_workers=0", "cpu_threads=1"]
    argv = ["train", "--out-dir", str(out), "--device", "cpu"] + [a for s in settings for a in ("--set", s)]
    assert main.main(argv) == 0
    final = torch.load(out / "final.pt", map_location="cpu", weights_only=True)
    assert [(h["stage"], h["epoch"]) for h in final["history"]] == [(1, 0), (2, 0)]
    assert final["train_config"]["datasets_3d"] == ["human36m"] and final["train_config"]["datasets_2d"] == ["mpii"]
    capsys.readouterr()
    assert main.main(["eval", str(out / "final.pt"), "human36m", "--root", str(data / "Human36M"),
                      "--protocol", "1", "--workers", "0", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[0] == "Methods" and lines[0].split()[-1] == "Avg"
    assert lines[2] == "Table 1: MPJPE (mm) on Human3.6M under Protocol #1."
    assert lines[3].startswith("8 samples: MPJPE")  # S9 and S11, 2 actions, frames 0 and 64


def test_missing_image_in_a_worker_is_one_line(tmp_path, restore_threads, capsys):
    data = tmp_path / "data"
    make_h36m(str(data / "Human36M"))
    make_mpii(str(data / "MPII"))
    (data / "MPII" / "images" / "a.jpg").unlink()
    settings = ["model=tiny", f"data_root={data}", "batch_size=4", "num_workers=1", "cpu_threads=1"]
    argv = ["train", "--out-dir", str(tmp_path / "run"), "--device", "cpu"] + [a for s in settings for a in ("--set", s)]
    assert main.main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"error: {data / 'MPII' / 'images' / 'a.jpg'}: image not found"
