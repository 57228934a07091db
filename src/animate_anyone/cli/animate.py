"""`animate-anyone animate`: reference image + pose sequence -> mp4."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from animate_anyone.cli.pose import add_backend_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("animate", help="animate a reference image with a pose sequence",
                                   description="Animate a reference image with a pose sequence; writes an H.264 mp4.")
    parser.add_argument("--reference", required=True, help="reference image of the character")
    parser.add_argument("--pose", required=True,
                        help="pose input: a rendered pose video (*_kps.mp4), a folder of pose images, one pose image, "
                             "a keypoint file (.npz) or a raw driving video/photo (poses are extracted)")
    parser.add_argument("--model", required=True,
                        help="pipeline folder (save_pretrained / convert output), or 'tiny-random' for the tiny random test model")
    parser.add_argument("--output", required=True, help="output video (.mp4)")
    parser.add_argument("--no-align", dest="align", action="store_false",
                        help="do not fit extracted/keypoint poses to the reference character's body")
    add_backend_arguments(parser, flag="--pose-backend")
    parser.add_argument("--width", type=int, default=512, help="output width, a multiple of 8 (default 512)")
    parser.add_argument("--height", type=int, default=768, help="output height, a multiple of 8 (default 768)")
    parser.add_argument("--steps", type=int, default=25, help="DDIM steps (default 25)")
    parser.add_argument("--guidance", type=float, default=3.5, help="classifier-free guidance scale; 1 disables it (default 3.5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial noise (default 0)")
    parser.add_argument("--frames", type=int, default=None, help="use only the first N pose frames")
    parser.add_argument("--context-frames", type=int, default=24, help="frames per temporal window (default 24)")
    parser.add_argument("--context-overlap", type=int, default=4, help="overlap of neighbouring windows (default 4)")
    parser.add_argument("--fps", type=float, default=None, help="output frame rate (default: the pose input's)")
    parser.add_argument("--contact-sheet", default=None,
                        help="also write a PNG of reference | poses | generated frames")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default cpu)")
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"],
                        help="fp16/bf16 on GPUs; bf16 also on CPUs with AMX/AVX-512 BF16 (default fp32)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    import torch
    from diffusers.utils import logging as diffusers_logging
    from PIL import Image

    from animate_anyone.data.contact_sheet import contact_sheet
    from animate_anyone.data.video_io import load_image, save_image, write_video
    from animate_anyone.errors import InputError
    from animate_anyone.pipelines.loading import load_pipeline
    from animate_anyone.pose.sources import load_pose_sequence
    from animate_anyone.runtime import resolve_device, resolve_dtype

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()  # loading bars; the denoising bar is the pipeline's own
    output = Path(args.output)
    if output.suffix.lower() != ".mp4":
        raise InputError(f"output must be an .mp4 file, got {output}")
    for path in (output, Path(args.contact_sheet or output)):
        if not path.resolve().parent.is_dir():
            raise InputError(f"output folder does not exist: {path.resolve().parent}")
    if args.frames is not None and args.frames < 1:
        raise InputError(f"--frames must be at least 1, got {args.frames}")
    if args.fps is not None and args.fps <= 0:
        raise InputError(f"--fps must be positive, got {args.fps}")
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    reference = load_image(args.reference)
    pipeline = load_pipeline(args.model, device, dtype)
    options = dict(height=args.height, width=args.width, num_inference_steps=args.steps, guidance_scale=args.guidance,
                   context_frames=args.context_frames, context_overlap=args.context_overlap, output_type="np")
    try:  # sizes, steps, guidance and windows, checked before the (possibly long) pose extraction
        pipeline.check_inputs(num_pose_frames=1, decode_chunk_size=8, **options)
    except ValueError as error:
        raise InputError(str(error)) from None
    poses = load_pose_sequence(args.pose, max_frames=args.frames, width=args.width, height=args.height,
                               reference_image=reference, align=args.align, backend=args.backend,
                               dwpose_detector=args.dwpose_detector, dwpose_model=args.dwpose_model)
    pipeline.set_progress_bar_config(desc="denoising", file=sys.stderr)
    generator = torch.Generator(device="cpu").manual_seed(args.seed)
    frames = pipeline(reference, poses.images, generator=generator, **options).frames
    video = (np.clip(frames, 0, 1) * 255).round().astype(np.uint8)
    write_video(output, video, fps=args.fps or poses.fps)
    if args.contact_sheet:
        sheet = contact_sheet(reference, poses.images, [Image.fromarray(frame) for frame in video])
        save_image(args.contact_sheet, sheet)
        print(f"wrote {args.contact_sheet}")
    print(f"wrote {output} ({len(video)} frames, {args.width}x{args.height}, {args.fps or poses.fps:g} fps)")
