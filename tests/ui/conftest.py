"""A real `animate-anyone ui` server for the tests of this folder, on a free loopback port, with the tiny
random model; and where the tests leave their artifacts (screenshots, the browser test's marker)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ANIMATE_ANYONE_TEST_ARTIFACTS", REPO_ROOT / "outputs" / "test-artifacts"))
START_TIMEOUT = 180  # seconds for the first page (imports on a busy 2-core machine)

pytest.importorskip("gradio_client", reason="the web UI tests need the ui extra")


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory):
    """(url, output folder) of a server started for these tests (tiny random model, 5 MB uploads, 48 frames)."""
    from animate_anyone.ui.child_server import ui_child

    output = tmp_path_factory.mktemp("ui-output")
    log = tmp_path_factory.mktemp("ui-log") / "server.log"
    options = ["--model", "tiny-random", "--max-frames", "48", "--max-upload-mb", "5", "--output", str(output)]
    with ui_child(options, log, timeout=START_TIMEOUT) as server:
        yield server.url, output


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
