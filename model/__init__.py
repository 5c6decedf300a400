"""The cascaded dimension-lifting network (Zhang, Zhan, Chang, AAAI 2021) and everything that defines it: the bottom layer.

Three rooms, imports pointing down only (checked by .importlinter):
  model.training  training and evaluation (trainers, losses, metrics, compress/ship, evaluate, configs/)
  model.data      the data it learns from (datasets/, synth/, teacher/, distill, mocap, multiview, targets, augment)
  model.net       the network and what defines it (skeleton, crop, config, network, backbones, confidence, checkpoint)
and the project-wide helpers beside them: atomic writes (atomic), box geometry (boxes), one-line errors (errors).

May import: nothing of the project's other packages (export/ and app/ stand on it).
"""
