"""Benchmark of `main.py process --ray` against the single-process run on the same 4 clips, in one run.

Run: nice -n 10 .venv/bin/python -m bench.ray_process [--max-frames 40] [--rounds 1] [--clips A B C D]

Clips: Pose2Sim's two-person demo views cam01..cam04 (1088x1920, 100 frames each; requirements-data.txt),
else the bundled clip four times. Each round runs both commands as fresh processes, in alternating order
(the machine is shared and noisy), so both pay their own start-up (model loading; Ray's start for --ray).
Prints, per round and in total, wall seconds of each, the Ray run's start-up as it reports it, and the
ratio single / Ray (> 1: Ray faster). The outputs of the two runs are compared: same files, JSON equal.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.sources import DEFAULT_SAMPLE

REPO = Path(__file__).resolve().parents[1]


def default_clips() -> list[str]:
    try:
        import Pose2Sim
    except ImportError:
        return [DEFAULT_SAMPLE] * 4
    videos = Path(Pose2Sim.__file__).parent / "Demo_MultiPerson" / "videos"
    clips = [str(videos / f"cam0{k}.mp4") for k in range(1, 5)]
    return clips if all(Path(c).is_file() for c in clips) else [DEFAULT_SAMPLE] * 4


def run_process(clips: list[str], out: Path, max_frames: int, ray: bool) -> tuple[float, str]:
    """(wall seconds, stderr + stdout) of one `main.py process` in a fresh interpreter."""
    argv = [sys.executable, "main.py", "process", *clips, "--out", str(out), "--max-frames", str(max_frames)]
    argv += ["--ray"] if ray else []
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, done.stderr + done.stdout


def differences(a: Path, b: Path) -> list[str]:
    """What differs between two output folders: file names, JSON content (first differing frame), bytes."""
    names_a = sorted(p.name for p in a.iterdir() if not p.name.startswith("."))
    names_b = sorted(p.name for p in b.iterdir() if not p.name.startswith("."))
    found = [f"only in {a.name}: {n}" for n in names_a if n not in names_b]
    found += [f"only in {b.name}: {n}" for n in names_b if n not in names_a]
    for name in (n for n in names_a if n in names_b):
        if name.endswith(".json"):
            da, db = json.loads((a / name).read_text()), json.loads((b / name).read_text())
            if da != db:
                keys = [k for k in da if da[k] != db.get(k)]
                frames = [fa["index"] for fa, fb in zip(da.get("frames", []), db.get("frames", [])) if fa != fb]
                found.append(f"{name}: {keys}, frames {frames[:5]}{'...' if len(frames) > 5 else ''}")
        elif (a / name).read_bytes() != (b / name).read_bytes():
            found.append(f"{name}: bytes")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs=4, default=None, help="four videos (default: Pose2Sim cam01..04)")
    parser.add_argument("--max-frames", type=int, default=40, help="frames per clip (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=1, help="single + Ray pairs (default %(default)s)")
    parser.add_argument("--keep", default=None, metavar="DIR", help="write the outputs here (default: a temporary folder)")
    args = parser.parse_args()
    clips = args.clips or default_clips()
    names = [Path(c).name for c in clips]
    print(f"clips: {', '.join(names)}; {args.max_frames} frames each; {args.rounds} round(s)")
    totals = {"single": 0.0, "ray": 0.0}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or scratch
        for r in range(args.rounds):
            order = ("single", "ray") if r % 2 == 0 else ("ray", "single")
            walls, outs = {}, {}
            for kind in order:
                out = Path(tmp) / f"{kind}{r}"
                walls[kind], log = run_process(clips, out, args.max_frames, kind == "ray")
                outs[kind] = out
                if args.keep:
                    Path(tmp, f"{kind}{r}.log").write_text(log)
                if kind == "ray":
                    started = re.search(r"ray: .*ready in ([0-9.]+) s", log)
                    startup = f", of which Ray start + workers ready {started.group(1)} s" if started else ""
            for kind in totals:
                totals[kind] += walls[kind]
            diff = differences(outs["single"], outs["ray"])
            print(f"round {r + 1}: single {walls['single']:.1f} s, ray {walls['ray']:.1f} s{startup}; "
                  f"single/ray = {walls['single'] / walls['ray']:.2f}; "
                  f"outputs {'identical' if not diff else 'DIFFER: ' + '; '.join(diff)}")
    frames = 4 * args.max_frames * args.rounds
    print(f"total: single {totals['single']:.1f} s ({frames / totals['single']:.2f} fps), "
          f"ray {totals['ray']:.1f} s ({frames / totals['ray']:.2f} fps); single/ray = "
          f"{totals['single'] / totals['ray']:.2f}")


if __name__ == "__main__":
    main()
