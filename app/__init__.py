"""The real-time application, the top layer: it reads exported artifacts (model cards, ONNX, engines) and runs them.

Owns: frame sources (sources), person detection (detection/), pose backends (backends/), inference
engines (engines), per-person stages (people/: placement, tracking, smoothing), track formats
(formats/: JSON, BVH, CSV, recording), the per-frame processor (processor) and its live threads
(live), the headless `process` command, the status line text (status) and quiet logs (quiet).
app/ui/ is the desktop front end: the only package that imports PyQt6 and, with model.data.synth, open3d.

May import: export (model cards, the TensorRT runtime) and model (the skeleton, the crop recipe, box
geometry, the checkpoint module for the PyTorch engine, the MediaPipe teacher, atomic writes, one-line
errors). Nothing imports app. Checked by the contracts in .importlinter (tests/test_layers.py).
"""

__version__ = "0.1.0"  # the one place: `cascade3d --version`, `main.py --version` and pyproject.toml read it
