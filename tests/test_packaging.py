"""pyproject.toml: the `cascade3d` command runs app.main, every pin is exact, and the wheel carries every bundled file."""

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirement_lines(name: str) -> list[str]:
    lines = [line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines()]
    return [line for line in lines if line]


def test_the_command_is_the_same_command_line_as_main_py():
    assert PYPROJECT["project"]["scripts"] == {"cascade3d": "app.main:cli"}
    assert "from app.main import" in (ROOT / "main.py").read_text()
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "app.__version__"}


def test_dependencies_and_extras_come_from_exactly_pinned_requirement_files():
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]
    files = list(dynamic["dependencies"]["file"])
    assert set(dynamic["optional-dependencies"]) == {"test", "train", "synth", "cluster", "gpu"}
    files += [f for extra in dynamic["optional-dependencies"].values() for f in extra["file"]]
    for name in files:
        lines = requirement_lines(name)
        assert lines, name
        for line in lines:
            assert "==" in line and not line.startswith("-"), f"{name}: {line!r} is not an exact pin"


def test_the_wheel_carries_every_bundled_asset():
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["assets"]
    bundled = [p.relative_to(ROOT / "assets").as_posix() for p in (ROOT / "assets").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts]
    assert "__init__.py" in bundled and "cascade_blazepose.onnx" in bundled and "sample_two_people.mp4" in bundled
    for relative in bundled:
        assert relative.endswith(".py") or any(fnmatch.fnmatch(relative, p) for p in patterns), relative


def test_the_wheel_carries_the_blazepose_graph():
    """Checkpoints with the blazepose backbone are rebuilt from model/net/blazepose_graph.json."""
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["model.net"]
    assert (ROOT / "model" / "net" / "blazepose_graph.json").is_file()
    assert any(fnmatch.fnmatch("blazepose_graph.json", p) for p in patterns)
