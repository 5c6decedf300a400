"""Tests of model/data/synth/render.py (Open3D only, no anny): rendered pixels, ray-cast person ids and occlusion agree.

The renderer runs in a child process: Open3D 0.19 aborts when an OffscreenRenderer is destroyed while another
exists, or when two exist at exit (render.py), and the app's viewport tests make their own in the suite's process.
"""

import json
import os
import subprocess
import sys

import open3d  # noqa: F401  (the default install provides it: a broken install fails here, not as a skip)
import pytest

SCRIPT = r'''
import json, sys
import numpy as np
import open3d as o3d
from model.data.synth.camera import Camera, intrinsics, look_at
from model.data.synth.render import Body, Lighting, Renderer, occluded_by_others, person_ids

def box(centre, size, colour):
    mesh = o3d.geometry.TriangleMesh.create_box(*size)
    mesh.translate(np.asarray(centre) - np.asarray(size) / 2)
    v, f = np.asarray(mesh.vertices), np.asarray(mesh.triangles)
    return Body(v, f, np.tile(colour, (len(v), 1)))

eye = np.array([0.0, -5.0, 1.0])
R = look_at(eye, np.array([0.0, 0.0, 1.0]))
camera = Camera(R, -R @ eye, intrinsics(50.0, 256, 256), (256, 256))
bodies = [box([0.0, 0.0, 1.0], [0.5, 0.4, 1.8], [0.8, 0.2, 0.2]),   # a person-sized block
          box([0.2, -2.0, 0.6], [0.3, 0.3, 1.2], [0.2, 0.2, 0.8])]  # lower right, in front of it
renderer = Renderer(256)
image = renderer.render(bodies, camera, Lighting())
renderer.close()
ids, rays = person_ids(bodies, camera, 256)
drawn = image.max(-1) > 0
top = camera.project(np.array([0.0, -0.2, 1.9]))
x, y = int(round(top[0])), int(round(top[1]))
joints = np.array([[0.0, 0.0, 1.7], [0.2, 0.0, 0.6], [-0.2, 0.0, 0.6]])
out = {
    "drawn": int(drawn.sum()), "cast": int((ids >= 0).sum()), "differ": int((drawn != (ids >= 0)).sum()),
    "blocker": int((ids == 1).sum()), "below_top": int(ids[y + 2, x]), "above_top": int(ids[y - 3, x]),
    "hidden": occluded_by_others(rays, camera.centre, joints, 0, 2).tolist(),
    "blocker_hidden": bool(occluded_by_others(rays, camera.centre, np.array([[0.2, -2.0, 0.6]]), 1, 2).any()),
}
print("RESULT " + json.dumps(out))
'''


@pytest.fixture(scope="module")
def result() -> dict:
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
    env = {**os.environ, "EGL_PLATFORM": "surfaceless", "PYTHONPATH": root}
    run = subprocess.run([sys.executable, "-c", SCRIPT], cwd=root, env=env, capture_output=True, text=True,
                         timeout=300)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stdout[-2000:] + run.stderr[-2000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_render_and_ray_cast_cover_the_same_pixels(result):
    assert result["drawn"] > 2000 and result["cast"] > 2000
    # Exact agreement but for a few pixels along silhouette edges (rasteriser vs ray tie-breaks).
    assert result["differ"] < 0.02 * result["drawn"]
    assert result["blocker"] > 400  # the blocker is seen in front of the target


def test_pixels_follow_the_projection(result):
    # Just below the target's projected top edge is the target, just above it nothing.
    assert result["below_top"] == 0 and result["above_top"] == -1


def test_occlusion_by_another_body(result):
    # Head-high: free; low on the right: behind the blocker; low on the left: free.
    assert result["hidden"] == [False, True, False]
    assert not result["blocker_hidden"]  # nothing hides the blocker's own centre
