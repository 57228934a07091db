"""`animate-anyone convert`: published checkpoints -> a pipeline folder."""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert", help="convert published Animate Anyone checkpoints into a pipeline folder",
        description="Convert released Animate Anyone checkpoints (denoising_unet.pth, reference_unet.pth, "
                    "pose_guider.pth, motion_module.pth) plus an SD image-variations base folder into a "
                    "pipeline folder for `animate --model` and AnimateAnyonePipeline.from_pretrained; "
                    "or re-save a pipeline folder in another dtype (--from pipeline).")
    parser.add_argument("checkpoint_dir", help="folder with the four released .pth files (--from pipeline: a pipeline folder)")
    parser.add_argument("--from", dest="flavour", choices=["moore", "musepose", "pipeline"], default="moore",
                        help="release layout: moore (Moore-AnimateAnyone, 32 motion positions), musepose (128), "
                             "or pipeline (one of ours, e.g. a training checkpoint's pipeline/)")
    parser.add_argument("--base", help="SD image-variations folder (unet/config.json, vae/, image_encoder/); "
                                       "required for moore and musepose")
    parser.add_argument("--vae", default=None, help="VAE folder instead of BASE/vae (e.g. sd-vae-ft-mse), or instead "
                                                   "of the pipeline's (--from pipeline: same latent scale required)")
    parser.add_argument("--image-encoder", default=None, help="CLIP image encoder folder instead of BASE/image_encoder")
    parser.add_argument("--dtype", choices=["fp32", "fp16", "bf16"], default="fp32", help="dtype of the saved weights")
    parser.add_argument("--output", required=True, help="new pipeline folder (must not exist)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    import torch
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    from animate_anyone.convert import check_new_folder, release_components, write_pipeline_folder
    from animate_anyone.errors import InputError
    from animate_anyone.pipelines.loading import (
        DEFAULTS_FILE,
        PUBLISHED_DEFAULTS,
        generation_defaults,
        load_pipeline,
        model_folder,
    )
    from animate_anyone.pipelines.folder_offload import components_one_at_a_time
    from animate_anyone.pipelines.schedulers import scheduler_for_animate_anyone
    from animate_anyone.runtime import DTYPES

    diffusers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    check_new_folder(args.output)
    defaults = PUBLISHED_DEFAULTS
    if args.flavour == "pipeline":  # the folder's own defaults go along, if it has any
        source = model_folder(args.checkpoint_dir)
        defaults = generation_defaults(source) if source and (source / DEFAULTS_FILE).is_file() else None
        # one model in memory at a time: each reads its weights when the writer takes it
        pipeline = load_pipeline(args.checkpoint_dir, torch.device("cpu"), DTYPES[args.dtype], weights_on_demand=True)
        if args.vae is not None:
            pipeline.register_modules(vae=replacement_vae(Path(args.vae), pipeline.vae.config.scaling_factor))
        components = components_one_at_a_time(pipeline)
    elif args.base is None:
        raise InputError(f"--from {args.flavour} needs --base (the SD image-variations folder)")
    else:  # one component in memory at a time
        components = itertools.chain(
            release_components(args.checkpoint_dir, args.base, vae_dir=args.vae, image_encoder_dir=args.image_encoder,
                               flavour=args.flavour),
            [("scheduler", scheduler_for_animate_anyone())])
    write_pipeline_folder(components, args.output, dtype=DTYPES[args.dtype], generation_defaults=defaults)
    print(f"wrote {args.output}")


def replacement_vae(path: Path, scaling_factor: float):
    """The VAE at `path`, refused unless its latents are scaled as the pipeline's (a decoder fine-tune)."""
    from diffusers import AutoencoderKL

    from animate_anyone.errors import InputError
    from animate_anyone.training.initialisation import from_pretrained_folder

    vae = from_pretrained_folder(AutoencoderKL, path, "VAE")
    if vae.config.scaling_factor != scaling_factor:
        raise InputError(f"the VAE at {path} has scaling_factor {vae.config.scaling_factor}, the pipeline's is "
                         f"{scaling_factor}: its latent space differs (only a decoder fine-tune can replace it)")
    return vae
