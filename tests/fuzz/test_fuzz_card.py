"""Fuzzing the model-card reader: a damaged card gives a CardError naming the file, or a card whose every field has
its documented type and range, never another exception or a hang.

The card is the shipped assets/cascade_blazepose.card.json, damaged at the JSON level (a field removed or given a value
of another type, anywhere in the tree) and at the byte level (cut at every byte, random bytes changed).
"""

import json
import math
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from export.card import ARTIFACT_KINDS, CARD_FORMAT, CARD_VERSION, PRECISIONS, Artifact, CardError, ModelCard, \
    OutputSpec, read_card
from tests.fuzz.harness import time_limit

CARD = Path(__file__).resolve().parents[2] / "assets" / "cascade_blazepose.card.json"


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_positive(v) -> bool:
    return isinstance(v, float) and math.isfinite(v) and v > 0


def assert_valid_card(card: ModelCard) -> None:
    """Every field with the type and range the app relies on (engines, crops, normalisation)."""
    assert card.format == CARD_FORMAT and card.version == CARD_VERSION
    for text in (card.name, card.input_name, card.checkpoint_file, card.checkpoint_sha256, card.created_utc):
        assert isinstance(text, str)
    assert isinstance(card.joint_names, tuple) and all(isinstance(n, str) for n in card.joint_names)
    assert isinstance(card.parents, tuple) and len(card.parents) == len(card.joint_names)
    assert all(_is_int(p) and -1 <= p < len(card.parents) for p in card.parents)
    assert _is_int(card.input_size) and card.input_size > 0
    assert card.channel_order in ("RGB", "BGR")
    assert _is_positive(card.pixel_scale) and _is_positive(card.crop_padding) and _is_positive(card.crop_aspect)
    assert len(card.pixel_mean) == 3 and all(isinstance(v, float) and math.isfinite(v) for v in card.pixel_mean)
    assert len(card.pixel_std) == 3 and all(_is_positive(v) for v in card.pixel_std)
    assert isinstance(card.outputs, tuple)
    for spec in card.outputs:
        assert isinstance(spec, OutputSpec) and isinstance(spec.name, str)
        assert isinstance(spec.meaning, str) and isinstance(spec.units, str)
        assert isinstance(spec.shape, tuple) and all(_is_int(s) for s in spec.shape)
    assert isinstance(card.model_config, dict) and isinstance(card.exporter, dict)
    assert isinstance(card.artifacts, tuple)
    for artifact in card.artifacts:
        assert isinstance(artifact, Artifact)
        assert artifact.kind in ARTIFACT_KINDS and artifact.precision in PRECISIONS
        assert isinstance(artifact.file, str) and isinstance(artifact.sha256, str)
        assert _is_int(artifact.max_batch) and artifact.max_batch >= 0
        assert isinstance(artifact.checkpoint_sha256, str) and isinstance(artifact.parity, dict)
        assert artifact.opset is None or _is_int(artifact.opset)
        for optional in (artifact.tensorrt_version, artifact.gpu_name, artifact.compute_capability, artifact.source):
            assert optional is None or isinstance(optional, str)


def read(path) -> ModelCard | CardError:
    try:
        with time_limit():
            card = read_card(path)
    except CardError as error:
        message = str(error)
        assert str(path) in message and "\n" not in message, message
        return error
    assert_valid_card(card)
    return card


def test_the_shipped_card_is_valid():
    assert isinstance(read(CARD), ModelCard)


def test_card_cut_at_every_byte(tmp_path, examples):
    data = CARD.read_bytes()
    path = tmp_path / "cut.card.json"
    for cut in range(len(data) + 1):
        path.write_bytes(data[:cut])
        examples()
        result = read(path)
        assert isinstance(result, CardError) or data[cut:].strip() == b""


def _json_values():
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                        max_leaves=10)


def _containers(node, path=()):
    """(path, container) of every dict and list in the tree, the root included."""
    if isinstance(node, (dict, list)):
        yield path, node
        for key, child in (node.items() if isinstance(node, dict) else enumerate(node)):
            yield from _containers(child, path + (key,))


@given(data=st.data())
def test_card_with_a_damaged_field(tmp_path_factory, examples, data):
    card = json.loads(CARD.read_text())
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        containers = list(_containers(card))
        _, container = data.draw(st.sampled_from(containers), label="container")
        keys = list(container) if isinstance(container, dict) else list(range(len(container)))
        if not keys:
            continue
        key = data.draw(st.sampled_from(keys), label="key")
        action = data.draw(st.sampled_from(["delete", "replace", "rename"]), label="action")
        if action == "delete":
            del container[key]
        elif action == "replace":
            container[key] = data.draw(_json_values(), label="value")
        elif isinstance(container, dict):
            container[data.draw(st.text(max_size=8), label="new name")] = container.pop(key)
    path = tmp_path_factory.mktemp("card") / "damaged.card.json"
    path.write_text(json.dumps(card))  # NaN and Infinity become JSON tokens Python reads back: the reader must cope
    examples()
    read(path)


@given(damage=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8))
def test_card_with_damaged_bytes(tmp_path_factory, examples, damage):
    data = bytearray(CARD.read_bytes())
    for offset, value in damage:
        data[offset % len(data)] = value
    path = tmp_path_factory.mktemp("card") / "bytes.card.json"
    path.write_bytes(bytes(data))
    examples()
    read(path)


@given(value=_json_values())
def test_a_card_that_is_not_an_object(tmp_path_factory, examples, value):
    path = tmp_path_factory.mktemp("card") / "other.card.json"
    path.write_text(json.dumps(value))
    examples()
    assert isinstance(read(path), CardError)
