"""The data the network learns from: dataset readers, augmentation, targets, the teacher, distillation,
mocap, multi-view triangulation and synthetic people.

May import: model.net and model's shared helpers; never model.training.
"""
