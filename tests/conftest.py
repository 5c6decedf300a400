"""Fixtures shared across the test packages: the bundled sample clip and tiny random-weight exports."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CLIP = ROOT / "assets" / "sample_two_people.mp4"


@pytest.fixture(scope="session")
def sample_clip() -> Path:
    """The bundled two-person clip (544x960, 60 fps, 100 frames)."""
    assert SAMPLE_CLIP.is_file(), f"{SAMPLE_CLIP} is missing: it ships with the project"
    return SAMPLE_CLIP


@pytest.fixture(scope="session")
def export_tiny(tmp_path_factory):
    """export_tiny(seed) -> card path of a tiny random-weight network exported by the real CLI
    (ONNX + card + checkpoint in one folder); one export per seed per session."""
    import main
    from model.net.checkpoint import make_random_checkpoint
    from model.net.config import ModelConfig

    cards: dict[int, Path] = {}

    def export(seed: int) -> Path:
        if seed not in cards:
            root = tmp_path_factory.mktemp(f"tiny{seed}")
            checkpoint = make_random_checkpoint(root / "tiny.pt", ModelConfig.tiny(), seed=seed)
            assert main.main(["export", str(checkpoint)]) == 0
            cards[seed] = root / "tiny.card.json"
        return cards[seed]

    return export
