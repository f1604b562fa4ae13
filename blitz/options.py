"""blitz's command-line options: the pytest entry point, inert on its own.

Installing blitz registers this module as a ``pytest11`` entry point, so that pytest knows
blitz's options when it first reads the command line. It imports nothing heavy and changes
nothing in a test run: the claims plugin, ``blitz.plugin``, is active only where a run names it
(the project's root ``conftest.py``, or ``-p blitz.plugin``), as Hypothesis's entry point does for
its own plugin. So a project that has blitz installed beside it runs its own tests unchanged,
and without importing torch.

In every project the entry point adds only prefixed names (``--blitz-device``,
``--blitz-claims-json``, ...), as pytest's plugins do (``--benchmark-*``, ``--hypothesis-*``), so
that no other project's own option (a ``--device`` of its conftest) collides with blitz's. The
short names (``--device``, ``--claims-json``, ...) are added by the claims plugin itself, only
where it is active (``add_short_names``).
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field

import pytest

from blitz.settings import DATA_ROOT_ENV, DEVICES_ENV, SLOW_ENV

PREFIX = "--blitz-"


@dataclass(frozen=True)
class Option:
    """One of blitz's options: its short name (where the claims plugin is active), its dest,
    its argparse settings, and whether its value is a path (see ``repair_rootdir``)."""

    short: str
    dest: str
    settings: dict = field(default_factory=dict)
    path: bool = False

    @property
    def long(self) -> str:
        return PREFIX + self.short.removeprefix("--")


OPTIONS = (
    Option(
        "--device",
        "blitz_device",
        dict(
            action="store",
            metavar="DEVICES",
            default=None,
            help=(
                "Comma-separated devices to run the device-parametrized claims on, e.g. 'cpu' or "
                f"'cpu,cuda'; each must be present. Also read from ${DEVICES_ENV}. Default: every "
                "known device (cpu, cuda, and any other accelerator present); missing ones show as "
                "skipped."
            ),
        ),
    ),
    Option(
        "--claims-json",
        "blitz_claims_json",
        dict(
            action="store",
            metavar="PATH",
            default=None,
            help=(
                "Write the claims matrix as JSON to PATH (atomically; a run that does not finish "
                "is marked incomplete, a narrowed one narrowed, and neither replaces a complete "
                "file of the whole suite). Default: not written."
            ),
        ),
        path=True,
    ),
    Option(
        "--run-slow",
        "blitz_run_slow",
        dict(
            action="store_true",
            default=False,
            help=f"Run the claims marked 'slow' too (or set ${SLOW_ENV}=1). Default: skipped.",
        ),
    ),
    Option(
        "--cifar10-root",
        "blitz_cifar10_root",
        dict(
            action="store",
            metavar="DIR",
            default=None,
            help=(
                "Directory holding CIFAR-10 (torchvision's files or the offline "
                f"train.npz/test.npz); it must exist. Also read from ${DATA_ROOT_ENV}. Default: "
                "look in the usual places."
            ),
        ),
        path=True,
    ),
    Option(
        "--no-download",
        "blitz_no_download",
        dict(
            action="store_true",
            default=False,
            help="Never try to download CIFAR-10. Default: download when no copy is found.",
        ),
    ),
    Option(
        "--no-claims-matrix",
        "blitz_matrix",
        dict(
            action="store_false",
            default=True,
            help="Do not print the claims matrix at the end of the run. Default: printed.",
        ),
    ),
)
TUTORIAL_OPTIONS = (
    Option(
        "--tutorial-source",
        "blitz_tutorial_source",
        dict(
            action="append",
            metavar="[LABEL=]PATH",
            default=[],
            help=(
                "Run the tutorial's own scripts from a pytorch/tutorials checkout (or its "
                "beginner_source/blitz folder) and add a column tutorial:LABEL with each claim's "
                "verdict from what that revision's code does. Repeatable: revisions side by side. "
                "LABEL defaults to the checkout's short commit, else the folder's name. Without "
                "--run-slow the CIFAR-10 script trains on a subset (the claims that need the full "
                "protocol read partial). Default: no tutorial column."
            ),
        ),
        path=True,
    ),
    Option(
        "--tutorial-ref",
        "blitz_tutorial_ref",
        dict(
            action="append",
            metavar="REF",
            default=[],
            help=(
                "Like --tutorial-source, for the scripts of pytorch/tutorials at git ref REF (a "
                "branch, tag or commit), downloaded into blitz's cache ($BLITZ_CACHE, else "
                "~/.cache/blitz). Repeatable. Without a network the column's claims read error, "
                "with one line saying so. Default: none."
            ),
        ),
    ),
    Option(
        "--tutorial-seed",
        "blitz_tutorial_seed",
        dict(
            action="store",
            metavar="N|none",
            default="42",
            help=(
                "torch.manual_seed(N) before each tutorial script, with random.seed(10) and "
                "numpy.random.seed(10), as the tutorial's build seeded them; 'none' seeds "
                "nothing. The goldens are seed 42's: with another seed they are not checked (the "
                "claim reads partial). Default: 42."
            ),
        ),
    ),
    Option(
        "--tutorial-allow-download",
        "blitz_tutorial_allow_download",
        dict(
            action="store_true",
            default=False,
            help=(
                "Let the tutorial's scripts download (CIFAR-10 where blitz finds no copy, "
                "pretrained weights missing from the torch hub cache) and reach the network. "
                "Default: no network; CIFAR-10 comes from blitz's copy, missing weights are "
                "randomly initialised."
            ),
        ),
    ),
)
OPTIONS = OPTIONS + TUTORIAL_OPTIONS
BY_DEST = {option.dest: option for option in OPTIONS}
JSON_OPTION = BY_DEST["blitz_claims_json"].short
GROUP = ("blitz", "blitz: claims of the PyTorch 60 Minute Blitz")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(*GROUP)
    for option in OPTIONS:
        settings = dict(option.settings)
        settings["help"] += f" (Where the claims plugin is active: {option.short}.)"
        group.addoption(option.long, dest=option.dest, **settings)


def add_short_names(parser: pytest.Parser) -> None:
    """The short names, for runs where the claims plugin is active (``blitz.plugin``)."""
    group = parser.getgroup(*GROUP)
    for option in OPTIONS:
        settings = dict(option.settings, help=f"The same as {option.long}.")
        group.addoption(option.short, dest=option.dest, **settings)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    repair_rootdir(early_config, args)


def option_values(args: list[str]) -> tuple[list[str], list[str]]:
    """The values that blitz's options take as a separate word in ``args``: (all of them, those
    of the options whose value is a path)."""
    values, paths = [], []
    names = {name: option for option in OPTIONS for name in (option.short, option.long)}
    for word, value in zip(args, args[1:]):
        option = names.get(word)
        if option is None or option.settings["action"] not in ("store", "append"):
            continue
        values.append(value)
        if option.path:
            paths.append(value)
    return values, paths


def repair_rootdir(config: pytest.Config, args: list[str]) -> None:
    """Undo pytest's taking the value of ``--claims-json PATH`` or ``--cifar10-root DIR`` for a
    test path.

    pytest finds its rootdir and configuration file from the command line's paths before any
    plugin's options are known (pytest-dev/pytest#1435): in ``pytest --cifar10-root DIR``, DIR
    is a path among the arguments while it exists. Its folder then becomes the rootdir, the
    project's configuration (test paths, markers, options) is not read, and the run collects
    other folders. The short names are not even known yet (the claims plugin adds them once the
    project's conftest loads), so they are recognized here by name. This hook runs before the
    initial conftests load: it takes every value of blitz's options out of the test paths and,
    where one of them was an existing path, finds the rootdir and configuration file again as
    pytest would have without it, and applies the configuration's ``addopts``.
    """
    namespace = config.known_args_namespace
    values, paths = option_values(args)
    if not values:
        return
    remaining = list(namespace.file_or_dir)
    for value in values:
        # A short --device's value is taken out only where it is not a path: another
        # project's own --device may be a flag followed by a test path.
        if value in remaining and (value in paths or not os.path.exists(value)):
            remaining.remove(value)
    namespace.file_or_dir = remaining
    moved = any(os.path.exists(value) for value in paths)
    if not moved or namespace.inifilename or namespace.rootdir:
        return
    from _pytest.config.findpaths import determine_setup

    setup = dict(
        inifile=None,
        args=remaining,
        rootdir_cmd_arg=None,
        invocation_dir=config.invocation_params.dir,
    )
    if "override_ini" in inspect.signature(determine_setup).parameters:  # pytest >= 9
        setup["override_ini"] = namespace.override_ini
    rootpath, inipath, inicfg, *_ = determine_setup(**setup)
    if inipath is None or inipath == config.inipath:
        return
    # pytest's own confcutdir, derived from the configuration it found: move it along.
    derived_confcutdir = str(config.inipath.parent if config.inipath else config.rootpath)
    config._rootpath, config._inipath = rootpath, inipath
    if hasattr(config, "_inicfg"):  # pytest >= 9
        config._inicfg = inicfg
    else:  # pytest 8
        config.inicfg = inicfg
    config._inicache.clear()
    config._parser.extra_info["rootdir"] = str(rootpath)
    config._parser.extra_info["inifile"] = str(inipath)
    if namespace.confcutdir == derived_confcutdir:
        namespace.confcutdir = str(inipath.parent)
    args[:] = list(config.getini("addopts")) + args
