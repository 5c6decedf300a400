"""Resumable fine-tuning (model/training/train_generalise.py): N steps, interrupted and resumed, give the same weights
as N uninterrupted steps; the person head learns to tell crops with a person from crops without."""

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from model.net.config import ModelConfig
from model.data.datasets.loader import IMAGENET_MEAN, IMAGENET_STD, make_crop_sample
from model.net.network import CascadeNet
from model.net.skeleton import JOINT_NAMES, NUM_JOINTS
from model.training.train_generalise import GeneraliseConfig, Sources, Trainer, arm_weights, lr_factor, run


class DotPeople(Dataset):
    """Crops with a bright dot per joint on a dark noisy background; augmentation seeded by (epoch, index)."""

    def __init__(self, n: int, input_size: int, person: bool = True, seed: int = 0) -> None:
        self.n, self.input_size, self.person, self.seed, self.epoch = n, input_size, person, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, self.epoch, index, int(self.person)])
        s = self.input_size
        image = rng.integers(0, 40, (s, s, 3)).astype(np.uint8)
        joints = rng.uniform(0.2 * s, 0.8 * s, (NUM_JOINTS, 2))
        if self.person:
            for x, y in joints.astype(int):
                image[max(0, y - 1):y + 2, max(0, x - 1):x + 2] = 255
        joints_3d = rng.normal(0, 300, (NUM_JOINTS, 3))
        joints_3d -= joints_3d[0]
        valid = np.full(NUM_JOINTS, float(self.person))
        return make_crop_sample(image, IMAGENET_MEAN, IMAGENET_STD, joints if self.person else np.zeros_like(joints),
                                valid, joints_3d * self.person, valid, float(self.person), index)


def _trainer(steps: int = 8, head_lr: float = 1e-3, arm_weight: float = 1.0) -> Trainer:
    torch.manual_seed(0)
    cfg = ModelConfig.tiny().replace(person_head=16)
    net = CascadeNet(cfg)
    mocap = np.random.default_rng(1).normal(0, 300, (50, NUM_JOINTS, 3))
    sources = Sources(
        real=DotPeople(10, cfg.input_size), negatives=DotPeople(6, cfg.input_size, person=False), mocap=mocap,
        list_shards=lambda: ["shard-a"], synthetic=lambda shards: DotPeople(7, 48, seed=5),
    )
    # 2 real crops per step: an epoch of the 10 real crops ends after 5 steps, inside the tested run.
    tcfg = GeneraliseConfig(steps=steps, batch_size=4, synthetic_share=0.5, negatives=2, train_sizes=(32, 64),
                            size_probs=(0.5, 0.5), mocap_batch=16, warmup_steps=2, threads=1, head_lr=head_lr,
                            arm_weight=arm_weight)
    trainer = Trainer(net, sources, tcfg)
    trainer.train_mode()
    return trainer


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    torch.set_num_threads(1)
    straight = _trainer()
    for _ in range(7):
        straight.step()
    assert straight.pos.epoch == 1  # the run crossed an epoch boundary

    first = _trainer()
    for _ in range(3):
        first.step()
    first.save(str(tmp_path))
    del first  # the interruption: nothing survives but the files
    resumed = _trainer()
    resumed.restore(str(tmp_path / "last.pt"))
    assert resumed.pos.step == 3 and resumed.pos.shards == ("shard-a",)
    for _ in range(4):
        resumed.step()

    a, b = straight.net.state_dict(), resumed.net.state_dict()
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, different[:5]
    assert (straight.pos.epoch, straight.pos.offset) == (resumed.pos.epoch, resumed.pos.offset)
    # and the run did move the weights
    assert not torch.equal(a["person_head.mlp.0.weight"], _trainer().net.state_dict()["person_head.mlp.0.weight"])


def test_run_stops_on_budget_and_leaves_a_resumable_checkpoint(tmp_path):
    torch.set_num_threads(1)
    trainer = _trainer(steps=2)
    run(trainer, str(tmp_path), minutes=0.0, save_minutes=100.0, log=lambda line: None)
    assert trainer.pos.step == 2
    state = torch.load(tmp_path / "last.pt", weights_only=False)
    assert state["position"]["step"] == 2 and "optimizer" in state
    weights = torch.load(tmp_path / "weights.pt", weights_only=True)
    assert "optimizer" not in weights and weights["model_config"]["person_head"] == 16


def test_arm_weight_weighs_the_elbows_and_wrists_and_changes_the_steps():
    w = arm_weights(3.0)
    arms = {"l_elbow", "l_wrist", "r_elbow", "r_wrist"}
    assert [float(v) for v in w] == [3.0 if name in arms else 1.0 for name in JOINT_NAMES]
    torch.set_num_threads(1)
    plain, weighted = _trainer(), _trainer(arm_weight=3.0)
    logs = [(plain.step(), weighted.step()) for _ in range(2)]
    # The same batches (seeded by step), so only the weighting differs: the 2D terms and the weights move apart.
    assert logs[0][0]["joint"] != logs[0][1]["joint"] and logs[0][0]["uvz"] != logs[0][1]["uvz"]
    assert logs[0][0]["cube"] == logs[0][1]["cube"]  # the first step's 3D terms see the same network
    a, b = plain.net.state_dict(), weighted.net.state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_schedule_follows_steps_not_the_clock():
    tcfg = GeneraliseConfig(steps=100, warmup_steps=10)
    assert lr_factor(0, tcfg) == pytest.approx(0.1)
    assert lr_factor(9, tcfg) == pytest.approx(1.0, abs=0.03)  # warm-up done, cosine barely started
    assert lr_factor(100, tcfg) == pytest.approx(0.05)


