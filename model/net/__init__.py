"""The network and what defines it: skeleton, crop recipe, config, blocks, backbones, confidence, checkpoint format.

May import: model's shared helpers (atomic, boxes, errors) only; never model.data or model.training.
"""
