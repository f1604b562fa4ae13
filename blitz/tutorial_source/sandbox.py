"""The sandbox a tutorial script runs in: no network, CIFAR-10 and pretrained weights served
locally, matplotlib off screen. Child side (``blitz.tutorial_source.child``).

Everything is put in place lazily, by post-import hooks, so a script that never imports
torchvision does not pay for importing it here, and each stand-in is in place before the
script's first ``import`` returns the module:

- ``torchvision.datasets``: ``CIFAR10`` is replaced by a stand-in that takes the tutorial's call
  (``CIFAR10(root='./data', train=True, download=True, transform=transform)``) and serves the
  copy that ``blitz.data.find_cifar10`` finds (the user's torchvision files under the explicit
  root or the default one, else the offline train.npz/test.npz), downloading only where
  downloads are allowed. Caps on the splits' sizes (their first N images) make quick runs.
- ``torch.hub``: ``load_state_dict_from_url`` (behind ``resnet18(weights=...)`` and
  ``pretrained=True``) loads the file from the user's torch hub cache where it is there; where
  it is not, the model keeps its random initialisation (``torch.nn.Module.load_state_dict`` is
  told to load nothing) instead of downloading.
- ``matplotlib.pyplot``: ``show`` is counted (the backend is Agg: it shows nothing and never
  blocks; its "non-interactive" warning is silenced, as sphinx-gallery does).
- the network: a connection to, or a name lookup of, any host but this one fails at once with
  ``NetworkBlockedError`` (an ``OSError``), and is recorded with the cell it came from.

``Sandbox.facts()`` says what served and what was refused.
"""

from __future__ import annotations

import functools
import importlib.abc
import inspect
import ipaddress
import os
import socket
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

# Where pretrained weights came from: each entry of the facts' "pretrained" says one of these.
HUB_CACHE = "hub-cache"
RANDOM_INIT = "random-init"
DOWNLOAD = "download"

# The warning pyplot.show() gives under Agg (the pattern sphinx-gallery silences).
AGG_SHOW_WARNING = (
    "Matplotlib is currently using agg, which is a non-GUI backend, so cannot show the figure."
    "|(\n|.)*is non-interactive, and thus cannot be shown"
)

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class NetworkBlockedError(OSError):
    """A script tried to reach the network, which a tutorial run must not need."""


class RandomInit(dict):
    """What ``load_state_dict_from_url`` gives when the weights are not in the hub cache: an
    empty state dict that ``Module.load_state_dict`` loads as nothing (the model keeps its
    random initialisation)."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url


class _PostImportHooks(importlib.abc.MetaPathFinder):
    """Calls ``hooks[name](module)`` right after module ``name`` is executed, before the import
    that loaded it returns."""

    def __init__(self, hooks: dict[str, Callable[[Any], None]]) -> None:
        self.hooks = hooks
        self._finding: set[str] = set()

    def find_spec(self, fullname, path, target=None):
        hook = self.hooks.get(fullname)
        if hook is None or fullname in self._finding:
            return None
        self._finding.add(fullname)
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        finally:
            self._finding.discard(fullname)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_hook(module):
            exec_module(module)
            hook(module)

        try:
            loader.exec_module = exec_then_hook  # this module's own loader object
        except AttributeError:
            return spec
        return spec


def is_loopback(host: Any) -> bool:
    """Whether ``host`` (a name or an address) is this machine."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    name = str(host).strip("[]").split("%")[0].lower()
    if name in _LOOPBACK_NAMES or name.endswith(".localhost") or name == "":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


