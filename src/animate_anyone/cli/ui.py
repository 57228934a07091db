"""`animate-anyone ui`: the web page for animating (Gradio), on this machine."""

from __future__ import annotations

import argparse

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7860


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ui", help="a web page for animating (needs the ui extra: pip install 'animate_anyone[ui]')",
        description="Serve a web page for animating: reference image and driving input in, pose preview, "
                    "queued generation with progress and cancel, video, contact sheet and settings out.")
    parser.add_argument("--model", action="append", default=None, metavar="DIR",
                        help="a pipeline folder to offer (repeat for several; 'tiny-random' for the untrained test "
                             "model); default: the shipped tiny128 model")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}: this computer only). --host 0.0.0.0 "
                             "exposes the page, its uploads and results, and this machine's compute to every network "
                             "this machine is on, without a password")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--max-frames", type=int, default=120, help="most frames one job may ask for (default 120)")
    parser.add_argument("--max-upload-mb", type=float, default=50,
                        help="largest upload accepted, in MB (default 50)")
    parser.add_argument("--output", default=None, metavar="DIR",
                        help="keep every job's folder (inputs, video, contact sheet, settings.json) here "
                             "(default: a temporary folder, deleted when the server stops)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from animate_anyone.errors import InputError
    from animate_anyone.pipelines.loading import SHIPPED_MODEL

    try:
        from animate_anyone.ui.server import serve
    except ImportError as error:
        raise InputError(f"the web UI needs the ui extra (pip install 'animate_anyone[ui]'): {error}") from None
    serve(args.model or [SHIPPED_MODEL], args.host, args.port, args.max_frames, args.max_upload_mb, args.output)
