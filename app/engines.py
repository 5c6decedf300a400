"""Inference engines for the cascaded network behind one interface: TensorRT, ONNX Runtime, PyTorch.

Every engine takes a float32 (N, 3, S, S) crop batch (model.net.crop) and returns the card's outputs as
numpy arrays: 'uvz' (N, J, 3) (u, v crop px, z root-relative mm) and 'joints_3d' (N, J, 3) mm, plus the
network's own confidences where the card lists them: 'joint_confidence' (N, J) and 'person_score' (N,).

select_engine() tries, per device, the fastest runtime first and falls back along
  tensorrt (cuda) -> onnxruntime-cuda -> torch-cuda -> onnxruntime-cpu -> torch-cpu,
logging why each one it skipped could not run (not installed, no GPU, no or stale artifact).
GPU engines come before CPU ones, so a GPU machine without TensorRT or onnxruntime-gpu runs PyTorch
on the GPU rather than ONNX Runtime on the CPU.

The PyTorch engine rebuilds the network through model/net/checkpoint.py (the checkpoint the card names);
no other part of model/'s training stack is reached from here.
"""

import importlib.util
import logging
import os
import time
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from export.card import CardError, ModelCard, StaleArtifactError, check_artifact, pick_tensorrt_artifact, read_card
from export.tensorrt_runtime import TensorRTRunner, TensorRTUnavailable, gpu_identity, require_cuda
from model.atomic import sha256_file
from model.errors import one_line

LOG = logging.getLogger(__name__)

# (name, runtime, device) in the order select_engine tries them.
ENGINE_ORDER: tuple[tuple[str, str, str], ...] = (
    ("tensorrt", "tensorrt", "cuda"),
    ("onnxruntime-cuda", "onnxruntime", "cuda"),
    ("torch-cuda", "torch", "cuda"),
    ("onnxruntime-cpu", "onnxruntime", "cpu"),
    ("torch-cpu", "torch", "cpu"),
)
OUTPUT_NAMES = ("uvz", "joints_3d")  # every card's network has these; newer ones add CONFIDENCE_OUTPUTS
CONFIDENCE_OUTPUTS = ("joint_confidence", "person_score")
DEVICES = ("auto", "cuda", "cpu")
TENSORRT_HINT = "pip install -r requirements-gpu.txt on a machine with an NVIDIA GPU (see export/README.md)"


class EngineUnavailable(RuntimeError):
    """An engine cannot run here (runtime not installed, no GPU, no artifact); the message is one line."""


