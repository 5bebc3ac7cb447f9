"""The MPI tests run under ``mpiexec -n N python -m pytest tests/mpi`` (``make test-mpi``): every
rank runs every test, in the same order, so the collectives inside the backend line up.

Outside ``make test-mpi`` (``QSIM_MPI_TESTS`` unset, e.g. the ordinary ``pytest`` run) they are
skipped: ``tests/test_mpi_backend.py`` covers one rank there and launches ``mpiexec`` itself.
A test that fails on some ranks only could leave the others waiting in a collective, so a failure
prints its report and aborts the whole job (``MPI_Abort``) instead of hanging.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.hookimpl(trylast=True)  # after the terminal reporter is registered
def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("QSIM_MPI_TESTS") != "1":
        return
    from mpi4py import MPI

    if MPI.COMM_WORLD.Get_rank() != 0:  # one progress line and summary: rank 0's
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            config.pluginmanager.unregister(reporter)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("QSIM_MPI_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="MPI tests run under mpiexec: make test-mpi")
    for item in items:
        if "tests/mpi/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and os.environ.get("QSIM_MPI_TESTS") == "1":
        from mpi4py import MPI

        world = MPI.COMM_WORLD
        if world.Get_size() > 1:
            sys.stderr.write(f"\nrank {world.Get_rank()}: {item.nodeid} FAILED\n"
                             f"{report.longreprtext}\n")
            sys.stderr.flush()
            world.Abort(1)
