"""A GStreamer RTSP server on 127.0.0.1 looping JPEG frames at rtsp://127.0.0.1:PORT/live, for the live-source tests.

Run with the system Python (/usr/bin/python3, Debian's python3-gi and gir1.2-gst-rtsp-server-1.0):
`/usr/bin/python3 rtsp_server.py FOLDER PORT [FPS]`, FOLDER holding 00000.jpg, 00001.jpg, ... (all one size).
Prints "ready" once listening; runs until killed. JPEG frames, not a clip: multifilesrc loops a clip's
container badly (the stream ended after the clip's 100 frames), a numbered image sequence endlessly.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402  (after require_version)

# Keyframes every 15 frames, so that a client joining or rejoining decodes at once.
LAUNCH = ("( multifilesrc location={folder}/%05d.jpg loop=true caps=image/jpeg,framerate={fps}/1 ! jpegdec ! "
          "videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! "
          "rtph264pay name=pay0 pt=96 )")


def main(folder: str, port: int, fps: int) -> None:
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(LAUNCH.format(folder=folder, fps=fps))
    factory.set_shared(True)
    server.get_mount_points().add_factory("/live", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{port}")
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 30)
