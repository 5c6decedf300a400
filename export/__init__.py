"""Checkpoint to inference artifacts: ONNX, TensorRT engines, the model card and parity checks; the middle layer.

Owns: the model card format (card; plain Python, no torch, so the app reads cards without the
training stack), ONNX export, TensorRT build and runtime, parity checks, the `export` command.

May import: model (the checkpoint module, the network, the crop recipe). Never app. Checked by the
contracts in .importlinter (tests/test_layers.py).
"""