def test_person_head_separates_people_from_empty_crops():
    torch.set_num_threads(1)
    trainer = _trainer(steps=60, head_lr=1e-2)  # a faster head than the real recipe's: a short test
    for _ in range(60):
        trainer.step()
    net = trainer.net.eval()
    people = torch.stack([DotPeople(8, 64, seed=9)[i].image for i in range(8)])
    empty = torch.stack([DotPeople(8, 64, person=False, seed=9)[i].image for i in range(8)])
    with torch.no_grad():
        p_people, p_empty = torch.sigmoid(net(people).person_logit), torch.sigmoid(net(empty).person_logit)
    assert p_people.min() > p_empty.max(), (p_people, p_empty)


def test_train_person_head_alone_leaves_a_head_that_reads_raw_features():
    """train_person_head fits on standardised pooled features and folds the standardisation into the head's
    first layer: the head then classifies the raw pooled features as it did the standardised ones."""
    from model.training.train_generalise import pooled_features, train_person_head

    torch.set_num_threads(1)
    trainer = _trainer()
    net, sources = trainer.net, trainer.sources
    before = {k: v.clone() for k, v in net.state_dict().items() if not k.startswith("person_head.")}
    result = train_person_head(net, sources, per_class=24, steps=300, log=lambda line: None)
    assert result["accuracy"] == 1.0 and result["positives"] == result["negatives"] == 24
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())  # only the head changed
    # The same items as inside train_person_head (same seeds): 12 real and 12 synthetic people, 24 negatives.
    size = net.cfg.input_size
    people = torch.cat([pooled_features(net, sources.real, 12, size, 0),
                        pooled_features(net, sources.synthetic(sources.list_shards()), 12, size, 10)])
    empty = pooled_features(net, sources.negatives, 24, size, 2)
    with torch.no_grad():
        assert (net.person_head.mlp(people)[:, 0] > 0).all() and (net.person_head.mlp(empty)[:, 0] < 0).all()


def test_a_blazepose_run_starts_from_blazepose_and_the_shipped_lifting_block_and_steps(tmp_path):
    """`--init blazepose`: BlazePose's weights from the wheel, the committed weights' lifting block and output scale;
    --freeze-blocks 14 freezes BlazePose's first 14 convs and no other backbone weight; a step moves the rest."""
    from model.net.blazepose import load_blazepose
    from model.net.checkpoint import load_checkpoint
    from model.training.train_generalise import BLAZEPOSE_INIT, DEFAULT_INIT, network_from

    net = network_from(BLAZEPOSE_INIT)
    shipped = load_checkpoint(DEFAULT_INIT)
    assert net.cfg.backbone == "blazepose" and net.cfg.output_geodesic_mm == shipped.config.output_geodesic_mm
    assert torch.equal(net.lifting.out.weight, shipped.state_dict["lifting.out.weight"].float())
    wheel = load_blazepose().state_dict()
    assert all(torch.equal(v, wheel[k]) for k, v in net.backbone.net.state_dict().items())
    size = 64
    sources = Sources(real=DotPeople(4, size), negatives=DotPeople(2, size, person=False),
                      mocap=np.random.default_rng(1).normal(0, 300, (20, NUM_JOINTS, 3)))
    tcfg = GeneraliseConfig(steps=2, batch_size=2, negatives=1, freeze_blocks=14, train_sizes=(size,), size_probs=(1.0,),
                            mocap_batch=8, warmup_steps=1, threads=1)
    trainer = Trainer(net, sources, tcfg)
    convs = net.backbone.net.convs
    assert not any(p.requires_grad for c in convs[:14] for p in c.parameters())
    assert all(p.requires_grad for c in convs[14:] for p in c.parameters())
    before = {k: v.clone() for k, v in net.state_dict().items()}
    trainer.train_mode()
    logs = trainer.step()
    assert np.isfinite(logs["total"])
    after = net.state_dict()
    assert torch.equal(after["backbone.net.convs.0.weight"], before["backbone.net.convs.0.weight"])
    assert not torch.equal(after["backbone.net.convs.20.weight"], before["backbone.net.convs.20.weight"])
    assert not torch.equal(after["volume.conv.weight"], before["volume.conv.weight"])


def test_train_sizes_option_takes_multiples_of_32_and_refuses_others_in_one_line(capsys):
    """--train-sizes 160 fine-tunes for the size a card is exported at; a side the backbone cannot take is a usage
    error before any data is read."""
    from model.training.train_generalise import _sizes, main as train_main

    assert _sizes("160") == (160,) and _sizes("128,160") == (128, 160)
    for bad in ("150", "abc", "160,"):
        with pytest.raises(SystemExit) as stop:
            train_main(["--train-sizes", bad, "--out", "never-written"])
        err = capsys.readouterr().err.strip().splitlines()
        assert stop.value.code == 2 and "--train-sizes" in err[-1] and repr(bad) in err[-1], err


