"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


def pytest_sessionstart(session) -> None:
    """The CPU on the run's first line, `-q` too: oneDNN's kernels, and so the last bits of results, depend on it."""
    from animate_anyone.runtime import cpu_summary

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"cpu: {cpu_summary()}")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the checkout (CI clones the repo with shared/ beside it)."""
    if not SHARED_DIR.is_dir():
        pytest.fail(f"../shared not found at {SHARED_DIR}: the tests need the reference material")
    return SHARED_DIR
