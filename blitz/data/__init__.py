"""CIFAR-10 for the "Training a Classifier" claims: where it comes from, and a fast path.

Where the data is found (``find_cifar10``), in this order:

1. an explicit root: ``--cifar10-root DIR`` or ``$BLITZ_DATA_ROOT`` (the option wins). It may hold
   torchvision's official files (``DIR/cifar-10-batches-py/``) or the offline copy
   (``DIR/train.npz`` and ``DIR/test.npz``); official files win when both are there. When it
   holds neither, torchvision downloads the official files into it (unless downloads are off).
2. torchvision's official files under the default root, ``$XDG_CACHE_HOME/blitz/data`` (else
   ``~/.cache/blitz/data``; the tutorial itself uses ``./data``);
3. torchvision's download into the default root, as the tutorial does (with its progress bar),
   unless downloads are off (``--no-download``). The attempt is bounded: a reachability check
   with a short timeout first, and a socket timeout while downloading, so that an offline
   machine fails in seconds instead of hanging;
4. the offline copy format (``train.npz``/``test.npz``) under the default root.

When nothing is found, ``CIFAR10NotFound`` says in one line where it looked and how to get the
data. A corrupt or partial copy (truncated file, missing array, wrong shape or dtype, labels out
of range, failed checksum) is ``CIFAR10CorruptError``, naming the file and what is wrong; so is
a download whose archive or extracted files fail torchvision's MD5 check.

The offline copy: two NumPy ``.npz`` files, ``data`` uint8 (N, 32, 32, 3) HWC RGB and ``labels``
int64 (N,), N = 50,000 (train) and 10,000 (test), images and order the original CIFAR-10's. Its
pixels went through JPEG compression once, so results on it can differ slightly from results on
the official files: a report always says which copy ran (``Cifar10Source.note``).
``OfflineCIFAR10`` reads it (``numpy.load(..., allow_pickle=False)``) with the interface of
``torchvision.datasets.CIFAR10`` (``data``, ``targets``, ``classes``, ``transform``; PIL images
into the transform), so the tutorial's transform and DataLoader run on it unchanged.

The fast path: ``normalized_images`` applies the snapshot's transform (torchvision's v1
``ToTensor`` + ``Normalize``, ``tutorial_transform``) to a whole split at once (bit for bit the
transform's result), and ``FastLoader`` serves batches of that tensor, on any device, in exactly
the order a ``DataLoader(shuffle=True)`` would for the same RNG state — so training on it gives
the same losses as the snapshot's loop, many times faster. The May 2026 revision of the tutorial
builds its transform from ``torchvision.transforms.v2`` instead (``tutorial_transform_v2``): it
maps pixels to [-1, 1] too, but not bit for bit as v1 does (43% of the pixel values land up to
1.19e-7 away, one float32 ulp of 1.0: claim C13), so neither the fast path nor the losses it
gives are that revision's bit for bit.
"""

# The package's names, from its parts: common (splits, classes, transforms, errors), locate
# (where the data is, the download, the source a run uses), offline (the offline copy and its
# checks), fast (the fast path). A test that replaces one of them patches the part that uses it.
from blitz.data.common import (
    CLASSES,
    IMAGE_SHAPE,
    MEAN,
    OFFICIAL,
    OFFICIAL_FOLDER,
    OFFLINE,
    OFFLINE_FILES,
    ROOT_ENV,
    SPLIT_SIZES,
    STD,
    CIFAR10CorruptError,
    CIFAR10NotFound,
    tutorial_transform,
    tutorial_transform_v2,
)
from blitz.data.fast import FastLoader, normalized_images, split_tensors
from blitz.data.locate import (
    DOWNLOAD_STALL_TIMEOUT_S,
    PYTEST_ROOT_OPTION,
    REACHABILITY_TIMEOUT_S,
    Cifar10Source,
    check_reachable,
    default_root,
    download_official,
    explicit_root,
    find_cifar10,
    how_to_get,
    load_official,
    official_faults,
)
from blitz.data.offline import OfflineCIFAR10, read_offline_images, read_offline_labels
