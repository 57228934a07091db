"""`animate-anyone animate`: reference image + pose sequence -> mp4."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from animate_anyone.cli.outputs import output_file
from animate_anyone.cli.pose import add_backend_arguments

CONTACT_SHEET_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("animate", help="animate a reference image with a pose sequence",
                                   description="Animate a reference image with a pose sequence; writes an H.264 mp4.")
    parser.add_argument("--reference", required=True, help="reference image of the character")
    parser.add_argument("--pose", required=True,
                        help="pose input: a rendered pose video (*_kps.mp4), a folder of pose images, one pose image, "
                             "a keypoint file (.npz) or a raw driving video/photo (poses are extracted)")
    parser.add_argument("--model", default=None,
                        help="pipeline folder (save_pretrained / convert output), 'tiny-random' for the tiny random "
                             "test model (default: tiny128, the model shipped in the package)")
    parser.add_argument("--output", required=True, help="output video (.mp4)")
    add_clip_arguments(parser)
    parser.add_argument("--contact-sheet", default=None,
                        help="also write a PNG of reference | poses | generated frames")
    add_generation_arguments(parser)
    add_parallel_argument(parser)
    parser.set_defaults(func=run)


def add_parallel_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parallel", choices=["none", "windows"], default="none",
                        help="windows: under `accelerate launch`, the processes share every denoising step's "
                             "temporal windows (one long video on N GPUs; the main process writes it); "
                             "docs/scale.md (default none)")


def add_clip_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `animate` and `batch` share for the video's size, length and frame rate."""
    parser.add_argument("--width", type=int, default=None,
                        help="output width, a multiple of 8 (default: the model's; 128 for the shipped model)")
    parser.add_argument("--height", type=int, default=None,
                        help="output height, a multiple of 8 (default: the model's; 128 for the shipped model)")
    parser.add_argument("--frames", type=int, default=None,
                        help="use the first N pose frames; one pose image is held for N frames "
                             "(default: every pose frame)")
    parser.add_argument("--fps", type=float, default=None, help="output frame rate (default: the pose input's)")


def add_generation_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `animate` and `demo` share: pose fitting, sampling, temporal windows, device.
    Steps and guidance left unset take the model's defaults (`apply_model_defaults`)."""
    parser.add_argument("--no-align", dest="align", action="store_false",
                        help="do not fit extracted/keypoint poses to the reference character's body")
    add_backend_arguments(parser, flag="--pose-backend")
    parser.add_argument("--steps", type=int, default=None,
                        help="denoising steps (default: the model's, 8 for the shipped and converted models, "
                             "else 25)")
    parser.add_argument("--scheduler", default=None, metavar="NAME",
                        help="sampler: ddim, dpm++2m, unipc or euler, on the model's own noise schedule "
                             "(default: the model's, unipc for the shipped and converted models, else the "
                             "scheduler saved in the model folder)")
    parser.add_argument("--guidance", type=float, default=None,
                        help="classifier-free guidance scale; 1 disables it "
                             "(default: the model's, 2.0 for the shipped model, else 3.5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial noise (default 0)")
    parser.add_argument("--low-memory", action=argparse.BooleanOptionalAction, default=None,
                        help="hold each model's weights only while it runs, reading them from the model folder "
                             "when needed: same output, about half the peak memory of a full-size model, and in "
                             "a one-video process no slower (docs/benchmarks.md). Default: on for a model folder "
                             "on the CPU")
    parser.add_argument("--deep-cache", type=int, default=1, metavar="N",
                        help="reuse the denoising UNet's deep features across steps (DeepCache): the whole UNet "
                             "every N-th step, only its outermost blocks in between; changes the output a little "
                             "(docs/benchmarks.md). Default 1: off")
    parser.add_argument("--vae-tiling", action="store_true",
                        help="decode each frame in overlapping tiles (diffusers' VAE tiling): bounds the decoder's "
                             "memory at large sizes; blends the tile seams, so it changes the "
                             "frames a little (docs/benchmarks.md)")
    parser.add_argument("--compile", action="store_true",
                        help="compile the denoising UNet with torch.compile: the first step waits for the "
                             "compilation (on a 2-core CPU, 125 s for the shipped model, whose later calls then "
                             "take 0.85x the time: it pays in long-lived processes; docs/benchmarks.md)")
    parser.add_argument("--context-frames", type=int, default=24, help="frames per temporal window (default 24)")
    parser.add_argument("--context-overlap", type=int, default=4, help="overlap of neighbouring windows (default 4)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default cpu)")
    parser.add_argument("--dtype", default="auto", choices=["auto", "fp32", "fp16", "bf16"],
                        help="fp16/bf16 on GPUs; bf16 also on CPUs with AMX/AVX-512 BF16; auto: fp16 on CUDA, bf16 on "
                             "CPUs with native bf16, else fp32 (default auto)")
    add_output_arguments(parser)


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """What the written video carries besides its frames (docs/provenance.md)."""
    parser.add_argument("--no-watermark", dest="watermark", action="store_false",
                        help="do not embed the invisible watermark; the video then cannot be recognised as generated "
                             "once its label and C2PA manifest are stripped (by re-encoding, for example)")
    parser.add_argument("--no-audio", dest="audio", action="store_false",
                        help="drop the driving video's sound (kept by default when --pose is a raw video with sound)")
    parser.add_argument("--c2pa-cert", default=None,
                        help="sign a C2PA manifest into the video with this certificate chain (PEM, signing "
                             "certificate first); needs --c2pa-key")
    parser.add_argument("--c2pa-key", default=None, help="the private key (PEM) of --c2pa-cert")


