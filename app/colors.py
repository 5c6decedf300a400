"""One readable colour per track ID, shared by the 2D video overlay and the 3D viewport."""

# Saturated, hue-separated colours that stay readable on video and on the dark 3D background;
# hues are far apart so that tests (and users) can tell tracks apart by hue alone.
PALETTE_RGB: tuple[tuple[float, float, float], ...] = (
    (1.00, 0.50, 0.05),  # orange
    (0.10, 0.60, 1.00),  # sky blue
    (0.20, 0.85, 0.20),  # green
    (0.95, 0.20, 0.85),  # magenta
    (1.00, 0.90, 0.10),  # yellow
    (0.55, 0.35, 1.00),  # violet
    (0.10, 0.90, 0.90),  # cyan
    (0.95, 0.15, 0.20),  # red
)


def track_color(track_id: int) -> tuple[float, float, float]:
    """(r, g, b) floats in [0, 1] for a track; IDs beyond the palette wrap around."""
    return PALETTE_RGB[int(track_id) % len(PALETTE_RGB)]


def track_color_bgr(track_id: int) -> tuple[int, int, int]:
    """(b, g, r) uint8 values for OpenCV drawing, the same colour as track_color."""
    r, g, b = track_color(track_id)
    return (round(b * 255), round(g * 255), round(r * 255))
