"""The bundled files (weights, model card, person detector, sample clip, body): a package so that a wheel installs them.

Code finds them beside the app/, model/ and export/ packages, in a checkout and in an installed wheel alike.
"""

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent


def asset_path(*parts: str) -> Path:
    """The bundled file at `parts` below assets/ (e.g. asset_path("body", "anny_body.npz")); the one owner of where
    the bundled files lie, so that every layer finds them the same way in a checkout and in a wheel."""
    return ASSETS_DIR.joinpath(*parts)
