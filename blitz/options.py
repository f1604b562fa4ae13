"""blitz's command-line options: the pytest entry point, inert on its own.

Installing blitz registers this module as a ``pytest11`` entry point, so that pytest knows
blitz's options when it first reads the command line (``--claims-json PATH`` is not taken for a
test path). It imports nothing heavy and changes nothing in a test run: the claims plugin,
``blitz.plugin``, is active only where a run names it (the project's root ``conftest.py``, or
``-p blitz.plugin``), as Hypothesis's entry point does for its own plugin. So a project that has
blitz installed beside it runs its own tests unchanged, and without importing torch.
"""

from __future__ import annotations

import inspect
import os

import pytest

SLOW_ENV = "BLITZ_RUN_SLOW"
DATA_ROOT_ENV = "BLITZ_DATA_ROOT"
DEVICES_ENV = "BLITZ_DEVICES"  # read by blitz.devices
JSON_OPTION = "--claims-json"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("blitz", "blitz: claims of the PyTorch 60 Minute Blitz")
    group.addoption(
        "--device",
        action="store",
        dest="blitz_device",
        metavar="DEVICES",
        default=None,
        help=(
            "Comma-separated devices to run the device-parametrized claims on, e.g. 'cpu' or "
            f"'cpu,cuda'; each must be present. Also read from ${DEVICES_ENV}. Default: "
            "every known device (cpu, cuda, and any other accelerator present); missing ones "
            "show as skipped."
        ),
    )
    group.addoption(
        JSON_OPTION,
        action="store",
        dest="blitz_claims_json",
        metavar="PATH",
        default=None,
        help=(
            "Write the claims matrix as JSON to PATH (atomically; a run that does not finish "
            "is marked incomplete). Default: not written."
        ),
    )
    group.addoption(
        "--run-slow",
        action="store_true",
        dest="blitz_run_slow",
        default=False,
        help=f"Run the claims marked 'slow' too (or set ${SLOW_ENV}=1). Default: skipped.",
    )
    group.addoption(
        "--cifar10-root",
        action="store",
        dest="blitz_cifar10_root",
        metavar="DIR",
        default=None,
        help=(
            "Directory holding CIFAR-10 (torchvision's files or the offline train.npz/test.npz); "
            f"it must exist. Also read from ${DATA_ROOT_ENV}. Default: look in the usual places."
        ),
    )
    group.addoption(
        "--no-download",
        action="store_true",
        dest="blitz_no_download",
        default=False,
        help="Never try to download CIFAR-10. Default: download when no copy is found.",
    )
    group.addoption(
        "--no-claims-matrix",
        action="store_false",
        dest="blitz_matrix",
        default=True,
        help="Do not print the claims matrix at the end of the run. Default: printed.",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    repair_rootdir(early_config, args)


def repair_rootdir(config: pytest.Config, args: list[str]) -> None:
    """Undo pytest's taking the ``--claims-json`` PATH for a test path.

    pytest finds its rootdir and configuration file from the command line's paths before any
    plugin's options are known (pytest-dev/pytest#1435): in ``pytest --claims-json PATH``, PATH
    is a path among the arguments while it exists. Its folder then becomes the rootdir, the
    project's configuration (test paths, markers, options) is not read, and a second run of
    the same command collects other folders and fails. This hook runs once the option is
    known and before the initial conftests load: where that happened, it finds the rootdir
    and configuration file again without PATH, as pytest would have, and applies the
    configuration's ``addopts``. A plugin loaded only from a conftest comes too late for this;
    there ``--claims-json=PATH`` (one word) avoids it.
    """
    from _pytest.config.findpaths import determine_setup

    namespace = config.known_args_namespace
    value = getattr(namespace, "blitz_claims_json", None)
    if value is None or namespace.inifilename or namespace.rootdir:
        return
    separate = any(a == JSON_OPTION and b == value for a, b in zip(args, args[1:]))
    if not separate or not os.path.exists(value) or config.inipath is not None:
        return
    setup = dict(
        inifile=None,
        args=namespace.file_or_dir,
        rootdir_cmd_arg=None,
        invocation_dir=config.invocation_params.dir,
    )
    if "override_ini" in inspect.signature(determine_setup).parameters:  # pytest >= 9
        setup["override_ini"] = namespace.override_ini
    rootpath, inipath, inicfg, *_ = determine_setup(**setup)
    if inipath is None:
        return
    derived_confcutdir = str(config.rootpath)
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
