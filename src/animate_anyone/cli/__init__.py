"""Command line: `animate-anyone COMMAND ...`, a thin layer over library calls.

Each command lives in its own module under `animate_anyone.cli` and exposes
`register(subparsers)`, which adds its parser and sets `func` (called with the parsed namespace; it may
return an exit code). Any `InputError` (or missing file) becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

# Modules under animate_anyone.cli that each register one command (or command group).
COMMAND_MODULES = ["demo", "animate", "batch", "convert", "evaluate", "pose", "train", "data", "verify", "ui"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="animate-anyone",
        description="Animate a character image with a pose sequence (Animate Anyone, on diffusers).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None, _default=warnings.showwarning):
    """Our own warnings as one plain line; other libraries' in Python's usual format."""
    if f"{os.sep}animate_anyone{os.sep}" in str(filename):
        print(f"animate-anyone: warning: {message}", file=sys.stderr)
    else:
        _default(message, category, filename, lineno, file, line)


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code: 0, 2 for bad input or usage, 130 when interrupted (Ctrl-C).

    Parsing imports nothing heavy (each command imports torch, diffusers or mediapipe when it runs),
    so `--help` and usage errors are immediate; an interrupt at any moment, imports included, is one
    line on stderr.
    """
    try:
        return _run(argv)
    except KeyboardInterrupt:
        print("animate-anyone: interrupted", file=sys.stderr)
        return 130


def _run(argv: list[str] | None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from animate_anyone.errors import InputError

    warnings.showwarning = _show_warning

    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except (InputError, FileNotFoundError, IsADirectoryError, PermissionError) as error:
        message = f"{error.strerror}: {error.filename}" if getattr(error, "strerror", None) else str(error)
        print(f"animate-anyone: error: {message}", file=sys.stderr)
        return 2
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
