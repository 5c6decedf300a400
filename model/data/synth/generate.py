"""`python main.py synth --out DIR --count N [--seed S] [--split train|heldout] [--size 256] [--family F]`: synthetic people.

Writes shards of --shard-size samples into DIR (model/data/synth/shards.py) and DIR/data_card.json at the
end (and every --card-every shards). --family gives every target person that pose family (e.g. a set of 'touch'
people to add to a training run); without it the families are drawn as model/data/synth/scene.py weighs them.
Resumable: rerunning with the same arguments continues where a killed run
stopped: complete shards are kept, the rest are made again (the same samples: each one's random numbers
depend only on seed, split and its index). A larger --count later adds samples; the recorded settings
(DIR/synth_config.json) must match, or the command refuses in one line.

Needs requirements-synth.txt (anny, scikit-image) and Open3D; anny compiles kernels on first use.
Speed on the 2-core development machine: see the log lines (samples/s) and the lead's notes.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from model.atomic import atomic_write_text
from model.commands import UsageError, output_folder, remove_empty_folders
from model.errors import file_error, one_line

from model.data.synth.poses import FAMILIES
from model.data.synth.shards import baked_offsets, complete_shards, expected_size, shard_count, write_shard

CONFIG_KEYS = ("seed", "split", "size", "shard_size", "labels_version", "family")  # a missing key reads as None
DEFAULT_FOOTAGE = os.path.join("out", "distill", "train.npz")  # `main.py distill`'s training set
LABELS_VERSION = 1  # bump when labels change meaning (joint definition, frames, units): a new folder is needed
# Upper bounds checked before any work: 10 million samples is weeks of rendering at the measured ~6 renders/s
# per process (a larger set is several folders); 100000 shards keeps the list of shards to make small (a
# count of 1e12 built a list of 5e9 shard numbers, 8.7 GB, before anything was checked).
MAX_COUNT, MAX_SHARDS, MAX_SHARD_SIZE, MAX_SIZE = 10_000_000, 100_000, 10_000, 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="set folder (e.g. out/synth/train)")
    parser.add_argument("--count", type=int, required=True, help="number of samples in the set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=("train", "heldout"), default="train",
                        help="heldout: body shapes, DeepMimic clips and backgrounds never used for train")
    parser.add_argument("--size", type=int, default=256, help="stored crop side, px")
    parser.add_argument("--shard-size", type=int, default=200)
    parser.add_argument("--card-every", type=int, default=10, help="rewrite the data card every N shards")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the body model's forward pass)")
    parser.add_argument("--family", default=None, choices=FAMILIES,
                        help="every target person from this pose family (model/data/synth/poses.py); default: all, weighted")
    parser.add_argument("--footage-poses", default="auto",
                        help="distillation set whose triangulated real 3D poses some people take (train split only); "
                             "'auto': out/distill/train.npz where it exists, '' for none")


def check_config(folder: str, config: dict) -> str:
    """'' if folder's recorded settings match config (or there are none yet), else a one-line problem."""
    path = os.path.join(folder, "synth_config.json")
    if not os.path.isfile(path):
        return ""
    try:
        with open(path, encoding="utf-8") as f:
            old = json.load(f)
    except (OSError, ValueError) as exc:
        return file_error(path, f"unreadable ({exc})")
    diff = [k for k in CONFIG_KEYS if old.get(k) != config.get(k)]
    if diff:
        return file_error(path, "this folder was made with other settings (" + ", ".join(
            f"{k}={old.get(k)!r} not {config.get(k)!r}" for k in diff) + "); use another --out")
    return ""


