"""ONNX -> serialized TensorRT engine with the TensorRT Python API (10 and 11): named tensors, one profile.

The engine has one optimisation profile for batch 1..max_batch (tuned for OPT_BATCH) and float32
inputs and outputs. The network is strongly typed: TensorRT keeps the precisions written in the ONNX
graph. So an fp32 engine is built from NAME.onnx with TF32 switched off (TF32 would round the
convolutions like fp16 does), and an fp16 engine from NAME.fp16.onnx, whose convolutional trunk is
half precision and whose soft-argmax and lifting MLP are float32 (export/onnx_export.py). This is
the TensorRT 10 strongly typed API and the only kind of network TensorRT 11 builds (11 removed the
weak-typing BuilderFlag.FP16); the code runs on both.

A serialized engine only runs on the GPU model and TensorRT version it was built with: the card
records both, and the file name (export.card.engine_filename) is the cache key.

TensorRT is not on our CI or GPU machines (see requirements-gpu.txt); it is imported lazily and
tensorrt_status() says why it cannot run.
"""

import os
from pathlib import Path

from model.atomic import atomic_write_bytes

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
    max_batch: int, workspace_gib: float = WORKSPACE_GIB,
) -> Path:
    """Parse the ONNX file and write a serialized engine to engine_path (atomically); returns the path.

    The engine's precision is the ONNX graph's (strongly typed network): pass NAME.onnx for fp32,
    NAME.fp16.onnx for fp16.
    """
    trt, reason = tensorrt_status()
    if trt is None:
        raise TensorRTBuildError(reason)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(_network_flags(trt))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise TensorRTBuildError(f"{onnx_path}: TensorRT could not parse the ONNX model ({errors})")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    if hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)
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


def _network_flags(trt) -> int:
    """STRONGLY_TYPED where the flag exists (TensorRT 9.1 to 10.x); TensorRT 11 networks always are."""
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    return 0 if flag is None else 1 << int(flag)
