"""The claims of cifar10_tutorial.py on its transforms (see ``probes.base``): C02 (the images
are 3x32x32; ``ToTensor`` with ``Normalize((0.5,)*3, (0.5,)*3)`` maps them to [-1, 1]) and C13
(the 2026 revision's v2 transform maps them like v1's, within one float32 ulp of 1.0).

Both transforms are applied to an image holding every pixel value (``every_pixel_value``).
``torchvision.transforms.v2`` is beta or absent on old torchvision: where importing it raises,
C13 reads drift, with the version (``v2_absent``).
"""

from __future__ import annotations

import ast
import re
from typing import Any

from blitz.tutorial_source.probes import compare, syntax
from blitz.tutorial_source.probes.base import Seen, dotted, probe
from blitz.tutorial_source.probes.cifar10_data import datasets_of

SCRIPT = "cifar10"


def every_pixel_value():
    """A 16x16 RGB image holding each pixel value 0..255 once per channel (rolled per channel),
    as a PIL image, and its values as a (3, 16, 16) uint8 tensor."""
    import numpy as np
    import torch
    from PIL import Image

    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    image = np.stack([np.roll(values, 85 * c) for c in range(3)], axis=-1)
    return Image.fromarray(image), torch.from_numpy(image).permute(2, 0, 1)


# ----------------------------------------------------------------------------------------------
# C02: 3x32x32 images; the transform maps them to [-1, 1]


def find_v1_transform(seen: Seen):
    """``transforms.Compose([transforms.ToTensor(), transforms.Normalize(...)])`` (v1)."""
    to_tensor = [c for c in seen.calls(".ToTensor") if "v2" not in dotted(c.func).split(".")]
    normalize = [c for c in seen.calls(".Normalize") if "v2" not in dotted(c.func).split(".")]
    if not (to_tensor and normalize):
        return None
    composed = [c for c in seen.calls(".Compose") if syntax.calls_under(c, ".Normalize")]
    return composed[0] if composed else normalize[0]


def transform_of(seen: Seen, match: ast.Call):
    name = syntax.bound_name(seen, match)
    assert name, "the cell binds its transform to no name"
    return seen.value(name)


@probe("C02", SCRIPT, looks_for="transforms.ToTensor() with transforms.Normalize(...)",
       find=find_v1_transform)  # fmt: skip
def transform_maps_to_minus_1_1(seen: Seen, match: ast.Call) -> None:
    """``ToTensor`` then ``Normalize((0.5,)*3, (0.5,)*3)`` maps each pixel value v to 2 v / 255
    - 1, in [-1, 1]; the dataset serves 3x32x32 images through it."""
    torch = seen.torch
    from torchvision import transforms

    transform = transform_of(seen, match)
    steps = list(getattr(transform, "transforms", [transform]))
    to_tensor = [t for t in steps if isinstance(t, transforms.ToTensor)]
    normalize = [t for t in steps if isinstance(t, transforms.Normalize)]
    assert to_tensor and normalize, f"the transform is {transform}"
    assert tuple(normalize[0].mean) == (0.5,) * 3 and tuple(normalize[0].std) == (0.5,) * 3, (
        f"Normalize({normalize[0].mean}, {normalize[0].std}), not ((0.5,)*3, (0.5,)*3)"
    )
    image, raw = every_pixel_value()
    scaled = to_tensor[0](image)
    # ToTensor: pixel value v becomes v / 255, in [0, 1], channels first: exactly
    compare.assert_close(scaled, raw.float() / 255, rtol=0, atol=0)
    out = transform(image)
    assert out.dtype == torch.float32 and tuple(out.shape) == (3, 16, 16), (out.dtype, out.shape)
    assert out.min() == -1 and out.max() == 1, f"the range is [{out.min()}, {out.max()}]"
    # (v / 255 - 0.5) / 0.5 = 2 v / 255 - 1, up to float32 rounding of the two ways (defaults)
    compare.assert_close(out, 2 * raw.float() / 255 - 1)
    served = [d for d in datasets_of(seen).values() if getattr(d, "transform", None) is transform]
    if not served:
        seen.unchecked("the 3x32x32 images (no dataset with this transform in this cell)")
        return
    from PIL import Image

    pil = Image.fromarray(served[0].data[0])
    assert (pil.mode, pil.size) == ("RGB", (32, 32)), (pil.mode, pil.size)
    first = served[0][0][0]
    assert tuple(first.shape) == (3, 32, 32), f"an image is {tuple(first.shape)}, not (3, 32, 32)"


