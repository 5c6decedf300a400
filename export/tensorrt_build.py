"""ONNX -> serialized TensorRT engine with the TensorRT 10 Python API (named tensors, one profile).

The engine has one optimisation profile for batch 1..max_batch (tuned for OPT_BATCH), fp32 I/O,
and fp16 kernels where asked (BuilderFlag.FP16: TensorRT may pick fp16 per layer; inputs and
outputs stay float32, so the runtime code is the same for both precisions). A serialized engine
only runs on the GPU model and TensorRT version it was built with: the card records both, and the
file name (export.card.engine_filename) is the cache key.

TensorRT is not on our CI or GPU machines (see requirements-gpu.txt); everything here is imported
lazily and tensorrt_status() says why it cannot run.
"""

import os
from pathlib import Path

from export.card import atomic_write_bytes

# The profile's optimum: a typical frame holds a handful of people.
OPT_BATCH = 4
WORKSPACE_GIB = 4


class TensorRTBuildError(RuntimeError):
    """The engine could not be built; the message is one line."""


def tensorrt_status() -> tuple[object | None, str]:
    """(the tensorrt module, '') if TensorRT and a CUDA GPU are usable, else (None, one-line reason)."""
    try:
        import tensorrt as trt
    except ImportError as e:
        return None, (
            f"TensorRT is not installed ({e}); on a machine with an NVIDIA GPU and internet access run "
            "`pip install -r requirements-gpu.txt` (the tensorrt wheels download NVIDIA's libraries at install time)"
        )
    try:
        import torch
    except ImportError:
        return None, "PyTorch is needed to find the GPU and hold TensorRT's buffers"
    if not torch.cuda.is_available():
        return None, f"TensorRT {trt.__version__} is installed but PyTorch {torch.__version__} sees no CUDA GPU"
    return trt, ""


def build_engine(
    onnx_path: str | os.PathLike, engine_path: str | os.PathLike, input_name: str, input_size: int,
    max_batch: int, fp16: bool, workspace_gib: float = WORKSPACE_GIB,
) -> Path:
    """Parse the ONNX file and write a serialized engine to engine_path (atomically); returns the path."""
    trt, reason = tensorrt_status()
    if trt is None:
        raise TensorRTBuildError(reason)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    # TensorRT 10: networks are always explicit-batch; the creation flag is gone.
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise TensorRTBuildError(f"{onnx_path}: TensorRT could not parse the ONNX model ({errors})")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    if fp16:
        if not builder.platform_has_fast_fp16:
            raise TensorRTBuildError("this GPU has no fast fp16; build without --fp16")
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    shape = (3, input_size, input_size)
    profile.set_shape(input_name, (1, *shape), (min(OPT_BATCH, max_batch), *shape), (max_batch, *shape))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise TensorRTBuildError(f"{onnx_path}: TensorRT failed to build the engine (see its log above)")
    engine_path = Path(engine_path)
    atomic_write_bytes(engine_path, bytes(serialized))
    return engine_path
