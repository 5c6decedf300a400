"""Track file formats: JSON (and its crash-safe JSON Lines partial), BVH, CSV, and the recorder that writes them."""
