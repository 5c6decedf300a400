"""Tests of model/synth/render.py (Open3D only, no anny): rendered pixels, ray-cast person ids and occlusion agree."""

import os

import numpy as np
import pytest

# All synth tests render at 256 px: Open3D allows one offscreen renderer per process (render.py).
# Headless Open3D needs Mesa's surfaceless EGL (set before open3d is first imported; render.py does the same).
os.environ.setdefault("EGL_PLATFORM", "surfaceless")

from model.synth.camera import Camera, intrinsics, look_at
from model.synth.render import Body, Lighting, Renderer, occluded_by_others, person_ids


def box(centre, size, colour) -> Body:
    o3d = pytest.importorskip("open3d")
    mesh = o3d.geometry.TriangleMesh.create_box(*size)
    mesh.translate(np.asarray(centre) - np.asarray(size) / 2)
    v, f = np.asarray(mesh.vertices), np.asarray(mesh.triangles)
    return Body(v, f, np.tile(colour, (len(v), 1)))


@pytest.fixture(scope="module")
def scene():
    eye = np.array([0.0, -5.0, 1.0])
    R = look_at(eye, np.array([0.0, 0.0, 1.0]))
    camera = Camera(R, -R @ eye, intrinsics(50.0, 256, 256), (256, 256))
    target = box([0.0, 0.0, 1.0], [0.5, 0.4, 1.8], [0.8, 0.2, 0.2])  # a person-sized block
    blocker = box([0.2, -2.0, 0.6], [0.3, 0.3, 1.2], [0.2, 0.2, 0.8])  # lower right, in front of it
    return camera, [target, blocker]


def test_render_and_ray_cast_cover_the_same_pixels(scene):
    camera, bodies = scene
    renderer = Renderer(256)
    try:
        image = renderer.render(bodies, camera, Lighting())
    finally:
        renderer.close()
    ids, _ = person_ids(bodies, camera, 256)
    drawn = image.max(-1) > 0
    assert drawn.sum() > 2000 and (ids >= 0).sum() > 2000
    # Exact agreement but for a few pixels along silhouette edges (rasteriser vs ray tie-breaks).
    assert (drawn != (ids >= 0)).sum() < 0.02 * drawn.sum()
    assert (ids == 1).sum() > 400  # the blocker is seen in front of the target


def test_pixels_follow_the_projection(scene):
    camera, bodies = scene
    ids, _ = person_ids(bodies, camera, 256)
    top = camera.project(np.array([0.0, -0.2, 1.9]))  # near the target's top front edge, above the blocker
    x, y = int(round(top[0])), int(round(top[1]))
    assert ids[y + 2, x] == 0 and ids[y - 3, x] == -1


def test_occlusion_by_another_body(scene):
    camera, bodies = scene
    _, rays = person_ids(bodies, camera, 256)
    joints = np.array([[0.0, 0.0, 1.7], [0.2, 0.0, 0.6], [-0.2, 0.0, 0.6]])  # head-high, behind the blocker, left
    hidden = occluded_by_others(rays, camera.centre, joints, 0, len(bodies))
    assert hidden.tolist() == [False, True, False]
    # Seen from the blocker's point of view nothing of the target hides the blocker's own centre.
    assert not occluded_by_others(rays, camera.centre, np.array([[0.2, -2.0, 0.6]]), 1, len(bodies)).any()
