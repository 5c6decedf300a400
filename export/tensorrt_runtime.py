"""Runs a serialized TensorRT engine file on numpy batches (TensorRT 10+ API, named I/O tensors, PyTorch CUDA buffers).

Export uses it for the parity check right after building an engine; the app's TensorRT engine
(app/engines.py) wraps it behind the common Engine interface. TensorRT and CUDA are imported lazily:
neither is on our CI machines.
"""

import os

import numpy as np


class TensorRTUnavailable(RuntimeError):
    """TensorRT or a CUDA GPU is missing, or the engine file cannot be loaded; the message is one line."""


def gpu_identity() -> tuple[str, str]:
    """(name, compute capability 'major.minor') of CUDA device 0, read through PyTorch."""
    import torch

    major, minor = torch.cuda.get_device_capability(0)
    return torch.cuda.get_device_name(0), f"{major}.{minor}"


def require_cuda() -> None:
    """Raise TensorRTUnavailable (one line) unless PyTorch sees a CUDA GPU."""
    try:
        import torch
    except ImportError:
        raise TensorRTUnavailable("PyTorch is not installed") from None
    if not torch.cuda.is_available():
        raise TensorRTUnavailable(f"no CUDA GPU available to PyTorch {torch.__version__}")


class TensorRTRunner:
    """One deserialized engine: run(images (N, 3, S, S) float32) -> {output name: float32 ndarray}."""

    def __init__(self, path: str | os.PathLike, input_name: str, output_names: tuple[str, ...], hint: str = "") -> None:
        try:
            import tensorrt as trt
        except ImportError as e:
            raise TensorRTUnavailable(f"TensorRT is not installed ({e}){'; ' + hint if hint else ''}") from None
        require_cuda()
        import torch

        self._trt_logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._trt_logger)
        with open(path, "rb") as f:
            self._engine = self._runtime.deserialize_cuda_engine(f.read())
        if self._engine is None:
            raise TensorRTUnavailable(f"{path}: TensorRT could not deserialize the engine")
        self._context = self._engine.create_execution_context()
        self._torch = torch
        self._device = torch.device("cuda", 0)
        self._stream = torch.cuda.Stream(self._device)
        self.input_name = input_name
        self.output_names = tuple(output_names)
        self._dtypes = {name: _torch_dtype(torch, trt, self._engine.get_tensor_dtype(name))
                        for name in (input_name, *self.output_names)}

    def run(self, images: np.ndarray) -> dict[str, np.ndarray]:
        torch = self._torch
        with torch.cuda.stream(self._stream):
            x = torch.from_numpy(images).to(self._device, non_blocking=True).to(self._dtypes[self.input_name])
            self._context.set_input_shape(self.input_name, tuple(x.shape))
            self._context.set_tensor_address(self.input_name, x.data_ptr())
            outputs = {}
            for name in self.output_names:
                shape = tuple(self._context.get_tensor_shape(name))
                outputs[name] = torch.empty(shape, dtype=self._dtypes[name], device=self._device)
                self._context.set_tensor_address(name, outputs[name].data_ptr())
            if not self._context.execute_async_v3(self._stream.cuda_stream):
                raise RuntimeError("TensorRT execution failed")
            result = {name: t.float().cpu().numpy() for name, t in outputs.items()}
        return result

    def close(self) -> None:
        self._context = None
        self._engine = None


def _torch_dtype(torch, trt, dtype):
    table = {trt.float32: torch.float32, trt.float16: torch.float16}
    if dtype not in table:
        raise TensorRTUnavailable(f"TensorRT engine tensor type {dtype} is not supported here")
    return table[dtype]
