"""A real `animate-anyone ui` server for the tests of this folder, on a free loopback port, with the tiny
random model; and where the tests leave their artifacts (screenshots, the browser test's marker)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ANIMATE_ANYONE_TEST_ARTIFACTS", REPO_ROOT / "outputs" / "test-artifacts"))
START_TIMEOUT = 120  # seconds for the server to answer (imports and the first page, on a busy 2-core machine)

pytest.importorskip("gradio_client", reason="the web UI tests need the ui extra")


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_page(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"no page at {url} after {timeout} s")


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory):
    """(url, output folder) of a server started for these tests; stopped (and checked healthy) at the end."""
    output = tmp_path_factory.mktemp("ui-output")
    port = free_loopback_port()
    log = (tmp_path_factory.mktemp("ui-log") / "server.log").open("w+")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen(
        [sys.executable, "-m", "animate_anyone.cli", "ui", "--model", "tiny-random", "--host", "127.0.0.1",
         "--port", str(port), "--max-frames", "48", "--max-upload-mb", "5", "--output", str(output)],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_page(url, process, START_TIMEOUT)
        yield url, output
        assert process.poll() is None, "the server died during the tests"
    except BaseException:
        log.seek(0)
        print(log.read()[-5000:], file=sys.stderr)
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
