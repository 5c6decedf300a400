"""Run by Blender (`blender -b --factory-startup --python THIS -- FILE.glb REQUEST.json OUT.json`): import a .glb with
Blender's own glTF importer and write, at the requested times, the armature's bone heads and the posed (evaluated)
vertices of the requested meshes, in Blender's axes (Z up, m).

REQUEST.json: {"times": [seconds], "meshes": [mesh object names]}.
OUT.json: {"fps", "heads": [{bone: [x, y, z]} per time]}; beside it OUT.json.MESH.npz: vertices (T, V, 3), faces (F, 3).
Not a test module: it runs inside Blender's Python (bpy, mathutils), not the project's.
"""

import builtins
import json
import sys

import numpy

# Debian's Blender 3.4.1 importer still uses np.bool, which numpy 1.24 removed (NOTES.md, glTF).
numpy.bool = bool

import bpy  # noqa: E402

glb_path, request_path, out_path = sys.argv[sys.argv.index("--") + 1:][:3]
with builtins.open(request_path, encoding="utf-8") as f:
    request = json.load(f)
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=glb_path)
scene = bpy.context.scene
fps = scene.render.fps / scene.render.fps_base  # the importer keys glTF seconds at the scene's frame rate
armatures = [o for o in scene.objects if o.type == "ARMATURE"]
meshes = {o.name: o for o in scene.objects if o.type == "MESH"}
heads, vertices = [], {name: [] for name in request["meshes"]}
for k, t in enumerate(request["times"]):
    frame = t * fps
    scene.frame_set(int(frame), subframe=frame - int(frame))
    depsgraph = bpy.context.evaluated_depsgraph_get()
    heads.append({b.name: list(a.matrix_world @ b.head) for a in armatures for b in a.pose.bones})
    for name in request["meshes"]:
        evaluated = meshes[name].evaluated_get(depsgraph)
        mesh = evaluated.to_mesh()
        world = numpy.array(meshes[name].matrix_world)
        local = numpy.array([v.co for v in mesh.vertices])
        vertices[name].append(local @ world[:3, :3].T + world[:3, 3])
        faces = numpy.array([tuple(p.vertices) for p in mesh.polygons])
        evaluated.to_mesh_clear()
        numpy.savez(f"{out_path}.{name}.npz", vertices=numpy.array(vertices[name]), faces=faces)
with builtins.open(out_path, "w", encoding="utf-8") as f:
    json.dump({"fps": fps, "heads": heads}, f)