def test_resume_refuses_recipe_options_it_would_ignore(tmp_path, capsys):
    """--resume keeps the stored recipe: recipe options given with it (even at their default values) are a one-line
    error naming them and the way to a new run; run-time options are not (the run then finds nothing to resume)."""
    from model.training.train_generalise import main

    out = str(tmp_path / "run")
    args = ["--out", out, "--resume", "--steps", "10", "--threads", "2", "--loader-threads", "3", "--minutes", "1",
            "--save-minutes", "1", "--device", "cpu"]
    assert main(args + ["--lr", "1e-3", "--train-sizes", "160", "--batch-size", str(GeneraliseConfig.batch_size)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {out}/last.pt: --resume "), err
    assert "so --batch-size, --lr, --train-sizes would be ignored" in err and f"--init {out}/weights.pt" in err, err
    for runtime in ("--steps", "--threads", "--loader-threads", "--minutes", "--device"):
        assert runtime not in err, err
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == f"error: {out}/last.pt: nothing to resume; start a run without --resume"


def test_head_only_refits_the_person_head_and_keeps_the_weights_provenance(tmp_path, monkeypatch):
    """`--head-only`: only the person head changes, and the written checkpoint keeps the recipe and progress of
    the weights it started from (a shipped checkpoint refitted this way still says how it was trained)."""
    import model.training.train_generalise as tg
    from model.net.checkpoint import make_payload, read_checkpoint, save_checkpoint

    torch.set_num_threads(1)
    trainer = _trainer()
    init = tmp_path / "init.pt"
    save_checkpoint(init, make_payload(trainer.net.eval(), trainer.net.cfg, train_config={"steps": 5},
                                       progress={"step": 5}))
    monkeypatch.setattr(tg, "distill_sources", lambda *args: trainer.sources)  # no distillation set on disk here
    out = tmp_path / "head"
    assert tg.main(["--head-only", "--init", str(init), "--out", str(out), "--head-samples", "24", "--threads", "1"]) == 0
    before, after = read_checkpoint(init), read_checkpoint(out / "weights.pt")
    assert after["train_config"] == {"steps": 5}
    assert after["progress"]["init_progress"] == {"step": 5} and after["progress"]["person_head_only"]["accuracy"] == 1.0
    changed = {k for k, v in before["model"].items() if not torch.equal(v, after["model"][k])}
    assert changed and all(k.startswith("person_head.") for k in changed), changed


def test_a_person_head_on_the_deeper_maps_is_refitted_and_grafted_onto_the_shipped_weights(tmp_path, capsys):
    """The shipped head pools the backbone's deeper maps (ModelConfig.person_taps). network_from(init, person_taps=X)
    with X other than the checkpoint's gives a new head on those inputs, every other weight as committed (with X
    as the checkpoint's, or None, its own head); compress.ship grafts such a head (with its config) back onto the
    committed weights, dropping the old head, and the result scores crops the same way.
    --person-taps without --head-only is refused in one line."""
    from model.net.checkpoint import load_checkpoint, make_payload, save_checkpoint
    from model.training.compress import ship
    from model.training.train_generalise import DEFAULT_INIT, main, network_from

    shipped = load_checkpoint(DEFAULT_INIT)
    assert shipped.config.person_taps
    own = network_from(DEFAULT_INIT)
    assert own.cfg.person_taps and torch.equal(own.person_head.mlp[0].weight,
                                               shipped.state_dict["person_head.mlp.0.weight"].float())
    assert own.person_head.in_channels == own.backbone.out_channels + sum(own.backbone.tap_channels)
    net = network_from(DEFAULT_INIT, person_taps=False).eval()
    assert not net.cfg.person_taps and net.person_head.in_channels == net.backbone.out_channels
    state = net.state_dict()
    assert all(torch.equal(v.float(), state[k]) for k, v in shipped.state_dict.items() if not k.startswith("person_head."))
    with torch.no_grad():
        net.person_head.mlp[2].weight.normal_()  # a head that says something
    donor = tmp_path / "donor.pt"
    save_checkpoint(donor, make_payload(net, net.cfg))
    ship(DEFAULT_INIT, str(tmp_path / "shipped.pt"), person_head_from=str(donor))
    grafted = load_checkpoint(tmp_path / "shipped.pt")
    assert not grafted.config.person_taps and grafted.config.person_head == net.cfg.person_head
    x = torch.randn(2, 3, net.cfg.input_size, net.cfg.input_size)
    with torch.no_grad():
        want = net.infer_outputs(x)["person_score"]
        got = grafted.build_network("cpu").float().eval().infer_outputs(x)["person_score"]
    assert torch.allclose(got, want, atol=2e-3), (got, want)  # fp16 weights
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["--person-taps", "--out", str(tmp_path / "x")])
    assert "--person-taps goes with --head-only" in capsys.readouterr().err
