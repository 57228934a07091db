"""Published weight files for the evaluation networks: locate them, load them safely, check them strictly.

Nothing is downloaded: every file comes from a folder the user names (`--weights-dir`), under its
published file name. Files are read by `animate_anyone.checkpoints.load_state_dict` (safetensors or
`torch.load(weights_only=True)`: no unpickling of code), and every key and shape is checked before loading.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from animate_anyone.checkpoints import strict_key_errors
from animate_anyone.errors import InputError

# The published file each network needs, by the name its publisher gives it.
WEIGHT_FILES = {
    "alexnet": "alexnet-owt-7be5be79.pth",  # torchvision AlexNet (LPIPS backbone)
    "vgg16": "vgg16-397923af.pth",  # torchvision VGG-16 (LPIPS backbone)
    "lpips_alex": "alex.pth",  # lpips package, weights/v0.1/alex.pth (linear layers)
    "lpips_vgg": "vgg.pth",  # lpips package, weights/v0.1/vgg.pth (linear layers)
    "inception": "pt_inception-2015-12-05-6726825d.pth",  # pytorch-fid's port of the TF FID Inception
    "i3d": "i3d_pretrained_400.pt",  # Kinetics-400 I3D used by DisCo / MCVD / VideoGPT FVD code
    "resnet3d": "resnet-50-kinetics.pth",  # Hara et al. 3D ResNet-50 (DisCo's FID-VID)
}


def weight_path(weights_dir: str | Path | None, network: str) -> Path:
    """The expected path of `network`'s published file in `weights_dir`; InputError naming it if absent."""
    filename = WEIGHT_FILES[network]
    if weights_dir is None:
        raise InputError(f"{network} needs the weight file {filename}: pass --weights-dir DIR containing it")
    path = Path(weights_dir) / filename
    if not path.is_file():
        raise InputError(f"{network} weight file not found: expected {path}")
    return path


def load_strict(
    module: nn.Module,
    state_dict: dict[str, torch.Tensor],
    source: Path | str,
    unused_prefixes: tuple[str, ...] = (),
    strip_prefix: str = "",
) -> None:
    """Load `state_dict` into `module`, failing on any missing, unexpected or mis-shaped key.

    `unused_prefixes` name parts of the published file that the metric does not use (a classifier
    head); they must be the only extra keys. `strip_prefix` is removed from every key (the
    "module." of DataParallel checkpoints). BatchNorm's `num_batches_tracked` counters do not
    affect evaluation and are ignored on both sides.
    """
    tensors = {k.removeprefix(strip_prefix): v for k, v in state_dict.items()}
    tensors = {
        k: v for k, v in tensors.items() if not k.startswith(unused_prefixes) and not k.endswith("num_batches_tracked")
    }
    expected = {k: v.shape for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}
    problems = strict_key_errors(expected, tensors)
    if problems:
        raise InputError(f"{source} does not match {type(module).__name__}: " + "; ".join(problems))
    module.load_state_dict(tensors, strict=False)  # every key but the BatchNorm counters was checked above
