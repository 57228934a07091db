"""Fixtures of the pose tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def media_dir(shared_dir) -> Path:
    """../shared/reference/media: real photos and DWPose-rendered pose videos."""
    return shared_dir / "reference" / "media"


@pytest.fixture
def artifact_dirs(tmp_path) -> list[Path]:
    """Where test artifacts go: tmp_path, and $ANIMATE_ANYONE_TEST_ARTIFACTS when set (kept after the run)."""
    folders = [tmp_path]
    if os.environ.get("ANIMATE_ANYONE_TEST_ARTIFACTS"):
        folders.append(Path(os.environ["ANIMATE_ANYONE_TEST_ARTIFACTS"]))
        folders[-1].mkdir(parents=True, exist_ok=True)
    return folders
