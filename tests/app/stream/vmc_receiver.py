"""A real python-osc VMC receiver on 127.0.0.1 for the stream tests (loopback only)."""

import threading
import time

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer


class Receiver:
    """A python-osc UDP server on 127.0.0.1 (a free port) collecting messages in arrival order, one datagram
    at a time; use as a context manager."""

    def __init__(self):
        self.messages: list[tuple[str, tuple]] = []
        dispatcher = Dispatcher()
        dispatcher.set_default_handler(lambda address, *args: self.messages.append((address, args)))
        self.server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
        self.port = self.server.server_address[1]
        self.target = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def frames(self) -> list[list[tuple[str, tuple]]]:
        """Messages grouped per frame: every bundle ends with /VMC/Ext/T."""
        frames, current = [], []
        for message in list(self.messages):
            current.append(message)
            if message[0] == "/VMC/Ext/T":
                frames.append(current)
                current = []
        return frames

    def wait_for(self, n_frames: int, timeout_s: float = 5.0) -> bool:
        """Loopback delivery is immediate; this only lets the server thread catch up."""
        deadline = time.monotonic() + timeout_s
        while len(self.frames()) < n_frames and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(self.frames()) >= n_frames
