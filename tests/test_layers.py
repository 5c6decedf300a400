"""The layer contracts (.importlinter) hold, and the linter really catches a forbidden import."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"
LINT = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--config", str(CONFIG), "--no-cache"], cwd=tree, capture_output=True, text=True,
                          env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}, timeout=120)


def copy_packages(tmp_path: Path) -> Path:
    for package in ("app", "model", "export"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_project_keeps_its_layer_contracts():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("model/net/skeleton.py", "import app.types", "Layers point down only"),
    ("export/card.py", "import app.engines", "Layers point down only"),
    ("app/processor.py", "import PyQt6.QtCore", "Only app.ui imports PyQt6"),
    ("model/net/network.py", "import open3d", "import open3d"),
    ("model/net/network.py", "import model.training.losses", "model's rooms point down only"),
    ("model/data/targets.py", "import model.training.metrics", "model's rooms point down only"),
    ("app/cluster.py", "import app.process", "the cluster never imports process"),
])
def test_a_forbidden_import_breaks_a_contract(tmp_path, module, line, contract):
    tree = copy_packages(tmp_path)
    path = tree / module
    path.write_text(path.read_text() + f"\n{line}  # added by the test\n")
    result = lint(tree)
    assert result.returncode != 0, result.stdout
    assert "1 broken" in result.stdout, result.stdout
    report = result.stdout.split("Broken contracts", 1)[1]
    offender = module.removesuffix(".py").replace("/", ".")
    assert contract in report and offender in report, result.stdout
