"""TrainConfig: the paper's training recipe as one frozen dataclass, loaded from YAML/JSON plus --set overrides.

A config file is a mapping of TrainConfig fields; the nested sections `model` (ModelConfig) and
`augment` (AugmentConfig) are mappings of their own fields or, for `model`, a preset name
('paper', 'light', 'tiny'). Overrides use dotted keys: `--set lr=0.0005 --set model.backbone=resnet18
--set datasets_2d=coco,mpii --set model=tiny`. Values are type-checked against the field types and
unknown keys are rejected, each with a one-line ConfigError.
"""

import dataclasses
import json
import math
import os
import types
import typing
from dataclasses import dataclass, field

from model.data.augment import AugmentConfig
from model.net.config import ModelConfig
from model.errors import one_line

MODEL_PRESETS = ("paper", "light", "tiny")


class ConfigError(ValueError):
    """A bad config file or override; the message is one line."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs besides the network; defaults are the paper's Human3.6M recipe."""

    # --- data ---
    data_root: str = "data"  # holds Human36M/, MPII/, MSCOCO/, MuCo/, MuPoTS/ in the public 3DMPPE layout
    datasets_3d: tuple[str, ...] = ("human36m",)  # the paper's Human3.6M runs; ('muco',) for the MuPoTS runs
    datasets_2d: tuple[str, ...] = ("mpii",)  # "additional MPII 2D data"; ('coco',) beside MuCo
    protocol: int = 1  # Human3.6M protocol: 1 trains on S1,5,6,7,8; 2 adds S9
    fraction_3d: float = 0.5  # "each minibatch consists of half Human3.6M and half MPII data"
    synthetic_size: int = 2048  # samples of the 'synthetic' stick-figure set (smoke runs without data)
    crop_padding: float = 1.25  # person box grown by 1.25 around its centre, as the public 3DMPPE code
    augment: AugmentConfig = field(default_factory=AugmentConfig)  # rotation +-30, flip, occlusion, scale, colour
    # --- the network ---
    model: ModelConfig = field(default_factory=ModelConfig)  # the paper's network (ResNet-50, 256 px, C = 64)
    # --- optimisation, stage 1: the whole network on mixed 3D + 2D batches ---
    stages: tuple[int, ...] = (1, 2)  # the paper trains the network, then fine-tunes the lifting block
    batch_size: int = 64  # the paper's batch size (over two P100s); under torchrun the global batch, split evenly
    # Forward/backward each batch in this many equal parts and average their gradients (a big batch on a small
    # GPU). BatchNorm statistics and loss normalisation are per part, exactly as in N torchrun processes.
    micro_batches: int = 1
    optimizer: str = "adam"  # the paper uses Adam
    lr: float = 1e-3  # the paper's initial learning rate
    epochs: int = 20  # the paper trains for 20 epochs
    lr_decay_epochs: tuple[int, ...] = (17,)  # "reduced by a factor of 10 at the 17th epoch" (0-based index 17)
    lr_decay_factor: float = 0.1  # the factor of 10
    weight_decay: float = 0.0  # the paper mentions none
    # --- stage 2: the lifting block alone, on 3D data only, with the same schedule ---
    stage2_epochs: int = 20  # "for the 3D lifting block we still follow the above strategy"
    stage2_lr: float = 1e-3  # same schedule as stage 1
    stage2_lr_decay_epochs: tuple[int, ...] = (17,)  # same schedule as stage 1
    # --- run ---
    max_steps_per_epoch: int = 0  # 0 = one full pass over the 3D data; > 0 caps it (smoke runs)
    device: str = "auto"  # 'auto' (CUDA when present), 'cpu', 'cuda', 'cuda:1', ...
    amp: bool = True  # mixed precision on CUDA (bf16 where supported, else fp16 with loss scaling); off on CPU
    num_workers: int = 4  # data-loading processes; decoding and warping JPEGs is the CPU bottleneck
    cpu_threads: int = 0  # torch intra-op threads; 0 = PyTorch's default (1 helps on crowded shared CPUs)
    seed: int = 0  # seeds torch, the samplers and every sample's augmentation
    out_dir: str = "runs/cascade"  # checkpoints: last.pt after every epoch, stage1.pt / final.pt at the ends
    log_every: int = 10  # steps between progress-bar loss updates (each costs a GPU sync)

    def __post_init__(self) -> None:
        checks = [
            (self.protocol in (1, 2), "protocol must be 1 or 2"),
            (0.0 < self.fraction_3d <= 1.0, "fraction_3d must be in (0, 1]"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.micro_batches >= 1, "micro_batches must be >= 1"),
            (self.optimizer in ("adam", "adamw", "sgd"), "optimizer must be adam, adamw or sgd"),
            (set(self.stages) <= {1, 2} and len(self.stages) >= 1, "stages must be a subset of (1, 2)"),
            (len(self.datasets_3d) >= 1, "datasets_3d needs at least one 3D dataset"),
            (self.epochs >= 0 and self.stage2_epochs >= 0, "epochs must be >= 0"),
            (self.crop_padding >= 1.0, "crop_padding must be >= 1"),
            # NaN fails every comparison, so each of these also refuses nan (PyTorch's optimiser would only
            # refuse a negative rate, and only once the data and network are built).
            (0.0 < self.lr < math.inf and 0.0 < self.stage2_lr < math.inf, "lr and stage2_lr must be finite and > 0"),
            (0.0 < self.lr_decay_factor < math.inf, "lr_decay_factor must be finite and > 0"),
            (0.0 <= self.weight_decay < math.inf, "weight_decay must be finite and >= 0"),
            (self.synthetic_size >= 1 and self.max_steps_per_epoch >= 0, "synthetic_size must be >= 1 and "
                                                                        "max_steps_per_epoch >= 0"),
            (self.num_workers >= 0 and self.cpu_threads >= 0 and self.log_every >= 1,
             "num_workers and cpu_threads must be >= 0 and log_every >= 1"),
            (math.isfinite(self.crop_padding), "crop_padding must be finite"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"config: {message}")

    def to_dict(self) -> dict:
        """Plain JSON-able dict (tuples become lists), nested sections included."""
        return _plain(dataclasses.asdict(self))


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _coerce(value: object, hint: object, where: str) -> object:
    """Convert `value` (native or a --set string) to the field type `hint`, or raise ConfigError."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{where}: cannot be {value!r}")
    if dataclasses.is_dataclass(hint):
        return build(hint, value, where)
    if origin is tuple:
        items = value
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    items = json.loads(text)
                except json.JSONDecodeError:
                    raise ConfigError(f"{where}: cannot parse list {value!r}") from None
            else:
                items = [v.strip() for v in text.split(",") if v.strip()]
        if not isinstance(items, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], where) for v in items)
        if len(items) != len(args):
            raise ConfigError(f"{where}: expected {len(args)} values, got {len(items)}")
        return tuple(_coerce(v, a, where) for v, a in zip(items, args))
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
            return value.lower() in ("true", "yes", "on", "1")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    raise ConfigError(f"{where}: unsupported field type {hint}")


def build(cls: type, value: object, where: str = "config", base: object | None = None) -> object:
    """A `cls` dataclass from a mapping of field values (or a preset name), starting from `base`."""
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        preset = getattr(cls, value, None) if value in MODEL_PRESETS else None
        if preset is None or not callable(preset):
            raise ConfigError(f"{where}: unknown preset {value!r} (known: {', '.join(MODEL_PRESETS)})")
        return preset()
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {value!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    current = base if base is not None else cls()
    changes = {}
    for key, raw in value.items():
        sub = f"{where}.{key}" if where != "config" else key
        if dataclasses.is_dataclass(hints[key]) and isinstance(raw, dict):
            changes[key] = build(hints[key], raw, sub, base=getattr(current, key))
        else:
            changes[key] = _coerce(raw, hints[key], sub)
    try:
        return dataclasses.replace(current, **changes)
    except ConfigError:
        raise
    except (AssertionError, ValueError, TypeError) as e:
        raise ConfigError(f"{where}: invalid settings ({e})") from None


def apply_override(config: TrainConfig, assignment: str) -> TrainConfig:
    """One `key=value` override with a dotted key (e.g. model.input_size=128)."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected key=value")
    key, value = (part.strip() for part in assignment.split("=", 1))
    mapping: dict = {}
    node = mapping
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return build(TrainConfig, mapping, base=config)


def read_config_file(path: str) -> dict:
    """The mapping in a .yaml/.yml or .json file; problems are one-line ConfigErrors naming the file."""
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: config file not found")
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (not UTF-8); expected YAML or JSON") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror or one_line(e)})") from None
    try:
        if path.endswith((".yaml", ".yml")):
            import yaml  # PyYAML; only needed for YAML configs

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as e:  # yaml and json raise different error types with multi-line messages
        raise ConfigError(f"{path}: cannot parse ({one_line(e)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys at the top level")
    return data


def load_config(path: str | None, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """TrainConfig from an optional file plus `key=value` overrides, applied in order."""
    config = TrainConfig()
    if path:
        try:
            config = build(TrainConfig, read_config_file(path), base=config)
        except ConfigError as e:
            message = str(e)
            raise ConfigError(message if message.startswith(path) else f"{path}: {message}") from None
    for assignment in overrides:
        config = apply_override(config, assignment)
    return config


def config_from_dict(data: dict) -> TrainConfig:
    """Inverse of TrainConfig.to_dict (used when resuming from a checkpoint)."""
    return build(TrainConfig, data)
