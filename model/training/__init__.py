"""Training and evaluation: configs, losses, metrics, the trainers, compression/shipping and evaluation.

May import: model.data, model.net and model's shared helpers.
"""