def check_options(args: argparse.Namespace) -> None:
    """Every number before any work; raises UsageError (one line naming the option)."""
    bounds = (("--count", args.count, 1, MAX_COUNT), ("--shard-size", args.shard_size, 1, MAX_SHARD_SIZE),
              ("--size", args.size, 64, MAX_SIZE), ("--card-every", args.card_every, 1, MAX_SHARDS),
              ("--threads", args.threads, 1, 1024), ("--seed", args.seed, 0, 2**32 - 1))
    for option, value, low, high in bounds:
        if not low <= value <= high:
            raise UsageError(f"{option} {value}: must be from {low} to {high}")
    if shard_count(args.count, args.shard_size) > MAX_SHARDS:
        raise UsageError(f"--count {args.count} in shards of {args.shard_size}: more than {MAX_SHARDS} shards; "
                         "use a larger --shard-size")


def run(args: argparse.Namespace) -> int:
    check_options(args)
    config = {"seed": args.seed, "split": args.split, "size": args.size, "shard_size": args.shard_size,
              "labels_version": LABELS_VERSION}
    if args.family is not None:  # recorded only when given, so that older folders' settings still match
        config["family"] = args.family
    problem = check_config(args.out, config)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    created = output_folder(args.out)  # a file in the way or /proc: one line, before anything is loaded
    done = complete_shards(args.out)
    # A shard holding at least what this count needs is kept (a smaller --count never rewrites data).
    todo = [k for k in range(shard_count(args.count, args.shard_size))
            if done.get(k, 0) < expected_size(k, args.count, args.shard_size)]
    have = sum(n for k, n in done.items() if k * args.shard_size < args.count)
    print(f"synth: {args.out}: {have} samples in complete shards, {len(todo)} shards to make", flush=True)
    if not todo:
        _card(args.out, config, args.count)
        return 0
    import torch

    torch.set_num_threads(max(1, args.threads))
    try:
        from model.data.synth.body import BodyModel, load_offsets
        from model.data.synth.scene import SceneConfig, SceneMaker

        # A set keeps the teacher offsets it was started with; later ones are applied by the reader.
        config["offsets_mm"] = (baked_offsets(args.out) if done else load_offsets()).round(2).tolist()
        footage = args.footage_poses
        if footage == "auto":
            footage = DEFAULT_FOOTAGE if os.path.isfile(DEFAULT_FOOTAGE) else ""
        if footage and not os.path.isfile(footage):
            print(f"error: {file_error(footage, 'no such distillation set (--footage-poses)')}", file=sys.stderr)
            return 2
        maker = SceneMaker(args.split, args.seed, SceneConfig(crop_size=args.size),
                           mocap_cache=os.path.join(args.out, "mocap_clips.npz"),
                           body_model=BodyModel(offsets_mm=np.asarray(config["offsets_mm"])), footage_poses=footage)
    except ImportError as exc:
        remove_empty_folders(created)  # nothing was made: no empty --out left behind
        raise UsageError(f"{one_line(exc)}; install requirements-synth.txt") from None
    atomic_write_text(os.path.join(args.out, "synth_config.json"), json.dumps(config, indent=1) + "\n")
    start, made = time.perf_counter(), 0
    try:
        for n, k in enumerate(todo):
            first = k * args.shard_size
            size = expected_size(k, args.count, args.shard_size)
            samples = []
            for i in range(first, first + size):
                samples.append(maker.make(i, args.family))
                made += 1
                if made % 25 == 0:
                    rate = made / (time.perf_counter() - start)
                    print(f"synth: sample {i + 1}/{args.count}, {rate:.2f} samples/s", flush=True)
            write_shard(args.out, k, samples)
            rate = made / (time.perf_counter() - start)
            print(f"synth: shard {k} written ({first + size}/{args.count} samples), {rate:.2f} samples/s", flush=True)
            if (n + 1) % args.card_every == 0:
                _card(args.out, config, args.count)
    finally:
        maker.close()
    _card(args.out, config, args.count)
    return 0


def _card(folder: str, config: dict, count: int) -> None:
    from model.data.synth.card import write_card

    card = write_card(folder, {**config, "count": count})
    print(f"synth: {folder}/data_card.json: {card['samples']} samples", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.data.synth", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
