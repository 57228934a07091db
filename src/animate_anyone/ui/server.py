"""Start the web UI: models on this machine's best device, the page on a local port, nothing sent out.

No share link, no analytics, nothing from a CDN (Gradio's default theme serves its fonts and every
script from the installed package). Models load in the background once the page is up, and stay
loaded; a job that needs a model before then waits for it.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

from animate_anyone.errors import InputError
from animate_anyone.runtime import dtype_name, machine_device_and_dtype
from animate_anyone.ui.inputs import Limits
from animate_anyone.ui.jobs import JobBoard
from animate_anyone.ui.models import ModelShelf


def serve(models: list[str], host: str, port: int, max_frames: int, max_upload_mb: float,
          output_dir: str | None) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM); a temporary output folder is removed then."""
    if max_frames < 1:
        raise InputError(f"--max-frames must be at least 1, got {max_frames}")
    if max_upload_mb <= 0:
        raise InputError(f"--max-upload-mb must be positive, got {max_upload_mb}")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from animate_anyone.ui.app import Server, build_app

    device, dtype = machine_device_and_dtype()
    shelf = ModelShelf(models, device, dtype)
    shelf.check_folders()
    keep = output_dir is not None
    folder = Path(output_dir) if keep else Path(tempfile.mkdtemp(prefix="animate-anyone-ui-"))
    folder.mkdir(parents=True, exist_ok=True)
    server = Server(shelf, JobBoard(shelf.names), Limits(int(max_upload_mb * 2**20), max_frames), folder)
    app = None
    try:
        app = build_app(server)
        try:
            _, url, _ = app.queue().launch(
                server_name=host, server_port=port, share=False, max_file_size=f"{max_upload_mb:g}mb",
                allowed_paths=[str(folder)], ssr_mode=False, inbrowser=False, prevent_thread_lock=True,
                quiet=True, show_error=True)
        except OSError as error:
            raise InputError(f"cannot serve on {host}:{port}: {error}") from None
        threading.Thread(target=_warm_up, args=(shelf,), daemon=True).start()
        print(f"animate-anyone ui: serving {url} (models: {', '.join(shelf.names)}; {device.type}, "
              f"{dtype_name(dtype)}; results in {folder}{'' if keep else ', temporary'}); Ctrl-C stops it",
              file=sys.stderr, flush=True)
        if threading.current_thread() is threading.main_thread():  # SIGTERM stops it as Ctrl-C does, cleanly
            signal.signal(signal.SIGTERM, _interrupt)
        app.block_thread()
    finally:
        if app is not None:
            app.close()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _warm_up(shelf: ModelShelf) -> None:
    for name in shelf.names:
        try:
            shelf.get(name)
        except InputError as error:  # reported again, on the page, to whoever picks this model
            print(f"animate-anyone ui: warning: model {name} did not load: {error}", file=sys.stderr, flush=True)
