"""The model card: one JSON file that tells the app how to feed and read an exported network.

A card sits next to its artifacts (ONNX model, TensorRT engines) and carries everything the app needs
without the training code: the skeleton, the crop and normalisation recipe, the output tensors with
their units, the source checkpoint's sha256 and where it is, the model config (so the PyTorch engine
can rebuild the network), the exporter versions, and one record per artifact. A TensorRT record names
the GPU, compute capability and TensorRT version it was built for, since a serialized engine only
runs there.

This module imports no torch (the app reads cards without the training stack). Writes are atomic.
"""

import json
import math
import os
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from model.atomic import atomic_write_bytes, sha256_file
from model.errors import read_json

# model.net.checkpoint.MAX_INPUT_SIZE (not imported: reading a card needs no torch); a larger side passed the
# check and asked for 83.8 GiB on the first frame.
MAX_INPUT_SIZE = 1024

CARD_FORMAT = "cascade3d-model-card"
CARD_VERSION = 1
CARD_SUFFIX = ".card.json"
ARTIFACT_KINDS = ("onnx", "tensorrt")
PRECISIONS = ("fp32", "fp16")


class CardError(ValueError):
    """A card cannot be read or does not fit; the message is one line naming the file."""


class StaleArtifactError(CardError):
    """An artifact was built for another GPU, TensorRT version or checkpoint, or changed on disk."""


@dataclass(frozen=True)
class OutputSpec:
    """One output tensor of the exported network: name, shape (-1 = batch), meaning and units."""

    name: str
    shape: tuple[int, ...]
    meaning: str
    units: str


@dataclass(frozen=True)
class Artifact:
    """One exported file and what it was built from and for.

    file: path relative to the card's folder. sha256: of that file when it was written.
    precision: 'fp32' or 'fp16'. max_batch: the largest batch the artifact accepts (0 = any, ONNX).
    checkpoint_sha256: the checkpoint it came from (must equal the card's).
    opset: ONNX opset (ONNX only). tensorrt_version, gpu_name, compute_capability ('9.0'):
    TensorRT engines only, the runtime and GPU it was built on and can only run on.
    source: the ONNX file a TensorRT engine was built from.
    parity: the export-time check, {'max_mm', 'max_px', 'tol_mm', 'tol_px', 'batch', 'reference'}.
    """

    kind: str
    file: str
    sha256: str
    precision: str
    max_batch: int
    checkpoint_sha256: str
    opset: int | None = None
    tensorrt_version: str | None = None
    gpu_name: str | None = None
    compute_capability: str | None = None
    source: str | None = None
    parity: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert self.kind in ARTIFACT_KINDS, f"artifact kind must be one of {ARTIFACT_KINDS}, got {self.kind!r}"
        assert self.precision in PRECISIONS, f"precision must be one of {PRECISIONS}, got {self.precision!r}"


