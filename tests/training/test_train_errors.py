"""Bad input and a diverging run stop with one clear message."""

from __future__ import annotations

import pytest
import torch
from training_helpers import CONFIGS, tiny_config

from animate_anyone.cli import main
from animate_anyone.errors import InputError
from animate_anyone.training import checkpointing, train as train_module
from animate_anyone.training.config import load_config
from animate_anyone.training.run import train
from animate_anyone.training.train import TrainingDivergedError


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tiny_dataset, tmp_path, monkeypatch):
    calls = []

    def loss_that_diverges(prediction, target, weights):
        calls.append(1)
        loss = torch.nn.functional.mse_loss(prediction.float(), target.float())
        return loss * float("nan") if len(calls) >= 4 else loss

    monkeypatch.setattr(train_module, "diffusion_loss", loss_that_diverges)
    run = tmp_path / "run"
    with pytest.raises(TrainingDivergedError, match="not finite at step 4.*checkpoint-0000002"):
        train(tiny_config(1, tiny_dataset, run, "training.max_steps=6", "checkpointing.every_steps=2"))
    assert [step for step, _ in checkpointing.list_checkpoints(run)] == [2]
    assert (checkpointing.checkpoint_path(run, 2) / "pipeline" / "model_index.json").is_file()


def test_config_errors_name_the_key(tmp_path, capsys):
    with pytest.raises(InputError, match="training.learning_rat"):
        load_config(CONFIGS / "tiny-stage1.yaml", ["training.learning_rat=1"])
    with pytest.raises(InputError, match="key=value"):
        load_config(CONFIGS / "tiny-stage1.yaml", ["training.max_steps"])
    assert load_config(CONFIGS / "stage1.yaml", ["training.mixed_precision=no"]).training.mixed_precision == "no"
    with pytest.raises(InputError, match="stage must be 1, 2 or vae"):
        load_config(CONFIGS / "tiny-stage1.yaml", ["stage=3"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  max_step: 10\n")
    assert main(["train", "--config", str(bad)]) == 2
    assert "training.max_step" in capsys.readouterr().err
    assert main(["train", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_every_shipped_config_loads(capsys):
    for path in sorted(CONFIGS.glob("*.yaml")):
        load_config(path)
    assert main(["train", "--config", str(CONFIGS / "tiny-stage1.yaml"), "--print-config", "seed=7"]) == 0
    assert "seed: 7" in capsys.readouterr().out


def test_empty_dataset_is_a_clear_cli_error(tmp_path, capsys):
    (tmp_path / "meta.json").write_text("[]")
    code = main(["train", "--config", str(CONFIGS / "tiny-stage1.yaml"), f"data.root={tmp_path}",
                 f"output_dir={tmp_path / 'run'}"])
    assert code == 2 and "is empty" in capsys.readouterr().err
