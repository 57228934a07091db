"""Fixtures for the evaluation tests: random weights saved in each published file's layout."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def published_state_dicts() -> dict[str, dict]:
    """Random weights for every network, arranged as the published files are (seeded)."""
    from animate_anyone.eval.i3d import I3D
    from animate_anyone.eval.inception import FIDInception
    from animate_anyone.eval.lpips import LPIPS
    from animate_anyone.eval.resnet3d import ResNet3D50

    torch.manual_seed(0)
    files = {}
    for net, backbone in (("alex", "alexnet"), ("vgg", "vgg16")):
        model = LPIPS(net)
        for k in range(5):  # published linear weights are non-negative
            getattr(model, f"lin{k}").model[1].weight.data.uniform_(0, 0.1)
        state = model.state_dict()
        # torchvision files carry a classifier head too (shrunk here: its shape is not checked).
        files[backbone] = {**{k: v for k, v in state.items() if k.startswith("features.")},
                           "classifier.1.weight": torch.zeros(2, 2)}
        files[f"lpips_{net}"] = {k: v for k, v in state.items() if k.startswith("lin")}
    files["inception"] = {**FIDInception().state_dict(), "fc.weight": torch.zeros(1008, 2048), "fc.bias": torch.zeros(1008)}
    files["i3d"] = I3D().state_dict()
    resnet = {f"module.{k}": v for k, v in ResNet3D50().state_dict().items()}
    files["resnet3d"] = {"state_dict": {**resnet, "module.fc.weight": torch.zeros(400, 2048), "module.fc.bias": torch.zeros(400)},
                         "epoch": 200, "arch": "resnet-50"}
    return files


@pytest.fixture(scope="session")
def random_weights_dir(tmp_path_factory):
    """A --weights-dir holding every published file name, filled with seeded random weights."""
    from animate_anyone.eval.weights import WEIGHT_FILES

    folder = tmp_path_factory.mktemp("weights")
    for network, state in published_state_dicts().items():
        torch.save(state, folder / WEIGHT_FILES[network])
    return folder
