"""The page: inputs and options on the left, pose preview, progress and results on the right.

Uploads reach the handlers unprocessed (`preprocess=False`): Gradio does not open them, our loaders do,
with their limits (an image's pixel count is read from its header before anything is decoded).
Handlers turn every `InputError` into a message on the page (`gr.Error`); anything unexpected is logged
with its traceback on the server's stderr and reported on the page as one line. Generation runs in a
worker thread while the handler streams the job's place in line, then its progress, then the results.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from animate_anyone.data.video_io import IMAGE_SUFFIXES, VIDEO_SUFFIXES, load_image
from animate_anyone.errors import InputError
from animate_anyone.pose.sources import KEYPOINT_SUFFIX, RENDERED_NAME_SUFFIX
from animate_anyone.runtime import dtype_name
from animate_anyone.ui.examples import MOTIONS, example_pose_videos, example_references, write_motion_keypoints
from animate_anyone.ui.generation import Settings, denoise, write_results
from animate_anyone.ui.inputs import Limits, check_size_and_frames, check_upload, field_number, load_driving
from animate_anyone.ui.jobs import JobBoard
from animate_anyone.ui.models import ModelShelf
from animate_anyone.ui.preview import write_preview

NO_MOTION = "(none: use the uploaded driving input)"
POLL_SECONDS = 0.25  # how often a waiting or running job reports to the page
PREVIEWS_KEPT = 32


@dataclass
class Server:
    """What the handlers share: the models, the job lines, the limits and where results go."""

    shelf: ModelShelf
    board: JobBoard
    limits: Limits
    output_dir: Path

    def new_folder(self, kind: str) -> Path:
        folder = self.output_dir / kind
        folder.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=folder))


@contextlib.contextmanager
def page_errors(action: str) -> Iterator[None]:
    """InputError -> its message on the page; anything else -> traceback on stderr, one line on the page."""
    try:
        yield
    except InputError as error:
        raise gr.Error(str(error), print_exception=False) from None
    except gr.Error:
        raise
    except Exception as error:  # noqa: BLE001 - the page must never show a traceback
        traceback.print_exc(file=sys.stderr)
        raise gr.Error(f"{action} failed: {type(error).__name__}: {error}", print_exception=False) from None


def upload_path(payload) -> str | None:
    """The server-side path of an upload as the event receives it unprocessed (`preprocess=False`)."""
    if payload is None or isinstance(payload, str):
        return payload
    return payload.get("path") if isinstance(payload, dict) else getattr(payload, "path", None)


def stage_inputs(server: Server, folder: Path, reference_upload: str | None, driving_upload: str | None,
                 motion: str, frames: int, width: int, height: int) -> tuple[Path, Path]:
    """Copy the reference and the driving input into `folder` (or write the generated motion's keypoints
    there), checked against the upload limits: the files a settings.json command refers to."""
    reference = check_upload(upload_path(reference_upload), server.limits, "reference image")
    if reference.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"unsupported reference image {reference.name}: expected {', '.join(IMAGE_SUFFIXES)}")
    reference_copy = shutil.copyfile(reference, folder / f"reference{reference.suffix.lower()}")
    if motion and motion != NO_MOTION:
        return Path(reference_copy), write_motion_keypoints(motion, folder / f"motion{KEYPOINT_SUFFIX}", frames,
                                                            width, height)
    if not driving_upload:
        raise InputError("no driving input: upload a pose video, a driving video or a keypoint file, "
                         "or choose a generated motion")
    driving = check_upload(upload_path(driving_upload), server.limits, "driving input")
    rendered = RENDERED_NAME_SUFFIX if driving.stem.lower().endswith(RENDERED_NAME_SUFFIX) else ""
    driving_copy = shutil.copyfile(driving, folder / f"driving{rendered}{driving.suffix.lower()}")
    return Path(reference_copy), Path(driving_copy)


def read_job_inputs(server: Server, folder: Path, model: str, reference_upload, driving_upload, motion: str,
                    width: int, height: int, frames: int, align: bool):
    """(reference image, poses, warnings, staged reference file, staged driving file), all checked."""
    check_size_and_frames(width, height, frames, server.limits)
    if model not in server.shelf.entries:
        raise InputError(f"unknown model {model!r}: this server has {', '.join(server.shelf.names)}")
    reference_file, driving_file = stage_inputs(server, folder, reference_upload, driving_upload, motion, frames,
                                                width, height)
    reference = load_image(reference_file)
    poses, warnings = load_driving(driving_file, server.limits, frames, width, height, reference, align)
    return reference, poses, warnings, reference_file, driving_file


def prepare_generation(server: Server, folder: Path, model: str, reference_upload, driving_upload, motion: str,
                       *fields, align: bool):
    """Everything a job needs, checked before it joins its model's line: (pipeline, reference, poses,
    warnings, settings). `fields`: width, height, frames, steps, guidance, seed, window frames, overlap."""
    names = ["width", "height", "frames", "steps", "guidance", "seed", "frames per window", "window overlap"]
    width, height, frames, steps, guidance, seed, window, overlap = (
        field_number(value, name, whole=name != "guidance") for value, name in zip(fields, names, strict=True))
    reference, poses, warnings, reference_file, driving_file = read_job_inputs(
        server, folder, model, reference_upload, driving_upload, motion, width, height, frames, align)
    pipeline = server.shelf.get(model)
    settings = Settings(model=server.shelf.entries[model].source, reference=reference_file.name,
                        pose=driving_file.name, width=width, height=height, frames=len(poses.images),
                        fps=float(poses.fps), steps=steps, guidance=guidance, seed=seed, context_frames=window,
                        context_overlap=overlap, align=align, device=str(server.shelf.device),
                        dtype=dtype_name(server.shelf.dtype))
    try:  # sizes, steps, guidance and windows, as the pipeline would check them
        pipeline.check_inputs(num_pose_frames=len(poses.images), height=height, width=width,
                              num_inference_steps=steps, guidance_scale=guidance, context_frames=window,
                              context_overlap=overlap, decode_chunk_size=8, output_type="np")
    except ValueError as error:
        raise InputError(str(error)) from None
    return pipeline, reference, poses, warnings, settings


def notes(warnings: list[str]) -> str:
    return "".join(f"\n\n⚠ {warning}" for warning in warnings)


class ResultThread(threading.Thread):
    """A thread that keeps its target's result or exception for `result()`."""

    def __init__(self, target, *args):
        super().__init__(daemon=True)
        self._call, self._value, self._error = (target, args), None, None

    def run(self) -> None:
        try:
            self._value = self._call[0](*self._call[1])
        except BaseException as error:  # noqa: BLE001 - handed to the waiting handler
            self._error = error

    def result(self):
        if self._error is not None:
            raise self._error
        return self._value


