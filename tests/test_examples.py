"""Every script in examples/ runs to completion (each checks its own results with asserts).

The scripts run with ``QSIM_EXAMPLE_QUICK=1``: smaller grids, registers and circuits, the same
assertions (each example keeps its checks meaningful in quick mode).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))
PLOTTING = ["noisy_ghz.py", "qaoa_maxcut.py", "vqe_ising.py"]  # scripts with ``--plot FILE``


def _run(script: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg", QSIM_EXAMPLE_QUICK="1")
    return subprocess.run([sys.executable, str(script), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_there_are_examples():
    assert {p.name for p in EXAMPLES} >= {
        "kronecker_basics.py", "bell_histogram.py", "vqe_ising.py", "qaoa_maxcut.py",
        "sparse_operators.py"}


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    figure = tmp_path / "figure.png"
    args = ["--plot", str(figure)] if script.name in PLOTTING else []
    proc = _run(script, tmp_path, *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip(), "an example should print what it shows"
    if args:
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