def load_signing(args: argparse.Namespace) -> None:
    """Read --c2pa-cert/--c2pa-key into `args.signing` (None without them), before any long work."""
    from animate_anyone.errors import InputError
    from animate_anyone.provenance import load_signing_credentials

    if (args.c2pa_cert is None) != (args.c2pa_key is None):
        raise InputError("--c2pa-cert and --c2pa-key go together")
    args.signing = None if args.c2pa_cert is None else load_signing_credentials(args.c2pa_cert, args.c2pa_key)


def run(args: argparse.Namespace) -> None:
    from animate_anyone.data.video_io import load_image

    output_file(args.output, (".mp4",))
    if args.contact_sheet:
        output_file(args.contact_sheet, CONTACT_SHEET_SUFFIXES, "--contact-sheet")
    check_clip_options(args)
    load_signing(args)
    width, height = apply_model_defaults(args)
    reference = load_image(args.reference)
    if args.parallel == "windows":
        from animate_anyone.distributed import process_device, process_state

        args.device = process_device(args.device, process_state())
    pipeline = load_checked_pipeline(args, width, height)
    animate_to_file(pipeline, args, reference, width, height)


def check_clip_options(args: argparse.Namespace) -> None:
    from animate_anyone.errors import InputError

    if args.frames is not None and args.frames < 1:
        raise InputError(f"--frames must be at least 1, got {args.frames}")
    if args.fps is not None and args.fps <= 0:
        raise InputError(f"--fps must be positive, got {args.fps}")


def animate_to_file(pipeline, args: argparse.Namespace, reference, width: int, height: int) -> np.ndarray | None:
    """`animate`'s work once its options are checked and its pipeline loaded (`batch` runs each job
    through it): load `args.pose` for `reference`, animate, write `args.output` (and `args.contact_sheet`)."""
    from animate_anyone.pose.sources import load_pose_sequence

    warn_if_unlike_shipped_model(args.model, reference)
    poses = load_pose_sequence(args.pose, max_frames=args.frames, width=width, height=height,
                               reference_image=reference, align=args.align, backend=args.backend,
                               dwpose_detector=args.dwpose_detector, dwpose_model=args.dwpose_model)
    return generate_and_write(pipeline, args, reference, fit_to_frames(poses.images, args.frames), width, height,
                              Path(args.output), args.contact_sheet, fps=args.fps or poses.fps,
                              driving_video=poses.driving_video)


def fit_to_frames(poses: list, frames: int | None) -> list:
    """The pose images for `--frames N`: one pose image is held for N frames; an input with more frames
    was cut to N when read; one with fewer (but more than one) is used whole, and a warning says so."""
    import warnings

    if frames is None or len(poses) >= frames:
        return poses
    if len(poses) == 1:
        return poses * frames
    warnings.warn(f"--frames {frames}: the pose input has only {len(poses)} frames; animating those {len(poses)}",
                  stacklevel=2)
    return poses


