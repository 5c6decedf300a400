"""Per-card PCK of the elbows and wrists on the committed real raised-arm crops (tests/fixtures/raised_arms/).

    python -m bench.raised_arms_pck [CARD ...]   (default: the app's default card)

Runs tests/app/test_raised_arms_real.py's arm_errors with each card, prints per crop and per joint, and says
whether that file's goal test (the shipped network's measured counts less a margin) passes with the card as CARD.
"""

import argparse
import importlib.util
import os

import numpy as np

TEST = os.path.join(os.path.dirname(__file__), "..", "tests", "app", "test_raised_arms_real.py")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cards", nargs="*", help="model cards (default: the app's default card)")
    args = p.parse_args(argv)
    # The test file is no package module (pytest imports it by path): load it the same way.
    spec = importlib.util.spec_from_file_location("test_raised_arms_real", TEST)
    test = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(test)
    for card in args.cards or [test.CARD]:
        errors = test.arm_errors(card)
        table = np.stack(list(errors.values()))
        print(card)
        for name, row in errors.items():
            print(f"  {name}: " + " ".join(f"{x:.3f}" for x in row),
                  f"| within 0.1: {int((row < 0.1).sum())}/4, within 0.2: {int((row < 0.2).sum())}/4")
        for k, joint in enumerate(test.ARM_JOINTS):
            col = table[:, k]
            n = len(col)
            print(f"  {joint}: PCK@0.1 {int((col < 0.1).sum())}/{n}, PCK@0.2 {int((col < 0.2).sum())}/{n},"
                  f" median {np.median(col):.3f}, max {col.max():.3f}")
        print(f"  arm joints: PCK@0.1 {np.mean(table < 0.1):.3f}, PCK@0.2 {np.mean(table < 0.2):.3f}")
        test.CARD = card
        try:
            test.test_raised_arms_are_found_on_real_crops()
            print("  goal test: passes")
        except AssertionError as e:
            print(f"  goal test: fails ({str(e)[:200]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
