"""Shared pytest setup.

Each pytest process (one per xdist worker under `make test`) gets its own SQLMesh cache
directory, so parallel workers never write the same cache files.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import pytest


def load_script(name: str):
    """Import scripts/<name>.py as module `name` (executed afresh on every call)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def environ(**values: str | None):
    """Set (or, with None, unset) environment variables inside the block; restore after."""
    saved = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def without_yaml_tests():
    """Load SQLMesh projects without their YAML unit tests inside the block.

    `make test` runs them once with `sqlmesh test` and lints once with `sqlmesh lint`;
    parsing them is a large part of a Context load, so tests that only plan, run or render
    skip both: without the tests loaded, the linter's `nomissingunittest` rule fails every
    model, so plans of a Context loaded in the block pass `skip_linter=True`.
    """
    from sqlmesh.core.loader import Loader, SqlMeshLoader

    with pytest.MonkeyPatch.context() as patch:
        # SqlMeshLoader overrides Loader's method: patch both
        patch.setattr(Loader, "load_model_tests", lambda self: [])
        patch.setattr(SqlMeshLoader, "load_model_tests", lambda self: [])
        yield


@pytest.fixture(scope="session", autouse=True)
def private_sqlmesh_cache(tmp_path_factory):
    saved = os.environ.get("GROWTHMESH_CACHE_DIR")
    os.environ["GROWTHMESH_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "sqlmesh-cache")
    yield
    if saved is None:
        os.environ.pop("GROWTHMESH_CACHE_DIR", None)
    else:
        os.environ["GROWTHMESH_CACHE_DIR"] = saved


def copy_project(target):
    """Copy what SQLMesh loads to plan and run into `target` (created), without the YAML unit
    tests: `make test` runs those and `sqlmesh lint`, and parsing them is half of a Context
    load. Plans in the copy skip tests (and, on the CLI, the linter). Returns `target`."""
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    target = Path(target)
    target.mkdir(parents=True)
    for folder in ("models", "macros", "audits", "linter", "seeds"):
        shutil.copytree(root / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("config.yaml", "external_models.yaml"):
        shutil.copyfile(root / name, target / name)
    return target
