"""`animate-anyone train`: stage 1 or 2 from a YAML config (under `accelerate launch` for many processes)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train the VAE, stage 1 (images) or stage 2 (motion modules) from a config",
        description="Train from a YAML config (configs/*.yaml) with key=value overrides, e.g. "
                    "`animate-anyone train --config configs/tiny-stage1.yaml training.max_steps=50`. "
                    "Several processes / GPUs / nodes: `accelerate launch [options] -m animate_anyone.cli train ...`.")
    parser.add_argument("--config", required=True, help="YAML config (see configs/)")
    parser.add_argument("--resume", default=None,
                        help="'latest' (the newest checkpoint in output_dir; a new run if there is none) "
                             "or a checkpoint folder")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="config overrides, e.g. training.max_steps=100 data.root=DATASET_DIR")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    from animate_anyone.errors import InputError
    from animate_anyone.training.config import config_to_yaml, load_config

    config = load_config(args.config, args.overrides)
    if args.print_config:
        print(config_to_yaml(config), end="")
        return
    from animate_anyone.training.run import train
    from animate_anyone.training.train import TrainingDivergedError

    diffusers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    try:
        result = train(config, resume=args.resume)
    except TrainingDivergedError as error:
        raise InputError(str(error)) from None
    if result.is_main_process:
        print(f"trained to step {result.step}; checkpoint: {result.last_checkpoint}")
