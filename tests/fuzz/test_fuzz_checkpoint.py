"""Fuzzing the checkpoint reader: a damaged checkpoint gives a CheckpointError naming the file, or a Checkpoint whose
config, skeleton and preprocessing have their documented types, never another exception or a hang.

The checkpoints are the shipped assets/cascade_blazepose.pt's own config, skeleton and preprocessing with a one-tensor
'model' (load_checkpoint does not build the network; test_checkpoint builds it), damaged field by field, and a
small real file cut at many byte positions.
"""

import copy
import functools
import io
import math
from pathlib import Path

import torch
from hypothesis import given
from hypothesis import strategies as st

from model.net.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from model.net.config import ModelConfig
from tests.fuzz.harness import time_limit

SHIPPED = Path(__file__).resolve().parents[2] / "assets" / "cascade_blazepose.pt"


@functools.lru_cache(maxsize=1)
def _shipped_fields() -> dict:
    data = torch.load(SHIPPED, map_location="cpu", weights_only=True)
    return {k: data[k] for k in ("model_config", "skeleton", "preprocessing")}


def _small_checkpoint() -> dict:
    return {"model": {"w": torch.zeros(2)}, **copy.deepcopy(_shipped_fields())}


def assert_valid(checkpoint: Checkpoint) -> None:
    assert isinstance(checkpoint.config, ModelConfig)
    defaults = ModelConfig()
    for name, default in vars(defaults).items():
        value = getattr(checkpoint.config, name)
        if isinstance(default, bool):
            assert isinstance(value, bool), name
        elif isinstance(default, (int, float)):
            assert isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value), name
    assert len(checkpoint.skeleton.joint_names) == checkpoint.config.num_joints
    pre = checkpoint.preprocessing
    assert isinstance(pre["input_size"], int) and pre["input_size"] == checkpoint.config.input_size
    assert pre["channel_order"] in ("RGB", "BGR")
    assert all(isinstance(pre[k], float) and math.isfinite(pre[k]) and pre[k] > 0
               for k in ("pixel_scale", "crop_padding", "crop_aspect"))
    assert len(pre["pixel_std"]) == 3 and all(v > 0 for v in pre["pixel_std"])


def read(path) -> Checkpoint | CheckpointError:
    try:
        with time_limit():
            checkpoint = load_checkpoint(path)
    except CheckpointError as error:
        message = str(error)
        assert str(path) in message and "\n" not in message, message
        return error
    assert_valid(checkpoint)
    return checkpoint


def _values():
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                        max_leaves=8)


def _containers(node, path=()):
    if isinstance(node, (dict, list)):
        yield path, node
        for key, child in (node.items() if isinstance(node, dict) else enumerate(node)):
            if not isinstance(child, torch.Tensor):
                yield from _containers(child, path + (key,))


def test_the_small_checkpoint_is_valid(tmp_path):
    path = tmp_path / "small.pt"
    torch.save(_small_checkpoint(), path)
    assert isinstance(read(path), Checkpoint)


@given(data=st.data())
def test_checkpoint_with_a_damaged_field(tmp_path_factory, examples, data):
    checkpoint = _small_checkpoint()
    for _ in range(data.draw(st.integers(1, 2), label="changes")):
        _, container = data.draw(st.sampled_from(list(_containers(checkpoint))), label="container")
        keys = list(container) if isinstance(container, dict) else list(range(len(container)))
        if not keys:
            continue
        key = data.draw(st.sampled_from(keys), label="key")
        if data.draw(st.booleans(), label="delete"):
            del container[key]
        else:
            container[key] = data.draw(_values(), label="value")
    path = tmp_path_factory.mktemp("ckpt") / "damaged.pt"
    torch.save(checkpoint, path)
    examples()
    read(path)


def test_checkpoint_cut_at_many_bytes(tmp_path, examples):
    buffer = io.BytesIO()
    torch.save(_small_checkpoint(), buffer)
    whole = buffer.getvalue()
    path = tmp_path / "cut.pt"
    for cut in sorted(set(range(0, len(whole), max(1, len(whole) // 150))) | {len(whole) - 1}):
        path.write_bytes(whole[:cut])
        examples()
        assert isinstance(read(path), CheckpointError)
