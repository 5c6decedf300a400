"""Benchmark: what VMC streaming adds per frame, against the BVH solve of the same poses measured in the same process.

Prints, for N random poses (the rest pose of app.stream.humanoid, jittered and turned):
  bvh solve   app.formats.bvh.solve_rotations of one frame (the baseline the rows below are ratios of)
  solve       humanoid rotations + quaternions for one frame (app.stream.performer.vmc_frames)
  encode      the OSC bundle (19 bones, root, OK, T) for one frame
  send        solve + encode + one UDP send to a python-osc receiver on 127.0.0.1, received and counted
Run: .venv/bin/python -m bench.stream [--frames 2000]
"""

import argparse
import statistics
import threading
import time

import numpy as np
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer
from scipy.spatial.transform import Rotation

from app.formats.bvh import build_nodes, median_bone_lengths, solve_rotations
from app.stream.humanoid import BONES, HEAD_TOP_REST
from app.stream.performer import vmc_frames
from app.stream.vmc import VmcSender, frame_bundle
from model.net.skeleton import JOINT_NAMES

J = {name: i for i, name in enumerate(JOINT_NAMES)}


def poses(n: int, seed: int = 0) -> np.ndarray:
    rest = np.zeros((17, 3))
    for bone in BONES:
        rest[J[bone.joint]] = bone.rest
    rest[J["head"]] = HEAD_TOP_REST
    rng = np.random.default_rng(seed)
    joints = rest[None] + rng.normal(0.0, 0.03, (n, 17, 3))
    return np.einsum("nij,nkj->nki", Rotation.random(n, random_state=seed).as_matrix(), joints)


def per_frame_ms(work, items) -> tuple[float, float]:
    """(median wall ms, mean CPU ms of this process) of work(item) over the items: on a shared machine the
    CPU time is the steadier figure."""
    times = []
    cpu_start = time.process_time()
    for item in items:
        start = time.perf_counter()
        work(item)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), (time.process_time() - cpu_start) * 1000 / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    args = parser.parse_args()
    joints = poses(args.frames)
    nodes = build_nodes(median_bone_lengths(joints * 100.0))
    frames = vmc_frames(joints)

    received = []
    dispatcher = Dispatcher()
    dispatcher.map("/VMC/Ext/T", lambda address, *values: received.append(values))
    server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sender = VmcSender(f"127.0.0.1:{server.server_address[1]}")

    bvh = per_frame_ms(lambda j: solve_rotations(j[None] * 100.0, nodes), joints)
    solve = per_frame_ms(lambda j: vmc_frames(j[None]), joints)
    encode = per_frame_ms(lambda f: frame_bundle(f, 0.0), frames)
    send = per_frame_ms(lambda j: sender.send(vmc_frames(j[None])[0]), joints)
    deadline = time.monotonic() + 5.0
    while len(received) < args.frames and time.monotonic() < deadline:
        time.sleep(0.01)
    server.shutdown()
    sender.close()
    print(f"{args.frames} frames, per frame: median wall ms, mean CPU ms (CPU ratio to the BVH solve of the same frame):")
    for name, (wall, cpu) in (("bvh solve", bvh), ("solve", solve), ("encode", encode), ("send", send)):
        print(f"  {name:10s} {wall:7.3f} ms  {cpu:7.3f} ms CPU  x{cpu / bvh[1]:.2f}")
    print(f"  bundle {len(frame_bundle(frames[0], 0.0))} bytes; received {len(received)} of {args.frames} frames sent")


if __name__ == "__main__":
    main()