def build_app(server: Server) -> gr.Blocks:
    shelf = server.shelf
    default = shelf.entries[shelf.names[0]].defaults
    device = f"{shelf.device.type} ({dtype_name(shelf.dtype)})"

    with gr.Blocks(title="Animate Anyone", analytics_enabled=False,
                   delete_cache=(600, 3600)) as app:
        gr.Markdown("## Animate Anyone\nOne picture of a character and a sequence of poses in, a video of the "
                    f"character doing those poses out. Running on {device}.")
        with gr.Row():
            with gr.Column(scale=1):
                model = gr.Dropdown(shelf.names, value=shelf.names[0], label="Model", elem_id="model")
                reference = gr.Image(type="filepath", sources=["upload"], label="Reference image",
                                     elem_id="reference", height=260)
                gr.Examples([[str(path)] for path in example_references(server.output_dir / "examples")],
                            inputs=[reference], label="Example characters (procedural test characters, sample photos)")
                driving = gr.File(label="Driving input: a pose video (*_kps.mp4), a raw video or photo (poses are "
                                  "extracted), or a keypoint file (.npz)", elem_id="driving",
                                  file_types=[*VIDEO_SUFFIXES, *IMAGE_SUFFIXES, KEYPOINT_SUFFIX])
                pose_examples = example_pose_videos()
                if pose_examples:
                    gr.Examples([[str(path)] for path in pose_examples], inputs=[driving], label="Example pose videos")
                motion = gr.Dropdown([NO_MOTION, *MOTIONS], value=NO_MOTION, label="…or a generated motion",
                                     elem_id="motion")
                align = gr.Checkbox(True, label="Fit poses to the character (keypoint files and raw videos)",
                                    elem_id="align")
                with gr.Accordion("Options", open=False):
                    with gr.Row():
                        width = gr.Number(default.width, precision=0, step=8, label="Width (multiple of 8)",
                                          elem_id="width")
                        height = gr.Number(default.height, precision=0, step=8, label="Height (multiple of 8)",
                                           elem_id="height")
                    frames = gr.Slider(1, server.limits.max_frames, value=min(24, server.limits.max_frames), step=1,
                                       label="Frames (at most)", elem_id="frames")
                    steps = gr.Slider(1, 100, value=default.steps, step=1, label="Denoising steps", elem_id="steps")
                    guidance = gr.Slider(1.0, 10.0, value=default.guidance, step=0.1,
                                         label="Guidance (1 disables it)", elem_id="guidance")
                    seed = gr.Number(0, precision=0, label="Seed", elem_id="seed")
                    with gr.Row():
                        context_frames = gr.Slider(1, 32, value=24, step=1, label="Frames per window")
                        context_overlap = gr.Slider(0, 16, value=4, step=1, label="Window overlap")
                with gr.Row():
                    preview_button = gr.Button("Preview poses", elem_id="preview-button")
                    generate_button = gr.Button("Generate", variant="primary", elem_id="generate-button")
                    cancel_button = gr.Button("Cancel", variant="stop", elem_id="cancel-button")
            with gr.Column(scale=1):
                status = gr.Markdown("Choose a reference and a driving input, preview the poses, then generate.",
                                     elem_id="status")
                preview = gr.Video(label="Pose preview (skeletons over the reference, as the model sees them)",
                                   elem_id="preview", interactive=False, height=260)
                result = gr.Video(label="Result", elem_id="result", interactive=False, height=260)
                sheet = gr.Image(label="Contact sheet: reference | poses over generated frames", type="filepath",
                                 elem_id="sheet", interactive=False)
                downloads = gr.File(label="Download", file_count="multiple", elem_id="downloads", interactive=False)
                settings = gr.Code(label="Settings (settings.json: its command recreates the video with the CLI)",
                                   language="json", elem_id="settings", interactive=False)

        def model_defaults(name: str):
            chosen = shelf.entries[name].defaults
            return chosen.width, chosen.height, chosen.steps, chosen.guidance

        def make_preview(model_name, reference_upload, driving_upload, motion_name, width_value, height_value,
                         frame_count, align_poses):
            with page_errors("preview"), tempfile.TemporaryDirectory(prefix="preview-") as scratch:
                width_value, height_value, frame_count = (field_number(width_value, "width"),
                                                          field_number(height_value, "height"),
                                                          field_number(frame_count, "frames"))
                reference_image, poses, warnings, _, _ = read_job_inputs(
                    server, Path(scratch), model_name, reference_upload, driving_upload, motion_name,
                    width_value, height_value, frame_count, bool(align_poses))
                previews = server.output_dir / "previews"
                previews.mkdir(parents=True, exist_ok=True)
                for old in sorted(previews.glob("*.mp4"))[:-PREVIEWS_KEPT]:
                    old.unlink(missing_ok=True)
                path = previews / f"{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns()}.mp4"
                write_preview(path, reference_image, poses.images, width_value, height_value, poses.fps)
            return str(path), f"Pose preview: {len(poses.images)} frames at {poses.fps:g} fps." + notes(warnings)

        def generate(model_name, reference_upload, driving_upload, motion_name, width_value, height_value,
                     frame_count, step_count, guidance_scale, seed_value, window, overlap, align_poses,
                     request: gr.Request, progress=gr.Progress()):
            job = server.board.open(model_name, request.session_hash if request else "")
            folder = server.new_folder("jobs")
            finished, worker = False, None
            unchanged = (gr.update(),) * 4  # result, sheet, downloads, settings
            try:
                with page_errors("generation"):
                    pipeline, reference_image, poses, warnings, options = prepare_generation(
                        server, folder, model_name, reference_upload, driving_upload, motion_name, width_value,
                        height_value, frame_count, step_count, guidance_scale, seed_value, window, overlap,
                        align=bool(align_poses))
                    job.total_steps = options.steps
                for place in server.board.queues[model_name].wait_turn(job, POLL_SECONDS):
                    yield f"Waiting for {model_name}: {place} job(s) ahead of this one.", *unchanged
                if job.cancel_requested.is_set():
                    yield "Cancelled while waiting; nothing was generated.", *unchanged
                    return
                job.started = time.monotonic()
                worker = ResultThread(denoise, pipeline, job, reference_image, poses.images, options)
                worker.start()
                while worker.is_alive():
                    worker.join(POLL_SECONDS)
                    progress((job.steps_done, job.total_steps), desc=job.progress_line(), unit="steps")
                    yield f"Generating: {job.progress_line()}." + notes(warnings), *unchanged
                with page_errors("generation"):
                    video = worker.result()
                    if video is None:
                        yield (f"Cancelled after denoising step {job.steps_done} of {job.total_steps}; nothing was "
                               "kept."), *unchanged
                        return
                    files = write_results(folder, pipeline, video, reference_image, poses, options)
                finished = True
                seconds = time.monotonic() - job.started
                yield (f"Done: {len(video)} frames, {options.width}x{options.height}, {options.fps:g} fps, "
                       f"in {seconds:.1f} s." + notes(warnings),
                       str(files[0]), str(files[1]), [str(path) for path in files], options.to_json())
            finally:
                if not finished:
                    job.cancel_requested.set()  # e.g. the page was closed: stop after the current step
                    if worker is not None:
                        worker.join()
                    shutil.rmtree(folder, ignore_errors=True)
                server.board.close(job)

        def cancel(request: gr.Request):
            steps_done = server.board.cancel_session(request.session_hash if request else "")
            if not steps_done:
                return "Nothing to cancel."
            return f"Cancelling at denoising step {max(steps_done)}: the job stops after the current step."

        model.change(model_defaults, inputs=[model], outputs=[width, height, steps, guidance],
                     api_visibility="private")
        job_inputs = [model, reference, driving, motion, width, height, frames]
        preview_button.click(make_preview, inputs=[*job_inputs, align], outputs=[preview, status],
                             api_name="preview", concurrency_limit=2, preprocess=False)
        generate_button.click(generate, inputs=[*job_inputs, steps, guidance, seed, context_frames, context_overlap,
                                                align],
                              outputs=[status, result, sheet, downloads, settings], api_name="generate",
                              concurrency_limit=None,  # one job per model at a time: the model's own line
                              preprocess=False)
        cancel_button.click(cancel, outputs=[status], api_name="cancel", concurrency_limit=None)
    return app
