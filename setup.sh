#!/usr/bin/env bash
# Installs what the app and the test suite need (Debian/Ubuntu system packages, then .venv/ with the pinned
# Python packages and this project, editable) and starts the app on the embedded default. Arguments are passed
# on to main.py. Extras for synthetic data (requirements-synth.txt) and GPUs (requirements-gpu.txt) are not
# installed here: see their headers, or `pip install .[synth]` / `.[gpu]` (pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
APT_PACKAGES=(
  python3-venv
  # Open3D offscreen rendering on Mesa's EGL
  libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri libgomp1 libusb-1.0-0
  # Qt 6: offscreen platform and X11 (xcb) platform
  libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1
  # a real X server for the GUI test on the xcb platform (tests/app/ui/test_xvfb.py)
  xvfb xauth
  # live-source test servers on 127.0.0.1 (tests/app/servers): GStreamer's RTSP server, FFmpeg's HTTP MJPEG
  gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav ffmpeg
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
pip_install() {
  if ! .venv/bin/python -m pip install -q --disable-pip-version-check "$@" 2>.venv/pip.log; then
    grep -v "is ignored" .venv/pip.log >&2; exit 1
  fi
}
pip_install -r requirements.txt  # the app, `process` and `stream`
pip_install -r requirements-test.txt -r requirements-train.txt  # the test suite (it also tests training)
pip_install -r requirements-ray.txt  # `main.py process --ray` (app/cluster.py) and its tests
pip_install --no-deps -r requirements-data.txt
# The project itself, editable: the `cascade3d` command in .venv/bin runs this checkout (pyproject.toml).
pip_install --no-deps -e .
echo "setup: installed; starting the app (python main.py $*)"
exec .venv/bin/python main.py "$@"