class Engine(ABC):
    """One runtime executing the exported network. infer() accepts any batch size (split by max_batch).

    name: short label for the status line, e.g. 'onnxruntime-cpu', 'torch-cuda-fp16-graphs'.
    device: 'cpu' or 'cuda'. max_batch: the largest batch one call of the runtime takes (0 = any).
    skipped: (name, reason) of the engines select_engine tried before this one.
    """

    name: str = "engine"
    device: str = "cpu"
    max_batch: int = 0
    skipped: tuple[tuple[str, str], ...] = ()

    def __init__(self, input_size: int, num_joints: int, output_names: tuple[str, ...] = OUTPUT_NAMES) -> None:
        self.input_size = input_size
        self.num_joints = num_joints
        self.output_names = tuple(output_names)

    def output_shape(self, name: str, n: int) -> tuple[int, ...]:
        j = self.num_joints
        return {"joint_confidence": (n, j), "person_score": (n,)}.get(name, (n, j, 3))

    def infer(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """images (N, 3, S, S) float32 -> {'uvz': (N, J, 3), 'joints_3d': (N, J, 3)} float32, plus
        'joint_confidence' (N, J) and 'person_score' (N,) where the card's network has them."""
        s = self.input_size
        assert images.ndim == 4 and images.shape[1:] == (3, s, s), f"expected (N, 3, {s}, {s}) crops, got {images.shape}"
        images = np.ascontiguousarray(images, dtype=np.float32)
        n = len(images)
        if n == 0:
            return {name: np.zeros(self.output_shape(name, 0), dtype=np.float32) for name in self.output_names}
        step = self.max_batch or n
        parts = [self._run(images[i : i + step]) for i in range(0, n, step)]
        out = {name: np.concatenate([p[name] for p in parts]).astype(np.float32, copy=False) for name in self.output_names}
        for name in self.output_names:
            assert out[name].shape == self.output_shape(name, n), (name, out[name].shape)
        return out

    @abstractmethod
    def _run(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """One runtime call on at most max_batch crops."""

    def close(self) -> None:
        """Release the runtime's resources."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} on {self.device}>"


class OnnxRuntimeEngine(Engine):
    """The card's ONNX model in ONNX Runtime, on the CUDA execution provider or the CPU one."""

    def __init__(self, card: ModelCard, card_dir: str | os.PathLike, device: str = "cpu", threads: int = 0) -> None:
        super().__init__(card.input_size, card.num_joints, card_outputs(card))
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise EngineUnavailable(f"onnxruntime is not installed ({e})") from None
        # The fp32 model: ONNX Runtime's CPU kernels for fp16 are few and slow.
        onnx = sorted((a for a in card.artifacts if a.kind == "onnx"), key=lambda a: a.precision != "fp32")
        if not onnx:
            raise EngineUnavailable(f"{card.name}: the card lists no ONNX model; run `python main.py export {card.checkpoint_file}`")
        path = check_artifact(card, onnx[0], card_dir)
        if device == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise EngineUnavailable(
                    f"onnxruntime {ort.__version__} has no CUDA provider (install onnxruntime-gpu: requirements-gpu.txt)"
                )
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        else:
            providers = ["CPUExecutionProvider"]
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Idle worker threads would spin after each run, taking the cores the detector thread and the GUI
        # need: asleep, a 192 px crop took 295 instead of 562 ms on 2 cores shared at load 40 (issue 12).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        if device == "cuda" and self.session.get_providers()[0] != "CUDAExecutionProvider":
            # ORT falls back to the CPU silently when the CUDA libraries fail to load.
            raise EngineUnavailable("onnxruntime's CUDA provider failed to initialise (CUDA/cuDNN libraries missing?)")
        self.model_path = path
        self.input_name = card.input_name
        self.device = device
        self.name = f"onnxruntime-{device}"
        self.max_batch = onnx[0].max_batch

    def _run(self, images: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(self.output_names, self.session.run(list(self.output_names), {self.input_name: images})))

    def close(self) -> None:
        self.session = None


def _require_cuda() -> None:
    try:
        require_cuda()
    except TensorRTUnavailable as e:
        raise EngineUnavailable(str(e)) from None


class TensorRTEngine(Engine):
    """A serialized TensorRT engine picked from the card (export.tensorrt_runtime runs it).

    The card's engine must have been built for this GPU and TensorRT version (export.card checks
    that before the file is deserialized).
    """

    def __init__(self, card: ModelCard, card_dir: str | os.PathLike, precision: str | None = None) -> None:
        super().__init__(card.input_size, card.num_joints, card_outputs(card))
        try:
            import tensorrt as trt
        except ImportError as e:
            raise EngineUnavailable(f"TensorRT is not installed ({e}); {TENSORRT_HINT}") from None
        _require_cuda()
        gpu_name, capability = gpu_identity()
        artifact, path = pick_tensorrt_artifact(card, card_dir, gpu_name, capability, trt.__version__, precision)
        try:
            self._runner = TensorRTRunner(path, card.input_name, self.output_names, TENSORRT_HINT)
        except TensorRTUnavailable as e:
            raise EngineUnavailable(str(e)) from None
        self.input_name = card.input_name
        self.device = "cuda"
        self.name = f"tensorrt-{artifact.precision}"
        self.max_batch = artifact.max_batch

    def _run(self, images: np.ndarray) -> dict[str, np.ndarray]:
        return self._runner.run(images)

    def close(self) -> None:
        self._runner.close()


class TorchEngine(Engine):
    """The network in PyTorch: CPU fp32, or CUDA with fp16 autocast and one CUDA graph per batch bucket.

    On CUDA, batches are padded up to the next power of two (capped by max_batch) so that a few
    captured graphs serve every batch size; a graph replays the whole network as one launch, which
    is what makes small batches fast (eager PyTorch is launch bound there). The buckets up to
    warm_batch are captured when the engine is built; larger ones the first time they are needed.
    """

    def __init__(
        self, net, device: str = "cpu", fp16: bool | None = None, cuda_graphs: bool | None = None,
        max_batch: int = 64, channels_last: bool = False, warm_batch: int = 8,
        output_names: tuple[str, ...] | None = None,
    ) -> None:
        import torch

        cfg = net.cfg
        # A card exported before the network had some outputs lists fewer: serve the card's, like the other engines.
        names = net.output_names if output_names is None else tuple(n for n in net.output_names if n in output_names)
        super().__init__(cfg.input_size, cfg.num_joints, names)
        if device == "cuda":
            _require_cuda()
        self._torch = torch
        self._device = torch.device(device)
        on_gpu = self._device.type == "cuda"
        self.fp16 = on_gpu if fp16 is None else bool(fp16)
        self.cuda_graphs = on_gpu if cuda_graphs is None else bool(cuda_graphs)
        if (self.fp16 or self.cuda_graphs) and not on_gpu:
            raise EngineUnavailable("fp16 and CUDA graphs need device='cuda'")
        self.channels_last = channels_last
        self.net = net.eval().to(self._device)
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        if on_gpu:
            # Autotuning every new batch shape made the first call per bucket 2-3x slower (8 s for the
            # first) and the replays no faster (bench/gpu_warmup.py on an H100: 16.1 s vs 6.9 s in all).
            torch.backends.cudnn.benchmark = False
        self.device = self._device.type
        self.max_batch = max_batch
        parts = [f"torch-{self.device}"] + (["fp16"] if self.fp16 else []) + (["graphs"] if self.cuda_graphs else [])
        self.name = "-".join(parts)
        self._graphs: dict[int, tuple] = {}
        if self.cuda_graphs:
            # Capture the buckets a frame's people usually need now, not on the first frames they appear
            # in (about 1.5 s each): a live view would freeze, a short clip would mostly measure this.
            bucket = 1
            while bucket <= min(warm_batch, max_batch or warm_batch):
                self._graph(bucket)
                bucket *= 2

    @classmethod
    def from_card(cls, card: ModelCard, card_dir: str | os.PathLike, device: str = "cpu", **options) -> "TorchEngine":
        """Rebuild the network from model/net/network.py with the card's config and its checkpoint's weights."""
        if device == "cuda":
            _require_cuda()
        try:
            from model.net.checkpoint import CheckpointError, load_checkpoint
        except ImportError as e:
            raise EngineUnavailable(f"the PyTorch engine needs torch and model/ ({e})") from None
        path = Path(card_dir) / card.checkpoint_file
        if not path.is_file():
            raise EngineUnavailable(f"{path}: checkpoint named by the card not found (the PyTorch engine needs it)")
        if sha256_file(path) != card.checkpoint_sha256:
            raise StaleArtifactError(f"{path}: checkpoint differs from the one the card was exported from (sha256); re-export")
        try:
            # The card may run the checkpoint's weights at another crop size (`main.py export --input-size`).
            net = load_checkpoint(path).at_input_size(card.input_size).build_network()
        except CheckpointError as e:
            raise EngineUnavailable(str(e)) from None
        return cls(net, device=device, output_names=card_outputs(card), **options)

    def _forward(self, x):
        torch = self._torch
        # No autocast weight-cast cache: a captured CUDA graph must not keep tensors from the cache.
        autocast = torch.autocast("cuda", dtype=torch.float16, enabled=self.fp16, cache_enabled=not self.cuda_graphs)
        with torch.inference_mode(), autocast:
            outputs = self.net.infer_outputs(x)
        return tuple(outputs[name] for name in self.output_names)

    def _bucket(self, n: int) -> int:
        bucket = 1
        while bucket < n:
            bucket *= 2
        return min(bucket, self.max_batch) if self.max_batch else bucket

    def _graph(self, bucket: int) -> tuple:
        """Capture (once) the network for a fixed batch size: (graph, static input, static outputs)."""
        if bucket in self._graphs:
            return self._graphs[bucket]
        torch = self._torch
        s = self.input_size
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        static_in = torch.zeros((bucket, 3, s, s), device=self._device).contiguous(memory_format=memory_format)
        side = torch.cuda.Stream(self._device)
        side.wait_stream(torch.cuda.current_stream(self._device))
        with torch.cuda.stream(side):
            for _ in range(3):  # warm-up: cuDNN autotuning and allocator pools settle before capture
                self._forward(static_in)
        torch.cuda.current_stream(self._device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = self._forward(static_in)
        self._graphs[bucket] = (graph, static_in, static_out)
        return self._graphs[bucket]

    def _run(self, images: np.ndarray) -> dict[str, np.ndarray]:
        torch = self._torch
        n = len(images)
        x = torch.from_numpy(images)
        if self.cuda_graphs:
            graph, static_in, static_out = self._graph(self._bucket(n))
            static_in[:n].copy_(x, non_blocking=False)
            graph.replay()
            return {name: t[:n].float().cpu().numpy() for name, t in zip(self.output_names, static_out)}
        x = x.to(self._device)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return {name: t.float().cpu().numpy() for name, t in zip(self.output_names, self._forward(x))}

    def close(self) -> None:
        self._graphs.clear()


def card_outputs(card: ModelCard) -> tuple[str, ...]:
    """The outputs an engine serves for a card: uvz and joints_3d, and the confidences the card lists
    (cards exported before the network had them list none: the backend then uses the box score)."""
    listed = {o.name for o in card.outputs}
    return OUTPUT_NAMES + tuple(name for name in CONFIDENCE_OUTPUTS if name in listed)


def engine_names() -> tuple[str, ...]:
    return tuple(name for name, _, _ in ENGINE_ORDER)


def build_engine(name: str, card: ModelCard, card_dir: str | os.PathLike, threads: int = 0) -> Engine:
    """Build the engine called `name` (one of ENGINE_ORDER) for a card; raises if it cannot run here.

    threads: ONNX Runtime's intra-op threads on the CPU (0 = its default, all cores); PyTorch follows
    torch.set_num_threads / OMP_NUM_THREADS instead (a process-wide setting that is the caller's)."""
    if name == "tensorrt":
        return TensorRTEngine(card, card_dir)
    if name == "onnxruntime-cuda":
        return OnnxRuntimeEngine(card, card_dir, device="cuda")
    if name == "onnxruntime-cpu":
        return OnnxRuntimeEngine(card, card_dir, device="cpu", threads=threads)
    if name == "torch-cuda":
        return TorchEngine.from_card(card, card_dir, device="cuda")
    if name == "torch-cpu":
        return TorchEngine.from_card(card, card_dir, device="cpu")
    raise ValueError(f"unknown engine {name!r}; choose from {', '.join(engine_names())}")


def select_engine(card_path: str | os.PathLike, preference: str | None = None, device: str = "auto",
                  threads: int = 0) -> Engine:
    """The first engine in ENGINE_ORDER that runs here, restricted to `device` and `preference`.

    device: 'auto' (GPU engines, then CPU ones), 'cuda' or 'cpu'. preference: None, a runtime
    ('tensorrt', 'onnxruntime', 'torch') or an engine name ('onnxruntime-cpu'); only matching engines
    are tried. Each skipped engine is logged with its reason and listed in engine.skipped. Raises
    CardError for a bad card and EngineUnavailable (one line, all reasons) when nothing can run.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    valid = sorted({runtime for _, runtime, _ in ENGINE_ORDER} | set(engine_names()))
    if preference and preference not in valid:
        raise ValueError(f"unknown engine {preference!r}; choose from {', '.join(valid)}")
    card_path = Path(card_path)
    card = read_card(card_path)
    card_dir = card_path.parent
    skipped: list[tuple[str, str]] = []
    for name, runtime, engine_device in ENGINE_ORDER:
        if device != "auto" and engine_device != device:
            continue
        if preference and preference not in (name, runtime):
            continue
        started = time.perf_counter()
        try:
            engine = build_engine(name, card, card_dir, threads)
        except (EngineUnavailable, CardError) as e:
            level = logging.WARNING if isinstance(e, StaleArtifactError) else logging.INFO
            LOG.log(level, "engine %s skipped: %s", name, one_line(e))
            skipped.append((name, one_line(e)))
        except Exception as e:  # a runtime failing to load its artifact must not stop the next one
            LOG.warning("engine %s failed to start, skipped: %s: %s", name, e.__class__.__name__, one_line(e))
            skipped.append((name, f"{e.__class__.__name__}: {one_line(e)}"))
        else:
            engine.skipped = tuple(skipped)
            LOG.info("engine in use: %s (%s, started in %.1f s)", engine.name, card_path.name, time.perf_counter() - started)
            return engine
    reasons = "; ".join(f"{n}: {r}" for n, r in skipped) or "no engine matches the request"
    raise EngineUnavailable(f"{card_path}: no inference engine can run here ({reasons})")


def available_devices() -> list[str]:
    """'cpu', plus 'cuda' where PyTorch sees a GPU (torch is imported only to ask)."""
    devices = ["cpu"]
    if importlib.util.find_spec("torch") is not None:
        try:
            import torch

            if torch.cuda.is_available():
                devices.append("cuda")
        except Exception:  # a broken CUDA install still leaves the CPU
            pass
    return devices
