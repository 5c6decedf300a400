"""The desktop app: the only package that imports PyQt6 or Open3D."""