@dataclass(frozen=True)
class ModelCard:
    """Everything needed to run an exported cascaded network (see the module docstring).

    Input: `input_name`, float32 (B, 3, input_size, input_size), channels in `channel_order`,
    value = (pixel / pixel_scale - pixel_mean) / pixel_std. The crop for a person box (x, y, w, h)
    keeps the box centre, grows the shorter side to `crop_aspect` (width / height) and scales by
    `crop_padding`; crop px = input_size / crop_width * (image px - crop centre) + input_size / 2.
    """

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    input_name: str
    input_size: int
    channel_order: str
    pixel_scale: float
    pixel_mean: tuple[float, float, float]
    pixel_std: tuple[float, float, float]
    crop_padding: float
    crop_aspect: float
    outputs: tuple[OutputSpec, ...]
    checkpoint_file: str
    checkpoint_sha256: str
    model_config: dict
    exporter: dict
    created_utc: str
    artifacts: tuple[Artifact, ...] = ()
    format: str = CARD_FORMAT
    version: int = CARD_VERSION

    def __post_init__(self) -> None:
        assert len(self.joint_names) == len(self.parents), "one parent per joint"
        assert self.channel_order in ("RGB", "BGR"), f"channel_order must be RGB or BGR, got {self.channel_order!r}"
        assert len(self.pixel_mean) == 3 and len(self.pixel_std) == 3

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def output(self, name: str) -> OutputSpec:
        for spec in self.outputs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def with_artifact(self, artifact: Artifact) -> "ModelCard":
        """A copy with `artifact` added, replacing any record of the same file."""
        kept = tuple(a for a in self.artifacts if a.file != artifact.file)
        return replace(self, artifacts=kept + (artifact,))

    def to_dict(self) -> dict:
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, d: dict, source: str = "card") -> "ModelCard":
        """Inverse of to_dict; a wrong format, version or field becomes a one-line CardError naming the field.

        Every field is checked for its type and range (numbers finite, sizes and scales positive), so a
        card that reads is one the engines and the crop code can use.
        """
        if not isinstance(d, dict) or d.get("format") != CARD_FORMAT:
            raise CardError(f"{source}: not a model card (expected format {CARD_FORMAT!r})")
        if d.get("version") != CARD_VERSION or isinstance(d.get("version"), bool):
            raise CardError(f"{source}: model card version {d.get('version')!r} is not supported (expected {CARD_VERSION})")
        known = {f.name for f in fields(cls)}
        missing = sorted(known - set(d) - {"artifacts", "format", "version"})
        unknown = sorted(set(d) - known, key=str)
        if missing or unknown:
            raise CardError(f"{source}: model card fields missing {missing or '[]'}, unknown {unknown or '[]'}")
        f = _Fields(d, source)
        joint_names = f.list_of("joint_names", f.text)
        parents = f.list_of("parents", lambda v, where: f.integer(v, where, low=-1, high=len(joint_names) - 1))
        if len(parents) != len(joint_names):
            raise CardError(f"{source}: field 'parents': {len(parents)} parents for {len(joint_names)} joints")
        late = [child for child, parent in enumerate(parents) if parent >= child]
        if late:  # the skeleton is walked parents first (model.net.skeleton.Skeleton asserts it)
            raise CardError(f"{source}: field 'parents': the parent of joint {late[0]} comes after it "
                            "(parents must come before their children)")
        return cls(
            name=f.text(d["name"], "name"),
            joint_names=joint_names,
            parents=parents,
            input_name=f.text(d["input_name"], "input_name"),
            input_size=f.integer(d["input_size"], "input_size", low=1, high=MAX_INPUT_SIZE),
            channel_order=f.choice(d["channel_order"], "channel_order", ("RGB", "BGR")),
            pixel_scale=f.number(d["pixel_scale"], "pixel_scale", positive=True),
            pixel_mean=f.list_of("pixel_mean", f.number, length=3),
            pixel_std=f.list_of("pixel_std", lambda v, where: f.number(v, where, positive=True), length=3),
            crop_padding=f.number(d["crop_padding"], "crop_padding", positive=True),
            crop_aspect=f.number(d["crop_aspect"], "crop_aspect", positive=True),
            outputs=f.list_of("outputs", f.output),
            checkpoint_file=f.text(d["checkpoint_file"], "checkpoint_file"),
            checkpoint_sha256=f.text(d["checkpoint_sha256"], "checkpoint_sha256"),
            model_config=f.mapping(d["model_config"], "model_config"),
            exporter=f.mapping(d["exporter"], "exporter"),
            created_utc=f.text(d["created_utc"], "created_utc"),
            artifacts=f.list_of("artifacts", f.artifact) if "artifacts" in d else (),
        )


