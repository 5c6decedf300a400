"""`torchrun --nproc_per_node 2 main.py train` on the CPU (gloo): the same steps as one process, rank 0 writes, resume."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from model.data.datasets.loader import MixedBatchSampler, batch_share, mixed_counts

REPO = Path(__file__).resolve().parents[3]
# Tiny network, no dropout (its draws differ between one process and two), 3D and 2D synthetic halves.
TINY = ["model=tiny", "model.dropout=0.0", "datasets_3d=synthetic", "datasets_2d=synthetic", "synthetic_size=16",
        "batch_size=4", "max_steps_per_epoch=2", "num_workers=0", "cpu_threads=1", "log_every=1", "stages=1"]


def _train(out_dir: Path, extra: list[str], processes: int = 1, resume: Path | None = None) -> str:
    """Run `main.py train` (under torchrun for processes > 1) in a fresh interpreter; returns stderr."""
    launcher = [sys.executable]
    if processes > 1:
        launcher += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    argv = launcher + ["main.py", "train"] + [a for s in TINY + extra for a in ("--set", s)]
    argv += ["--out-dir", str(out_dir), "--device", "cpu"] + (["--resume", str(resume)] if resume else [])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stderr


def _parameters(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(learned parameters, checkpoint) of a checkpoint; BatchNorm running statistics left out: under DDP
    they are rank 0's, in one process with micro-batches the last micro-batch's."""
    data = torch.load(path, map_location="cpu", weights_only=True)
    state = data["model"]
    learned = {k: v for k, v in state.items() if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))}
    return learned, data


def assert_same_training(a: Path, b: Path) -> None:
    params_a, data_a = _parameters(a)
    params_b, data_b = _parameters(b)
    assert params_a.keys() == params_b.keys()
    for name in params_a:
        torch.testing.assert_close(params_a[name], params_b[name], rtol=1e-4, atol=1e-6, msg=name)
    assert [h["epoch"] for h in data_a["history"]] == [h["epoch"] for h in data_b["history"]]
    for ha, hb in zip(data_a["history"], data_b["history"]):
        for term in ha:
            assert ha[term] == pytest.approx(hb[term], rel=1e-5, abs=1e-7), term
    assert data_a["global_step"] == data_b["global_step"]


def test_rank_shares_make_up_the_global_batch():
    counts = mixed_counts(8, 0.5, 2)  # 4 3D + 4 2D samples
    whole = MixedBatchSampler((12, 5), counts, seed=3)
    ranks = [MixedBatchSampler((12, 5), counts, seed=3, rank=r, world_size=2) for r in range(2)]
    for sampler in [whole, *ranks]:
        sampler.set_epoch(1)
    for batch, *shares in zip(whole, *ranks):
        assert shares[0] + shares[1] != batch  # interleaved per part, not halves of the list
        assert sorted(shares[0] + shares[1]) == sorted(batch)
        for share in shares:  # every process keeps the batch's 3D/2D mix
            assert sum(i < 12 for i in share) == 2 and sum(i >= 12 for i in share) == 2
        assert shares[0] == [batch[i] for i in batch_share(counts, 0, 2)]
    assert len(ranks[0]) == len(whole) == 3
    with pytest.raises(ValueError, match="does not split into 3 equal shares"):
        MixedBatchSampler((12, 5), counts, rank=0, world_size=3)


def test_two_processes_equal_one_with_two_micro_batches_and_resume(tmp_path):
    # One epoch of 2 steps under torchrun, resumed for a second epoch, against 2 epochs in one process
    # that splits each batch of 4 the way the two processes do (micro_batches=2).
    first = tmp_path / "ddp"
    err = _train(first, ["epochs=1"], processes=2)
    assert "x 2 processes (gloo)" in err and err.count("stage 1 epoch 1/1: joint=") == 1  # rank 0 alone logs
    assert sorted(p.name for p in first.iterdir()) == ["final.pt", "last.pt"]
    resumed = tmp_path / "ddp_resumed"
    _train(resumed, ["epochs=2"], processes=2, resume=first / "last.pt")
    single = tmp_path / "single"
    _train(single, ["epochs=2", "micro_batches=2"])
    assert_same_training(resumed / "final.pt", single / "final.pt")
    # After one step of the first epoch too (weights of that run's end against a 1-epoch single run).
    single_one = tmp_path / "single_one"
    _train(single_one, ["epochs=1", "micro_batches=2"])
    assert_same_training(first / "final.pt", single_one / "final.pt")