# ----------------------------------------------------------------------------------------------
# C13 (2026 revision): the v2 transform


def find_v2_transform(seen: Seen):
    found = seen.calls(".ToImage")
    if not found:
        return None
    composed = [c for c in seen.calls(".Compose") if syntax.calls_under(c, ".ToImage")]
    return composed[0] if composed else found[0]


# One float32 ulp of 1.0: ToTensor divides by 255 where ToDtype(scale=True) multiplies by 1/255,
# so a value in [0, 1] may land on the neighbouring float32; Normalize's exact (x - 0.5) / 0.5
# doubles that distance, which stays within one ulp of 1.0.
ONE_ULP_OF_ONE = 2.0**-23


V2_MISSING = re.compile(r"\bv2\b")


def v2_absent(seen: Seen, error: Any) -> str | None:
    """The drift note of a torchvision without ``transforms.v2`` (CLAIMS.md: beta or absent on
    old torchvision): importing it raises ``ImportError`` (``cannot import name 'v2'``) or
    ``ModuleNotFoundError`` (``No module named 'torchvision.transforms.v2'``)."""
    if error.type not in ("ImportError", "ModuleNotFoundError"):
        return None
    if not (V2_MISSING.search(error.message) and "torchvision" in error.message):
        return None
    try:
        import torchvision

        version = f"torchvision {torchvision.__version__}"
    except ImportError:  # pragma: no cover - the message names torchvision: it imported
        version = "this torchvision"
    return f"v2 is absent on {version}: {error.type}: {error.message}"


@probe("C13", SCRIPT, looks_for="a v2 transform (v2.ToImage, torchvision.transforms.v2)",
       find=find_v2_transform, on_error=v2_absent)  # fmt: skip
def v2_transform_maps_like_v1(seen: Seen, match: ast.Call) -> None:
    """The v2 transform maps every pixel value like v1's ``ToTensor`` and ``Normalize``, to [-1,
    1], within one float32 ulp of 1.0; the note says how many differ."""
    torch = seen.torch
    from torchvision import transforms

    name = syntax.bound_name(seen, match)
    assert name, "the cell binds its v2 transform to no name"
    transform = seen.value(name)
    steps = list(getattr(transform, "transforms", [transform]))
    normalize = [t for t in steps if type(t).__name__ == "Normalize"]
    assert normalize, f"the v2 transform has no Normalize: {transform}"
    mean, std = tuple(normalize[0].mean), tuple(normalize[0].std)
    assert mean == (0.5,) * 3 and std == (0.5,) * 3, f"Normalize({mean}, {std})"
    image, raw = every_pixel_value()
    v1 = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])(image)
    v2 = transform(image).as_subclass(torch.Tensor)
    assert v2.dtype == torch.float32 and v2.shape == v1.shape, (v2.dtype, tuple(v2.shape))
    assert v2.min() == -1 and v2.max() == 1, f"the range is [{v2.min()}, {v2.max()}]"
    # within one float32 ulp of 1.0 of v1's (see ONE_ULP_OF_ONE), not necessarily bit for bit
    compare.assert_close(v2, v1, rtol=0, atol=ONE_ULP_OF_ONE)
    table = {}
    for value, a, b in zip(raw.flatten().tolist(), v1.flatten(), v2.flatten()):
        table[value] = bool(a != b)
    differ = sum(table.values())
    if differ:
        seen.note(
            f"v2 equals v1 within one float32 ulp of 1.0, not bit for bit: {differ} of the 256 "
            f"pixel values ({differ / 256:.0%}) map to a neighbouring float32"
        )
    else:
        seen.note("v2 equals v1 bit for bit on all 256 pixel values")