class _Fields:
    """Typed reading of a card's fields; each problem is a CardError naming the card and the field."""

    def __init__(self, data: dict, source: str):
        self.data, self.source = data, source

    def fail(self, where: str, expected: str, value) -> CardError:
        shown = repr(value)
        return CardError(f"{self.source}: field '{where}' is {shown[:40] + '...' if len(shown) > 43 else shown}, "
                         f"expected {expected}")

    def text(self, value, where: str) -> str:
        if not isinstance(value, str):
            raise self.fail(where, "a string", value)
        return value

    def optional_text(self, value, where: str) -> str | None:
        return None if value is None else self.text(value, where)

    def choice(self, value, where: str, choices: tuple) -> str:
        if value not in choices or not isinstance(value, str):
            raise self.fail(where, f"one of {', '.join(choices)}", value)
        return value

    def integer(self, value, where: str, low: int | None = None, high: int | None = None) -> int:
        if (not isinstance(value, int) or isinstance(value, bool) or (low is not None and value < low)
                or (high is not None and value > high)):
            span = f" from {low}" if low is not None else ""
            span += f" to {high}" if high is not None else ""
            raise self.fail(where, f"an integer{span}", value)
        return value

    def number(self, value, where: str, positive: bool = False) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
            ok = math.isfinite(value) and (value > 0 or not positive)
        if not ok:
            raise self.fail(where, "a positive number" if positive else "a finite number", value)
        return value

    def mapping(self, value, where: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, "an object", value)
        return value

    def list_of(self, key: str, item, length: int | None = None, data: dict | None = None, where: str = "") -> tuple:
        values = (self.data if data is None else data)[key]
        where = where or key
        if not isinstance(values, list) or (length is not None and len(values) != length):
            raise self.fail(where, f"a list of {length}" if length else "a list", values)
        return tuple(item(v, f"{where}[{k}]") for k, v in enumerate(values))

    def output(self, value, where: str) -> OutputSpec:
        spec = self.mapping(value, where)
        self._keys(spec, where, ("name", "shape", "meaning", "units"), ())
        return OutputSpec(self.text(spec["name"], f"{where}.name"),
                          self.list_of("shape", lambda v, at: self.integer(v, at, low=-1), data=spec,
                                       where=f"{where}.shape"),
                          self.text(spec["meaning"], f"{where}.meaning"), self.text(spec["units"], f"{where}.units"))

    def artifact(self, value, where: str) -> Artifact:
        a = self.mapping(value, where)
        required = ("kind", "file", "sha256", "precision", "max_batch", "checkpoint_sha256")
        optional = ("opset", "tensorrt_version", "gpu_name", "compute_capability", "source", "parity")
        self._keys(a, where, required, optional)
        opset = a.get("opset")
        return Artifact(
            kind=self.choice(a["kind"], f"{where}.kind", ARTIFACT_KINDS),
            file=self.text(a["file"], f"{where}.file"),
            sha256=self.text(a["sha256"], f"{where}.sha256"),
            precision=self.choice(a["precision"], f"{where}.precision", PRECISIONS),
            max_batch=self.integer(a["max_batch"], f"{where}.max_batch", low=0),
            checkpoint_sha256=self.text(a["checkpoint_sha256"], f"{where}.checkpoint_sha256"),
            opset=None if opset is None else self.integer(opset, f"{where}.opset", low=1),
            tensorrt_version=self.optional_text(a.get("tensorrt_version"), f"{where}.tensorrt_version"),
            gpu_name=self.optional_text(a.get("gpu_name"), f"{where}.gpu_name"),
            compute_capability=self.optional_text(a.get("compute_capability"), f"{where}.compute_capability"),
            source=self.optional_text(a.get("source"), f"{where}.source"),
            parity=self.mapping(a.get("parity", {}), f"{where}.parity"),
        )

    def _keys(self, value: dict, where: str, required: tuple, optional: tuple) -> None:
        missing = [k for k in required if k not in value]
        unknown = sorted((str(k) for k in value if k not in required + optional))
        if missing or unknown:
            raise CardError(f"{self.source}: field '{where}': missing {missing or '[]'}, unknown {unknown or '[]'}")


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def card_path_for(out_dir: str | os.PathLike, stem: str) -> Path:
    """Where the card of checkpoint `stem` lives inside `out_dir`."""
    return Path(out_dir) / f"{stem}{CARD_SUFFIX}"


def read_card(path: str | os.PathLike) -> ModelCard:
    """Read a card; a missing or broken file becomes a one-line CardError naming it."""
    path = Path(path)
    try:
        found = path.is_file()
    except OSError:  # a name too long for the file system, for instance
        found = False
    if not found:
        raise CardError(f"{path}: model card not found (create one with `python main.py export CHECKPOINT`)")
    data = read_json(path, CardError, "model card")
    return ModelCard.from_dict(data, source=str(path))


def write_card(card: ModelCard, path: str | os.PathLike) -> Path:
    """Write the card as indented JSON, atomically (temporary file in the same folder, then os.replace)."""
    path = Path(path)
    atomic_write_bytes(path, (json.dumps(card.to_dict(), indent=2) + "\n").encode("utf-8"))
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unknown"


