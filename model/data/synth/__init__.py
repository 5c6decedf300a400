"""Synthetic people at scale: posed body-model renders with exact 2D/3D labels for training (`main.py synth`)."""