class Sandbox:
    """The stand-ins of the module docstring, for one script's run, and what they did."""

    def __init__(
        self,
        *,
        cifar10_root: str | None = None,
        cifar10_train_subset: int | None = None,
        cifar10_test_subset: int | None = None,
        allow_download: bool = False,
    ) -> None:
        self.cifar10_root = cifar10_root
        self.cifar10_train_subset = cifar10_train_subset
        self.cifar10_test_subset = cifar10_test_subset
        self.allow_download = allow_download
        self.cell: int | None = None  # the cell running now (its block index)
        self.shows = 0  # plt.show() calls in the current cell
        self.network: list[dict[str, Any]] = []
        self.pretrained: list[dict[str, Any]] = []
        self.cifar10: dict[str, Any] | None = None
        self._cifar10_source = None
        self._installed = False

    # -- install ---------------------------------------------------------------------------

    def install(self) -> None:
        """Put the stand-ins in place (once): now for modules already imported, else at their
        import."""
        if self._installed:
            return
        self._installed = True
        os.environ["MPLBACKEND"] = "agg"
        if not self.allow_download:
            self._block_network()
        hooks = {
            "torch.hub": self._patch_hub,
            "torch.nn.modules.module": self._patch_module,
            "torchvision.datasets": self._patch_datasets,
            "matplotlib.pyplot": self._patch_pyplot,
        }
        for name, hook in hooks.items():
            if name in sys.modules:
                hook(sys.modules[name])
        sys.meta_path.insert(0, _PostImportHooks(hooks))

    # -- network ---------------------------------------------------------------------------

    def _refuse(self, what: str, address: str) -> NetworkBlockedError:
        self.network.append({"cell": self.cell, "call": what, "address": address})
        return NetworkBlockedError(
            f"blitz sandbox: no network for the tutorial's scripts ({what} {address} refused); "
            "CIFAR-10 and pretrained weights are served from local copies"
        )

    def _block_network(self) -> None:
        sandbox = self
        real_getaddrinfo = socket.getaddrinfo
        real_gethostbyname = socket.gethostbyname
        real_gethostbyname_ex = socket.gethostbyname_ex
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_sendto = socket.socket.sendto
        own_name = socket.gethostname()

        def local(host) -> bool:
            return is_loopback(host) or host == own_name

        def where(address) -> tuple[bool, str]:
            """(allowed, as text) for a socket address."""
            if isinstance(address, tuple) and address:
                return is_loopback(address[0]), ":".join(str(part) for part in address[:2])
            return True, str(address)  # a Unix socket's path, a netlink address

        @functools.wraps(real_getaddrinfo)
        def getaddrinfo(host, port, *args, **kwargs):
            if not local(host):
                raise sandbox._refuse("name lookup of", f"{host}:{port}")
            return real_getaddrinfo(host, port, *args, **kwargs)

        @functools.wraps(real_gethostbyname)
        def gethostbyname(host):
            if not local(host):
                raise sandbox._refuse("name lookup of", str(host))
            return real_gethostbyname(host)

        @functools.wraps(real_gethostbyname_ex)
        def gethostbyname_ex(host):
            if not local(host):
                raise sandbox._refuse("name lookup of", str(host))
            return real_gethostbyname_ex(host)

        @functools.wraps(real_connect)
        def connect(sock, address):
            allowed, text = where(address)
            if not allowed and sock.family in (socket.AF_INET, socket.AF_INET6):
                raise sandbox._refuse("connection to", text)
            return real_connect(sock, address)

        @functools.wraps(real_connect_ex)
        def connect_ex(sock, address):
            allowed, text = where(address)
            if not allowed and sock.family in (socket.AF_INET, socket.AF_INET6):
                import errno

                sandbox._refuse("connection to", text)
                return errno.ENETUNREACH
            return real_connect_ex(sock, address)

        @functools.wraps(real_sendto)
        def sendto(sock, data, *args):
            address = args[-1] if args else None
            allowed, text = where(address)
            if not allowed and sock.family in (socket.AF_INET, socket.AF_INET6):
                raise sandbox._refuse("datagram to", text)
            return real_sendto(sock, data, *args)

        socket.getaddrinfo = getaddrinfo
        socket.gethostbyname = gethostbyname
        socket.gethostbyname_ex = gethostbyname_ex
        socket.socket.connect = connect
        socket.socket.connect_ex = connect_ex
        socket.socket.sendto = sendto

    # -- pretrained weights ----------------------------------------------------------------

    def _patch_hub(self, hub) -> None:
        original = hub.load_state_dict_from_url
        if getattr(original, "_blitz_sandbox", False):
            return
        signature = inspect.signature(original)
        # torch.utils.model_zoo.load_url is the same function under another name.
        is_torchs = hub is sys.modules.get("torch.hub")
        model_zoo = sys.modules.get("torch.utils.model_zoo") if is_torchs else None
        sandbox = self

        @functools.wraps(original)
        def load_state_dict_from_url(url, *args, **kwargs):
            arguments = signature.bind(url, *args, **kwargs).arguments
            model_dir = arguments.get("model_dir") or os.path.join(hub.get_dir(), "checkpoints")
            filename = arguments.get("file_name") or os.path.basename(urlparse(url).path)
            cached = os.path.join(model_dir, filename)
            entry = {"cell": sandbox.cell, "url": url, "file": cached}
            if os.path.exists(cached):
                sandbox.pretrained.append({**entry, "source": HUB_CACHE})
            elif sandbox.allow_download:
                sandbox.pretrained.append({**entry, "source": DOWNLOAD})
            else:
                sandbox.pretrained.append({**entry, "source": RANDOM_INIT})
                return RandomInit(url)
            return original(url, *args, **kwargs)

        load_state_dict_from_url._blitz_sandbox = True
        hub.load_state_dict_from_url = load_state_dict_from_url
        if model_zoo is not None and getattr(model_zoo, "load_url", None) is original:
            model_zoo.load_url = load_state_dict_from_url

    def _patch_module(self, module) -> None:
        Module = module.Module
        original = Module.load_state_dict
        incompatible = getattr(module, "_IncompatibleKeys", None)

        @functools.wraps(original)
        def load_state_dict(self, state_dict, *args, **kwargs):
            if isinstance(state_dict, RandomInit):
                return incompatible([], []) if incompatible is not None else None
            return original(self, state_dict, *args, **kwargs)

        Module.load_state_dict = load_state_dict

    # -- CIFAR-10 --------------------------------------------------------------------------

    def _patch_datasets(self, datasets) -> None:
        real = datasets.CIFAR10
        sandbox = self

        class CIFAR10(real):
            """blitz's stand-in for torchvision's CIFAR10: serves blitz's copy of CIFAR-10."""

            def __new__(cls, root, train=True, transform=None, target_transform=None,
                        download=False):  # fmt: skip
                return sandbox.serve_cifar10(
                    real, datasets, root, train, transform, target_transform, download
                )

        CIFAR10.__qualname__ = CIFAR10.__name__ = "CIFAR10"
        datasets.CIFAR10 = CIFAR10  # the tutorial's torchvision.datasets.CIFAR10

    def serve_cifar10(self, real, datasets, root, train, transform, target_transform, download):
        """The split the tutorial asked for, from blitz's copy (the tutorial's ``root`` and
        ``download`` are recorded, not followed).

        Where torchvision's official files serve a call with ``download=True``, torchvision's
        own class loads them with ``download=True``: it checks them and prints what the user's
        torchvision prints for files already there (some releases print "Files already
        downloaded and verified"), as in the tutorial's output. It downloads nothing: the files
        are checked first, and a damaged copy is blitz.data's error naming the file.
        """
        call = {"cell": self.cell, "train": bool(train), "root": str(root),
                "download": bool(download)}  # fmt: skip
        if self.cifar10 is None:
            self.cifar10 = {"calls": []}
        self.cifar10["calls"].append(call)
        stand_in = datasets.CIFAR10
        datasets.CIFAR10 = real  # blitz.data calls torchvision's own class: back while serving
        try:
            from blitz import data

            if self._cifar10_source is None:
                try:
                    self._cifar10_source = data.find_cifar10(
                        data.explicit_root(self.cifar10_root), download=self.allow_download
                    )
                except data.CIFAR10NotFound as exc:
                    self.cifar10["error"] = str(exc)
                    raise
                source = self._cifar10_source
                self.cifar10.update(
                    copy=source.kind, root=str(source.root), description=source.description,
                    downloaded=source.downloaded,
                )  # fmt: skip
            source = self._cifar10_source
            if download and source.kind == data.OFFICIAL and not data.official_faults(source.root):
                dataset = real(str(source.root), train=bool(train), transform=transform,
                               download=True)  # fmt: skip
            else:
                dataset = source.dataset(train=bool(train), transform=transform)
        finally:
            datasets.CIFAR10 = stand_in
        if target_transform is not None:
            dataset.target_transform = target_transform
        cap = self.cifar10_train_subset if train else self.cifar10_test_subset
        call["size"] = len(dataset)
        if cap is not None and cap < len(dataset):
            dataset.data = dataset.data[:cap]
            dataset.targets = dataset.targets[:cap]
            call["size"] = len(dataset)
        return dataset

    # -- matplotlib ------------------------------------------------------------------------

    def _patch_pyplot(self, pyplot) -> None:
        original = pyplot.show
        sandbox = self

        @functools.wraps(original)
        def show(*args, **kwargs):
            sandbox.shows += 1
            return original(*args, **kwargs)

        pyplot.show = show

    def take_figures(self) -> int:
        """The figures open now (closed here, as sphinx-gallery's scraper closes them)."""
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is None:
            return 0
        count = len(pyplot.get_fignums())
        if count:
            pyplot.close("all")
        return count

    # -- facts -----------------------------------------------------------------------------

    def facts(self) -> dict[str, Any]:
        cifar10 = None
        if self.cifar10 is not None:
            cifar10 = dict(self.cifar10)
        return {
            "downloads_allowed": self.allow_download,
            "cifar10": cifar10,
            "cifar10_train_subset": self.cifar10_train_subset,
            "cifar10_test_subset": self.cifar10_test_subset,
            "pretrained": list(self.pretrained),
            "network_refused": list(self.network),
            "matplotlib_backend": self.matplotlib_backend(),
        }

    @staticmethod
    def matplotlib_backend() -> str | None:
        """The backend matplotlib uses (Agg, unless a script switched), None where the script
        never imported matplotlib."""
        matplotlib = sys.modules.get("matplotlib")
        if matplotlib is None:
            return None
        return str(matplotlib.get_backend()).lower()
