"""Feature networks: published key layouts, random-weight forward passes, strict and safe loading."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from animate_anyone.errors import InputError
from animate_anyone.eval.i3d import I3D, load_i3d
from animate_anyone.eval.inception import FIDInception, load_fid_inception
from animate_anyone.eval.lpips import LPIPS, load_lpips
from animate_anyone.eval.resnet3d import ResNet3D50, load_resnet3d
from animate_anyone.eval.weights import WEIGHT_FILES, load_strict, weight_path


def shapes(module: torch.nn.Module) -> dict[str, tuple]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def test_lpips_key_layout_matches_torchvision_and_lpips_files():
    alex, vgg = shapes(LPIPS("alex")), shapes(LPIPS("vgg"))
    assert alex["features.0.weight"] == (64, 3, 11, 11) and alex["features.10.weight"] == (256, 256, 3, 3)
    assert [alex[f"lin{k}.model.1.weight"] for k in range(5)] == [(1, c, 1, 1) for c in (64, 192, 384, 256, 256)]
    assert len(alex) == 10 + 5
    assert vgg["features.28.weight"] == (512, 512, 3, 3) and len(vgg) == 26 + 5  # 13 convs of VGG-16
    assert [vgg[f"lin{k}.model.1.weight"] for k in range(5)] == [(1, c, 1, 1) for c in (64, 128, 256, 512, 512)]


def test_inception_key_layout_matches_pytorch_fid():
    s = shapes(FIDInception())
    assert s["Conv2d_1a_3x3.conv.weight"] == (32, 3, 3, 3)
    assert s["Mixed_5b.branch_pool.conv.weight"] == (32, 192, 1, 1)
    assert s["Mixed_6e.branch7x7dbl_5.conv.weight"] == (192, 192, 1, 7)
    assert s["Mixed_7a.branch3x3_2.conv.weight"] == (320, 192, 3, 3)
    assert s["Mixed_7c.branch3x3dbl_3b.bn.running_var"] == (384,)
    # torchvision's Inception-v3 has 27,161,264 parameters; less fc (2,049,000) and AuxLogits (3,326,696):
    assert sum(v.numel() for v in FIDInception().parameters()) == 27_161_264 - 2_049_000 - 3_326_696


def test_i3d_and_resnet3d_key_layouts():
    i3d = shapes(I3D())
    assert i3d["Conv3d_1a_7x7.conv3d.weight"] == (64, 3, 7, 7, 7)
    assert i3d["Mixed_4f.b1b.conv3d.weight"] == (320, 160, 3, 3, 3)
    assert i3d["logits.conv3d.weight"] == (400, 1024, 1, 1, 1) and i3d["logits.conv3d.bias"] == (400,)
    assert not any(k.startswith("logits.bn") for k in i3d)
    resnet = shapes(ResNet3D50())
    assert resnet["conv1.weight"] == (64, 3, 7, 7, 7)
    assert resnet["layer1.0.downsample.0.weight"] == (256, 64, 1, 1, 1)
    assert resnet["layer4.2.bn3.running_var"] == (2048,) and "layer4.2.downsample.0.weight" not in resnet
    assert sum(1 for k in resnet if k.endswith("conv1.weight")) == 1 + 16  # stem + 16 bottlenecks


def test_extractors_run_with_random_weights():
    torch.manual_seed(0)
    assert FIDInception()(torch.rand(2, 3, 40, 56)).shape == (2, 2048)
    features = I3D()(torch.rand(2, 3, 8, 48, 48))
    assert features.shape == (2, 400) and torch.isfinite(features).all()
    assert not torch.allclose(features[0], features[1])
    assert ResNet3D50()(torch.rand(1, 3, 8, 32, 32)).shape == (1, 2048)


def test_published_file_layouts_round_trip(tmp_path):
    torch.manual_seed(0)
    resnet = ResNet3D50()
    for module in resnet.modules():  # non-trivial BatchNorm statistics, so a skipped key would show
        if isinstance(module, torch.nn.BatchNorm3d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    checkpoint = {"state_dict": {f"module.{k}": v for k, v in resnet.state_dict().items()}
                  | {"module.fc.weight": torch.zeros(400, 2048), "module.fc.bias": torch.zeros(400)}, "arch": "resnet-50"}
    torch.save(checkpoint, tmp_path / WEIGHT_FILES["resnet3d"])
    clip = torch.rand(1, 3, 8, 32, 32)
    assert torch.equal(load_resnet3d(tmp_path)(clip), resnet(clip))

    i3d = I3D()
    torch.save(i3d.state_dict(), tmp_path / WEIGHT_FILES["i3d"])
    video = torch.rand(1, 3, 8, 40, 40)
    assert torch.equal(load_i3d(tmp_path)(video), i3d(video))

    lpips = LPIPS("alex")
    state = lpips.state_dict()
    torch.save({k: v for k, v in state.items() if k.startswith("features.")}, tmp_path / WEIGHT_FILES["alexnet"])
    torch.save({k: v for k, v in state.items() if k.startswith("lin")}, tmp_path / WEIGHT_FILES["lpips_alex"])
    x, y = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    assert torch.equal(load_lpips(tmp_path, "alex")(x, y), lpips(x, y))


def test_missing_weight_file_names_the_expected_file(tmp_path):
    with pytest.raises(InputError, match="i3d_pretrained_400.pt"):
        load_i3d(tmp_path)
    with pytest.raises(InputError, match="pt_inception-2015-12-05-6726825d.pth.*--weights-dir"):
        weight_path(None, "inception")
    with pytest.raises(InputError, match="vgg16-397923af.pth"):
        load_lpips(tmp_path, "vgg")


def test_strict_loading_lists_missing_unexpected_and_misshaped_keys(tmp_path):
    state = I3D().state_dict()
    del state["Mixed_5c.b0.conv3d.weight"]
    state["Mixed_9z.conv3d.weight"] = torch.zeros(1)
    state["logits.conv3d.bias"] = torch.zeros(600)
    with pytest.raises(InputError) as error:
        load_strict(I3D(), state, "file.pt")
    message = str(error.value)
    assert "missing: Mixed_5c.b0.conv3d.weight" in message
    assert "unexpected: Mixed_9z.conv3d.weight" in message
    assert "wrongly shaped: logits.conv3d.bias (600,) != (400,)" in message


def test_inception_extra_keys_beyond_fc_are_rejected(tmp_path):
    state = FIDInception().state_dict() | {"fc.weight": torch.zeros(1008, 2048), "AuxLogits.fc.weight": torch.zeros(3)}
    torch.save(state, tmp_path / WEIGHT_FILES["inception"])
    with pytest.raises(InputError, match="unexpected: AuxLogits.fc.weight"):
        load_fid_inception(tmp_path)


class _NotATensor:
    pass


def test_files_with_pickled_objects_are_refused(tmp_path):
    torch.save({"features.0.weight": _NotATensor()}, tmp_path / WEIGHT_FILES["i3d"])
    with pytest.raises(InputError, match="refusing .* arbitrary unpickling"):
        load_i3d(tmp_path)


REAL_WEIGHTS = os.environ.get("ANIMATE_ANYONE_EVAL_WEIGHTS")


@pytest.mark.skipif(not REAL_WEIGHTS, reason="set ANIMATE_ANYONE_EVAL_WEIGHTS to a folder of the published files")
@pytest.mark.parametrize("loader", [lambda d: load_lpips(d, "alex"), lambda d: load_lpips(d, "vgg"),
                                    load_fid_inception, load_i3d, load_resnet3d])
def test_published_weights_load_strictly(loader):
    model = loader(Path(REAL_WEIGHTS))
    assert not model.training
