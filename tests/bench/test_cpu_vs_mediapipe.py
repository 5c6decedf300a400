"""bench/cpu_vs_mediapipe.py's turn-taking: every contender sees every frame once, in order, and none always
runs right after the same other one."""

from dataclasses import dataclass, field

import numpy as np

from app.types import Frame
from bench.cpu_vs_mediapipe import CHUNK, run_round, turn_order


@dataclass
class Recorder:
    """A contender that records which frames it was given, and the shared log of whose turn it was."""

    name: str
    log: list
    seen: list = field(default_factory=list)

    def people(self, frame: Frame, fps: float) -> int:
        self.seen.append(frame.index)
        if not self.log or self.log[-1] != self.name:
            self.log.append(self.name)
        return 1

    def reset(self) -> None:
        self.seen.clear()
        self.log.clear()

    def settle(self) -> None:
        pass


def test_turn_order_puts_every_contender_in_every_place_once_per_cycle():
    names = ["a", "b", "c"]
    orders = [turn_order(names, turn) for turn in range(3)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    for place in range(3):
        assert sorted(order[place] for order in orders) == names
    assert turn_order(names, 4) == orders[1]


def test_run_round_gives_each_contender_every_frame_in_order_and_rotates_who_follows_whom():
    log: list = []
    contenders = [Recorder(name, log) for name in ("mediapipe-pose", "default", "card")]
    frames = [Frame(i, i / 30, np.zeros((4, 4, 3), np.uint8)) for i in range(3 * CHUNK)]
    fps, people = run_round(contenders, frames, 30.0)
    assert set(fps) == {"mediapipe-pose", "default", "card"} and all(v > 0 for v in fps.values())
    for c in contenders:
        assert c.seen == list(range(3 * CHUNK))
        assert people[c.name] == [1] * (3 * CHUNK)
    followers = {(log[i], log[i + 1]) for i in range(len(log) - 1)}
    assert ("card", "mediapipe-pose") in followers and ("mediapipe-pose", "card") in followers
    assert log[:3] == ["mediapipe-pose", "default", "card"] and log[3:6] == ["default", "card", "mediapipe-pose"]
