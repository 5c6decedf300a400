"""The status line's text: a pure function of what the window knows (tested without Qt)."""

from dataclasses import dataclass

from app.types import FrameResult


@dataclass(frozen=True)
class StatusInputs:
    """What the status line shows. running=False: no pipeline (then only the error or a hint)."""

    running: bool
    paused: bool = False
    fps: float = 0.0  # results per second arriving from the pipeline
    drawn_fps: float | None = None  # results per second the window drew (video + 3D view); None: not known yet
    draw_ms: float | None = None  # recent time to draw one result (video + 3D view), ms
    step_ms: dict | None = None  # recent mean time per pipeline step (PIPELINE_STEPS, 'total'), ms; else the last result's
    screen_latency_ms: float | None = None  # capture to drawn on screen
    result: FrameResult | None = None  # the last drawn result
    backend: str = ""  # configured backend and device, shown until a result names the real ones
    device: str = ""
    detect_every: int = 1  # the processor's detector interval (shown when > 1)
    source: str = ""  # the source's description
    source_fallback: str = ""  # why the source is not the one asked for (e.g. no camera: sample clip)
    recording: bool = False
    streaming: str = ""  # 'HOST:PORT' of the VMC receiver while streaming, else ''
    error: str | None = None  # the last one-line error


# The window counts as keeping up while it draws at least this share of the pipeline's results.
KEEPS_UP = 0.9
PIPELINE_STEPS = ("detect", "pose", "track", "motion")  # FrameResult.timings_ms keys, in pipeline order


def rate_limit(s: StatusInputs) -> str:
    """What sets the frame rate, in words: the window when it draws fewer results than the pipeline makes,
    else the pipeline's slowest step (recent means from step_ms where given, else the last result's;
    '' when not known)."""
    if s.paused or s.fps <= 0:
        return ""
    if s.drawn_fps is not None and s.drawn_fps < KEEPS_UP * s.fps:
        cost = f", {s.draw_ms:.0f} ms per frame" if s.draw_ms is not None else ""
        return f"window draws {s.drawn_fps:.1f} fps (the 3D view and video{cost}; it shows the latest result)"
    timings = s.step_ms or (s.result.timings_ms if s.result is not None else {})
    steps = {k: timings[k] for k in PIPELINE_STEPS if k in timings}
    if not steps:
        return ""
    slowest = max(steps, key=steps.get)
    return f"limited by {slowest} ({steps[slowest]:.0f} of {timings.get('total', sum(steps.values())):.0f} ms)"


def status_text(s: StatusInputs) -> str:
    """FPS | what limits it | latency | people | backend on device | detector interval | source | recording |
    streaming | error."""
    if not s.running:
        return s.error or "no source running: pick a camera or open a file"
    parts = ["paused" if s.paused else f"{s.fps:.1f} fps"]
    limit = rate_limit(s)
    if limit:
        parts.append(limit)
    result = s.result
    if result is not None:
        latency = result.timings_ms.get("latency")
        if s.screen_latency_ms is not None:
            text = f"latency {s.screen_latency_ms:.0f} ms"
            if latency is not None:
                text += f" (to result {latency:.0f} ms)"
            parts.append(text)
        people = len(result.tracks)
        parts.append(f"{people} {'person' if people == 1 else 'people'}")
        parts.append(f"{result.backend or s.backend} on {result.device or s.device}")
        if s.detect_every > 1:
            parts.append(f"detector every {s.detect_every} frames")
    else:
        parts.append(f"{s.backend} on {s.device}")
    if s.source:
        parts.append(f"{s.source} ({s.source_fallback})" if s.source_fallback else s.source)
    if s.recording:
        parts.append("● recording")
    if s.streaming:
        parts.append(f"streaming to {s.streaming} (VMC)")
    if s.error:
        parts.append(s.error)
    return " | ".join(parts)
