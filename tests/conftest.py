"""Shared pytest setup.

Each pytest process (one per xdist worker under `make test`) gets its own SQLMesh cache
directory, so parallel workers never write the same cache files.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_sqlmesh_cache(tmp_path_factory):
    saved = os.environ.get("GROWTHMESH_CACHE_DIR")
    os.environ["GROWTHMESH_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "sqlmesh-cache")
    yield
    if saved is None:
        os.environ.pop("GROWTHMESH_CACHE_DIR", None)
    else:
        os.environ["GROWTHMESH_CACHE_DIR"] = saved
