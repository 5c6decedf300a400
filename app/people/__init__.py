"""Per-person stages after the pose backend: metric placement, tracking (IDs over time) and smoothing."""
