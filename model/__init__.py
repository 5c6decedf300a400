"""The cascaded dimension-lifting network (Zhang, Zhan, Chang, AAAI 2021) and everything that defines it: the bottom layer.

Owns: the skeleton (skeleton), the crop recipe (crop) and box geometry (boxes), the checkpoint format
(checkpoint: the one module that saves, reads and builds), the network, targets, losses, datasets,
training and evaluation, the MediaPipe teacher (teacher/) and the distillation set built with it,
and the project-wide helpers for atomic writes (atomic) and one-line errors (errors).

May import: nothing of the project's other packages (export/ and app/ stand on it). Checked by the
contracts in .importlinter (tests/test_layers.py).
"""
