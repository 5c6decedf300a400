"""Checkpoint to inference artifacts: ONNX, TensorRT engines, the model card and parity checks.

export.card is plain Python (no torch) so that the app can read cards without the training stack.
"""