def apply_model_defaults(args: argparse.Namespace) -> tuple[int, int]:
    """Set `args.steps`, `args.guidance` and `args.scheduler` left unset to the model's defaults (its
    folder's generation_defaults.json, else the built-in ones); the (width, height) to generate at."""
    from animate_anyone.pipelines.loading import generation_defaults

    defaults = generation_defaults(args.model)
    if args.steps is None:
        args.steps = defaults["num_inference_steps"]
    if args.guidance is None:
        args.guidance = defaults["guidance_scale"]
    if args.scheduler is None:
        args.scheduler = defaults["scheduler"]  # None: the folder's own scheduler
    width, height = getattr(args, "width", None), getattr(args, "height", None)
    return (defaults["width"] if width is None else width), (defaults["height"] if height is None else height)


def warn_if_unlike_shipped_model(model: str | None, reference) -> None:
    """One warning line when the shipped model is given a reference unlike its procedural characters."""
    import warnings

    from animate_anyone.pipelines.loading import SHIPPED_MODEL, SHIPPED_MODEL_DIR, model_folder
    from animate_anyone.pipelines.shipped_model_inputs import unlike_training_data

    reason = unlike_training_data(reference) if model_folder(model) == SHIPPED_MODEL_DIR else None
    if reason:
        warnings.warn(f"the shipped {SHIPPED_MODEL} model knows only procedural characters and this reference is "
                      f"unlike them ({reason}): expect a blur. For real characters give --model a pipeline folder "
                      "made by `animate-anyone convert` from published weights (README: Use the weights you have)",
                      stacklevel=2)


