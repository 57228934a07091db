"""`make setup`'s choice of torch index (scripts/torch_index.py, the Makefile's TORCH_INDEX)."""

from __future__ import annotations

import http.server
import runpy
import socket
import threading
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "torch_index.py"
torch_index = runpy.run_path(str(SCRIPT))
pip_options = torch_index["pip_options"]
CPU_INDEX = torch_index["CPU_INDEX"]


@pytest.fixture
def local_index(tmp_path):
    """An index on localhost that has a torch/ page."""
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "index.html").write_text("<html></html>")
    handler_class = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: handler_class(*a, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_explicit_choices():
    assert pip_options("pip") == []
    assert pip_options("cpu") == ["--index-url", CPU_INDEX]
    assert pip_options("https://example.org/simple") == ["--index-url", "https://example.org/simple"]


def test_auto_takes_the_cpu_index_only_on_linux_without_gpu_when_it_answers(local_index):
    assert pip_options("auto", platform="linux", gpu=False, cpu_index=local_index) == ["--index-url", local_index]
    assert pip_options("auto", platform="linux", gpu=True, cpu_index=local_index) == []
    assert pip_options("auto", platform="darwin", gpu=False, cpu_index=local_index) == []
    assert pip_options("auto", platform="linux", gpu=False, cpu_index=closed_port_url()) == []  # offline: plain pin


def test_makefile_uses_the_choice():
    makefile = (SCRIPT.parents[1] / "Makefile").read_text()
    assert "TORCH_INDEX ?= auto" in makefile and "scripts/torch_index.py $(TORCH_INDEX)" in makefile
