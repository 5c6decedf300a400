"""VMC protocol: target parsing, the bundle's messages and OSC types, a real python-osc receiver on loopback."""

import socket
import threading

import numpy as np
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_server import ThreadingOSCUDPServer

from app.stream.humanoid import BONE_NAMES
from app.stream.performer import vmc_frames
from app.stream.vmc import VmcError, VmcSender, VmcTarget, frame_bundle, parse_target
from tests.app.stream.test_humanoid import random_poses


@pytest.mark.parametrize("text, target", [
    ("127.0.0.1:39539", VmcTarget("127.0.0.1", 39539)),
    (" localhost:1 ", VmcTarget("localhost", 1)),
    ("[::1]:39540", VmcTarget("::1", 39540)),
    ("studio-pc.local:65535", VmcTarget("studio-pc.local", 65535)),
])
def test_targets_parse(text, target):
    assert parse_target(text) == target


@pytest.mark.parametrize("text", ["127.0.0.1", "127.0.0.1:", ":39539", "127.0.0.1:0", "127.0.0.1:70000",
                                  "127.0.0.1:port", "::1:39539", "a b:1", "http://x:1"])
def test_malformed_targets_are_one_line(text):
    with pytest.raises(VmcError) as info:
        parse_target(text)
    assert "\n" not in str(info.value) and "--vmc" in str(info.value)


def test_unresolvable_host_is_one_line():
    with pytest.raises(VmcError) as info:
        VmcSender("no-such-host.invalid:39539")
    assert "cannot resolve" in str(info.value) and "\n" not in str(info.value)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_receiver_running_is_no_error():
    sender = VmcSender(f"127.0.0.1:{_free_udp_port()}")
    frame = vmc_frames(random_poses(1))[0]
    for _ in range(5):  # the second send on Linux meets the ICMP "port unreachable" of the first
        sender.send(frame)
    sender.close()
    assert sender.frames_sent == 5


def test_bundle_carries_the_protocol_messages_with_osc_types():
    frame = vmc_frames(random_poses(1))[0]
    bundle = OscBundle(frame_bundle(frame, 1.5))
    messages = list(bundle)
    addresses = [m.address for m in messages]
    assert addresses == ["/VMC/Ext/Root/Pos"] + ["/VMC/Ext/Bone/Pos"] * len(BONE_NAMES) + ["/VMC/Ext/OK", "/VMC/Ext/T"]
    root = messages[0]
    assert root.params[0] == "root" and root.dgram.split(b"\x00")[0] == b"/VMC/Ext/Root/Pos"
    assert b",sfffffff\x00" in root.dgram  # name, position, quaternion: float32, as receivers check
    assert [m.params[0] for m in messages[1:-2]] == list(BONE_NAMES)
    assert all(b",sfffffff\x00" in m.dgram for m in messages[1:-2])
    assert messages[-2].params == [1, 3, 0, 1] and b",iiii\x00" in messages[-2].dgram
    assert messages[-1].params == [pytest.approx(1.5)] and b",f\x00" in messages[-1].dgram
    q = np.array([m.params[4:8] for m in messages[1:-2]])
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-6)
    nobody = [m.address for m in OscBundle(frame_bundle(None, 2.0))]
    assert nobody == ["/VMC/Ext/OK", "/VMC/Ext/T"]
    assert list(OscBundle(frame_bundle(None, 2.0)))[0].params == [1, 3, 0, 0]


def test_a_python_osc_receiver_gets_every_frame():
    received: list[tuple[str, tuple]] = []
    dispatcher = Dispatcher()
    dispatcher.set_default_handler(lambda address, *args: received.append((address, args)))
    server = ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sender = VmcSender(f"127.0.0.1:{server.server_address[1]}")
        frames = vmc_frames(random_poses(10))
        for frame in frames:
            sender.send(frame)
        sender.send(None)
        sender.close()
        deadline = threading.Event()
        for _ in range(100):
            if sum(a == "/VMC/Ext/T" for a, _ in received) == 11:
                break
            deadline.wait(0.05)
    finally:
        server.shutdown()
        server.server_close()
    assert sum(a == "/VMC/Ext/T" for a, _ in received) == 11
    bones = [args for address, args in received if address == "/VMC/Ext/Bone/Pos"]
    assert len(bones) == 10 * len(BONE_NAMES)
    first = {args[0]: np.array(args[1:]) for args in bones[: len(BONE_NAMES)]}
    assert np.allclose(first["LeftUpperArm"][3:], frames[0].bone_rotations[BONE_NAMES.index("LeftUpperArm")], atol=1e-6)


def test_unreachable_target_is_one_line():
    """A UDP socket cannot send to the broadcast address without asking to: connect() refuses at once."""
    with pytest.raises(VmcError) as info:
        VmcSender("255.255.255.255:39539")
    assert str(info.value).startswith("--vmc 255.255.255.255:39539: cannot reach") and "\n" not in str(info.value)