def engine_filename(
    stem: str, checkpoint_sha256: str, precision: str, max_batch: int, gpu_name: str,
    compute_capability: str, tensorrt_version: str,
) -> str:
    """The cache name of a TensorRT engine: one file per checkpoint, precision, max batch, GPU and TensorRT.

    e.g. 'light.3f2a9c01b7de.fp16.b16.nvidia-h100-80gb-hbm3-sm90.trt10.3.0.engine'.
    """
    cc = compute_capability.replace(".", "")
    return (
        f"{stem}.{checkpoint_sha256[:12]}.{precision}.b{max_batch}."
        f"{_slug(gpu_name)}-sm{cc}.trt{tensorrt_version}.engine"
    )


def check_artifact(
    card: ModelCard, artifact: Artifact, card_dir: str | os.PathLike,
    gpu_name: str | None = None, compute_capability: str | None = None, tensorrt_version: str | None = None,
    verify_file_hash: bool = True,
) -> Path:
    """Return the artifact's path if it can be loaded here; else raise StaleArtifactError saying why.

    Checks, in order: it comes from the card's checkpoint; the file exists and is unchanged since
    export; for TensorRT, that this machine's GPU, compute capability and TensorRT version are the
    ones it was built for (a serialized engine for another GPU or TensorRT version fails or
    misbehaves when deserialized, so it is refused before it is touched).
    """
    path = Path(card_dir) / artifact.file
    rebuild = f"re-export with `python main.py export {card.checkpoint_file}`"
    if artifact.checkpoint_sha256 != card.checkpoint_sha256:
        raise StaleArtifactError(
            f"{path.name}: built from checkpoint {artifact.checkpoint_sha256[:12]}, but the card describes "
            f"checkpoint {card.checkpoint_sha256[:12]}; {rebuild}"
        )
    if not path.is_file():
        raise StaleArtifactError(f"{path}: {artifact.kind} file listed in the card is missing; {rebuild}")
    if verify_file_hash and sha256_file(path) != artifact.sha256:
        raise StaleArtifactError(f"{path}: file changed since export (sha256 differs from the card); {rebuild}")
    if artifact.kind == "tensorrt":
        built = (artifact.gpu_name, artifact.compute_capability, artifact.tensorrt_version)
        here = (gpu_name, compute_capability, tensorrt_version)
        if built != here:
            raise StaleArtifactError(
                f"{path.name}: TensorRT engine built for {artifact.gpu_name} (sm{_cc(artifact.compute_capability)}) "
                f"with TensorRT {artifact.tensorrt_version}, but this machine has {gpu_name} (sm{_cc(compute_capability)}) "
                f"with TensorRT {tensorrt_version}; rebuild it with "
                f"`python main.py export {card.checkpoint_file} --tensorrt`"
            )
    return path


def _cc(compute_capability: str | None) -> str:
    return (compute_capability or "?").replace(".", "")


def pick_tensorrt_artifact(
    card: ModelCard, card_dir: str | os.PathLike, gpu_name: str, compute_capability: str, tensorrt_version: str,
    precision: str | None = None,
) -> tuple[Artifact, Path]:
    """The card's TensorRT engine that runs here (fp16 preferred unless `precision` is given).

    Raises StaleArtifactError with the reason of the closest candidate when none fits, or a
    CardError when the card lists no TensorRT engine at all.
    """
    engines = [a for a in card.artifacts if a.kind == "tensorrt" and (precision is None or a.precision == precision)]
    if not engines:
        raise CardError(
            f"{card.name}: the card lists no TensorRT engine; build one with "
            f"`python main.py export {card.checkpoint_file} --tensorrt`"
        )
    # fp16 first, then the largest batch: the fastest engine that fits.
    engines.sort(key=lambda a: (a.precision != "fp16", -a.max_batch))
    first_error: StaleArtifactError | None = None
    for artifact in engines:
        try:
            return artifact, check_artifact(card, artifact, card_dir, gpu_name, compute_capability, tensorrt_version)
        except StaleArtifactError as e:
            first_error = first_error or e
    assert first_error is not None
    raise first_error