def load_checked_pipeline(args: argparse.Namespace, width: int, height: int):
    """The pipeline of `args.model` on `args.device`/`args.dtype`, its generation options checked."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    from animate_anyone.pipelines.loading import load_pipeline
    from animate_anyone.pipelines.schedulers import scheduler_entry, scheduler_named
    from animate_anyone.runtime import resolve_device, resolve_dtype, use_channels_last

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()  # loading bars; the denoising bar is the pipeline's own
    transformers_logging.disable_progress_bar()
    device = resolve_device(args.device)
    if args.scheduler is not None:
        scheduler_entry(args.scheduler)  # an unknown name fails before the (possibly long) loading
    pipeline = load_pipeline(args.model, device, resolve_dtype(args.dtype, device),
                             weights_on_demand=weights_on_demand(args, device))
    if args.scheduler is not None:
        pipeline.register_modules(scheduler=scheduler_named(args.scheduler, pipeline.scheduler))
    if device.type == "cpu":
        use_channels_last(pipeline)
    if getattr(args, "vae_tiling", False):
        pipeline.vae.enable_tiling()
    if getattr(args, "compile", False):
        pipeline.unet.compile()  # in place: the module, its hooks and its blocks stay as they are
    check_generation_options(pipeline, args, width, height)
    return pipeline


def weights_on_demand(args: argparse.Namespace, device) -> bool:
    """`--low-memory`, or where it is left unset, whether the model can have it: a model folder (not
    `tiny-random`) on the CPU."""
    from animate_anyone.pipelines.loading import model_folder

    if args.low_memory is not None:
        return args.low_memory
    return device.type == "cpu" and model_folder(args.model) is not None


def check_generation_options(pipeline, args: argparse.Namespace, width: int, height: int) -> None:
    """Sizes, steps, guidance and windows against `pipeline`, before the (possibly long) pose loading."""
    from animate_anyone.errors import InputError

    factor = pipeline.vae_scale_factor
    if width < factor or height < factor or width % factor or height % factor:
        raise InputError(f"--width and --height must be positive multiples of {factor}, "
                         f"got {width}x{height} (width x height)")
    try:
        pipeline.check_inputs(num_pose_frames=1, decode_chunk_size=8, **generation_options(args, width, height))
    except ValueError as error:
        raise InputError(str(error)) from None


def generation_options(args: argparse.Namespace, width: int, height: int) -> dict:
    return dict(height=height, width=width, num_inference_steps=args.steps, guidance_scale=args.guidance,
                context_frames=args.context_frames, context_overlap=args.context_overlap, output_type="np",
                deep_cache_interval=deep_cache_interval(args))


def deep_cache_interval(args: argparse.Namespace) -> int:
    """`--deep-cache`; 1 (off) for settings without it (the web UI's)."""
    return getattr(args, "deep_cache", 1)


def generate_and_write(pipeline, args: argparse.Namespace, reference, poses: list, width: int, height: int,
                       output: Path, contact_sheet_path: str | Path | None, fps: float,
                       driving_video: Path | None = None) -> np.ndarray | None:
    """Animate `reference` with `poses`; write the mp4 (marked, labelled, signed when asked, with the sound
    of `driving_video`, whose first frames the poses came from) and the contact sheet; the frames, uint8.
    With `--parallel windows`, the processes denoise together and only the main one decodes and writes
    (the others return None)."""
    import numpy as np
    import torch
    from PIL import Image

    from animate_anyone.data.contact_sheet import contact_sheet
    from animate_anyone.data.video_io import save_image
    from animate_anyone.errors import InputError
    from animate_anyone.provenance import write_generated_video

    options = generation_options(args, width, height)
    window_sharing = None
    if getattr(args, "parallel", "none") == "windows":
        from animate_anyone.distributed import WindowSharing, process_state

        window_sharing = WindowSharing(process_state())
        if not window_sharing.is_writer:
            options["output_type"] = "latent"
    pipeline.set_progress_bar_config(desc="denoising", file=sys.stderr)
    generator = torch.Generator(device="cpu").manual_seed(args.seed)
    try:
        frames = pipeline(reference, poses, generator=generator, window_sharing=window_sharing, **options).frames[0]
    except ValueError as error:  # the pipeline's refusals (input or attention setup): one line, exit code 2
        raise InputError(str(error)) from None
    if window_sharing is not None and not window_sharing.is_writer:
        return None
    video = (np.clip(frames, 0, 1) * 255).round().astype(np.uint8)
    audio = driving_audio(driving_video, len(video), fps) if driving_video is not None and args.audio else None
    write_generated_video(output, video, fps, output_label(pipeline, args, video.shape, fps), watermark=args.watermark,
                          audio=audio, signing=args.signing)
    if contact_sheet_path:
        sheet = contact_sheet(reference, poses, [Image.fromarray(frame) for frame in video])
        save_image(contact_sheet_path, sheet)
        print(f"wrote {contact_sheet_path}")
    carries = ["labelled AI-generated"] + ["watermarked"] * args.watermark + ["C2PA-signed"] * (args.signing is not None)
    carries += ["with the driving video's sound"] * (audio is not None)
    print(f"wrote {output} ({len(video)} frames, {width}x{height}, {fps:g} fps; {', '.join(carries)})")
    return video


def output_label(pipeline, args: argparse.Namespace, shape: tuple, fps: float):
    """The label of a video generated with `args` (model, seed and the settings that shape the frames)."""
    from animate_anyone.provenance import Label
    from animate_anyone.provenance.label import model_identity
    from animate_anyone.runtime import dtype_name

    name, sha256 = model_identity(args.model, pipeline)
    # the dtype it ran in, not `auto`: the label says how to make these frames again on another machine
    settings = dict(frames=shape[0], height=shape[1], width=shape[2], fps=round(fps, 3), steps=args.steps,
                    guidance=args.guidance, scheduler=args.scheduler or type(pipeline.scheduler).__name__,
                    context_frames=args.context_frames,
                    context_overlap=args.context_overlap, dtype=dtype_name(pipeline.dtype), align=args.align)
    if deep_cache_interval(args) > 1:  # recorded only when used: it changes the frames
        settings["deep_cache"] = deep_cache_interval(args)
    if getattr(args, "vae_tiling", False):  # likewise
        settings["vae_tiling"] = True
    return Label(name, sha256, args.seed, settings)


def driving_audio(driving_video: Path, num_frames: int, fps: float):
    """The sound of the first `num_frames` frames of `driving_video`, or None (no sound, or --fps changed
    the timing, which would put picture and sound out of step)."""
    import warnings

    from animate_anyone.data.audio import read_driving_audio
    from animate_anyone.data.video_io import video_info

    source_fps = video_info(driving_video).fps
    if abs(source_fps - fps) > 1e-3 * source_fps:
        warnings.warn(f"the driving video's sound is dropped: the output plays at {fps:g} fps, "
                      f"the driving video at {source_fps:g}", stacklevel=2)
        return None
    return read_driving_audio(driving_video, num_frames, source_fps)
