"""Pose backends: given a frame and person boxes, return each person's 17-joint 2D and 3D pose."""
