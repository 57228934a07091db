"""The training modules depend on each other one way: run -> vae -> train, never back."""

from __future__ import annotations

import ast
from pathlib import Path

import animate_anyone.training as training

TRAINING = Path(training.__file__).parent


def imported_training_modules(name: str) -> set[str]:
    """The `animate_anyone.training.*` modules `training/<name>.py` imports, anywhere in the file."""
    tree = ast.parse((TRAINING / f"{name}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("animate_anyone.training"):
            module = node.module.removeprefix("animate_anyone.training").lstrip(".")
            found |= {module} if module else {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name.removeprefix("animate_anyone.training.") for alias in node.names
                      if alias.name.startswith("animate_anyone.training.")}
    return found


def test_trainer_does_not_import_the_vae_stage_or_the_entry_point():
    assert imported_training_modules("train").isdisjoint({"vae", "run"})
    assert "run" not in imported_training_modules("vae")
    assert {"train", "vae"} <= imported_training_modules("run")
