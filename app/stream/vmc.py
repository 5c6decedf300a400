"""The VMC protocol (Virtual Motion Capture, OSC over UDP): one humanoid pose per frame to a receiver.

What is sent, one OSC bundle per processed frame (the protocol's "Performer" role; receivers such as
EVMC4U, VMC4B, VSeeFace and Warudo are "Marionettes", listening on UDP port 39539 by default):
  /VMC/Ext/Root/Pos "root" p.x p.y p.z q.x q.y q.z q.w   the avatar's root: on the floor under the hips
  /VMC/Ext/Bone/Pos NAME p.x p.y p.z q.x q.y q.z q.w     per bone of app.stream.humanoid.BONES (Unity's
                                                        HumanBodyBones names): its rest offset from its
                                                        parent and its rotation relative to its parent
  /VMC/Ext/OK 1 3 0 TRACKING                            model loaded, calibrated, normal mode; TRACKING is 1
                                                        with a performer this frame, else 0 (no bones then)
  /VMC/Ext/T TIME                                       seconds since the stream started
Units and axes are Unity's: metres, left-handed x right, y up, z forward; quaternions x, y, z, w; all
numbers are OSC float32. Rotations are relative to the T-pose of app.stream.humanoid (every bone's rest
orientation is the identity, as in a normalised VRM avatar), so a receiver applies them to its own avatar.

UDP needs no connection: a receiver that is not running loses the packets and nothing fails. A target
that is malformed, cannot be resolved or has no route is a VmcError with one line, before anything is sent.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass

import numpy as np
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

DEFAULT_PORT = 39539  # the protocol's usual Marionette (receiver) port


class VmcError(Exception):
    """The VMC target cannot be used; str() is one line naming it."""


@dataclass(frozen=True)
class VmcTarget:
    """Where to send: host (name or IP address, without brackets) and UDP port."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_target(text: str) -> VmcTarget:
    """'HOST:PORT' (IPv6 as '[ADDR]:PORT') -> VmcTarget; raises VmcError with one line when malformed."""
    text = text.strip()
    problem = f"--vmc {text!r}: expected HOST:PORT (e.g. 127.0.0.1:{DEFAULT_PORT})"
    bracketed = text.startswith("[")
    if bracketed:
        host, sep, port_text = text[1:].partition("]:")
    else:
        host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text:
        raise VmcError(problem)
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise VmcError(f"--vmc {text!r}: port must be a number from 1 to 65535")
    if bracketed:  # an IPv6 address: the only host with colons, and only in brackets
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise VmcError(problem) from None
    elif any(c.isspace() or c in ":/\\@[]" for c in host):
        raise VmcError(problem)
    return VmcTarget(host, int(port_text))


@dataclass(frozen=True, eq=False)
class VmcFrame:
    """One frame's humanoid pose on the wire (Unity axes, metres; module docstring).

    bone_names: (B,) Unity HumanBodyBones names; bone_positions (B, 3): each bone's offset from its parent
    (Hips: from the root); bone_rotations (B, 4) x, y, z, w relative to the parent; root_position (3,) and
    root_rotation (4,) x, y, z, w: the root's pose in the receiver's space.
    """

    bone_names: tuple[str, ...]
    bone_positions: np.ndarray
    bone_rotations: np.ndarray
    root_position: np.ndarray
    root_rotation: np.ndarray


def _message(address: str, *args) -> object:
    builder = OscMessageBuilder(address)
    for value in args:
        if isinstance(value, str):
            builder.add_arg(value, OscMessageBuilder.ARG_TYPE_STRING)
        elif isinstance(value, (int, np.integer)):
            builder.add_arg(int(value), OscMessageBuilder.ARG_TYPE_INT)
        else:
            builder.add_arg(float(value), OscMessageBuilder.ARG_TYPE_FLOAT)
    return builder.build()


def frame_bundle(frame: VmcFrame | None, time_s: float) -> bytes:
    """The OSC bundle (bytes) for one frame; frame None = nobody tracked: only OK (tracking 0) and T."""
    bundle = OscBundleBuilder(IMMEDIATELY)
    if frame is not None:
        bundle.add_content(_message("/VMC/Ext/Root/Pos", "root", *frame.root_position, *frame.root_rotation))
        for name, position, rotation in zip(frame.bone_names, frame.bone_positions, frame.bone_rotations):
            bundle.add_content(_message("/VMC/Ext/Bone/Pos", name, *position, *rotation))
    bundle.add_content(_message("/VMC/Ext/OK", 1, 3, 0, int(frame is not None)))
    bundle.add_content(_message("/VMC/Ext/T", float(time_s)))
    return bundle.build().dgram


class VmcSender:
    """A UDP socket to one VMC receiver. Opening resolves the host and checks there is a route (VmcError
    with one line if not); send() then never fails because the receiver is absent."""

    def __init__(self, target: VmcTarget | str):
        self.target = parse_target(target) if isinstance(target, str) else target
        try:
            infos = socket.getaddrinfo(self.target.host, self.target.port, type=socket.SOCK_DGRAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise VmcError(f"--vmc {self.target}: cannot resolve host '{self.target.host}' ({_reason(exc)})") from None
        family, kind, proto, _, address = infos[0]
        self._socket = socket.socket(family, kind, proto)
        try:
            self._socket.connect(address)  # UDP: only picks the route, sends nothing
        except OSError as exc:
            self._socket.close()
            raise VmcError(f"--vmc {self.target}: cannot reach {address[0]} ({_reason(exc)})") from None
        self._start: float | None = None  # the stream's clock starts with its first frame
        self.frames_sent = 0
        self.frames_with_performer = 0
        self.bytes_sent = 0

    def send(self, frame: VmcFrame | None) -> None:
        """Send one frame's bundle (None: nobody tracked this frame); raises VmcError if the network fails."""
        now = time.perf_counter()
        self._start = now if self._start is None else self._start
        data = frame_bundle(frame, now - self._start)
        try:
            self._socket.send(data)
        except ConnectionRefusedError:
            pass  # an earlier packet found no receiver listening: no error for UDP, keep streaming
        except OSError as exc:
            raise VmcError(f"--vmc {self.target}: sending failed ({_reason(exc)})") from None
        self.frames_sent += 1
        self.frames_with_performer += frame is not None
        self.bytes_sent += len(data)

    def close(self) -> None:
        self._socket.close()


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
