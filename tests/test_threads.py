"""The thread count changes speed, never results: the same seed gives the same state, counts and
memory at every thread count, in the API and on the command line."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import qsim
from qsim import Circuit, SimulationError
from qsim.backends.dense import state as dense_state
from qsim.cli import cli

N = 17  # 2**17 amplitudes: above the kernels' MIN_PARALLEL, so threads really split the work


def circuit(seed: int, dynamic: bool) -> Circuit:
    rng = np.random.default_rng(seed)
    c = Circuit(N, 2)
    for layer in range(4):
        for q in range(N):
            c.u3(*rng.uniform(0, 3, 3), q)
        for q in range(layer % 2, N - 1, 2):
            c.cx(q, q + 1)
        if dynamic and layer == 1:
            c.measure(3, 0).x(5).c_if("c", 1)
    return c.measure_all()


@pytest.mark.parametrize("kernels", ["numpy", "numba"])
@pytest.mark.parametrize("dynamic", [False, True])
def test_same_results_at_every_thread_count(dynamic: bool, kernels: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dense_state, "KERNELS", kernels)  # each kernel set on its own
    c = circuit(3, dynamic)
    ref = qsim.run(c, shots=3000, seed=11, memory=True, threads=1, keep_state=True)
    for t in (2, 3):
        res = qsim.run(c, shots=3000, seed=11, memory=True, threads=t, keep_state=True)
        assert res.counts == ref.counts and res.memory == ref.memory
        np.testing.assert_array_equal(res.state.data, ref.state.data)
    np.testing.assert_array_equal(qsim.simulate(c, threads=2, seed=4).data,
                                  qsim.simulate(c, threads=1, seed=4).data)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_thread_counts_are_refused(bad) -> None:  # noqa: ANN001
    with pytest.raises(SimulationError, match="threads must be a positive integer"):
        qsim.simulate(Circuit(1).h(0), threads=bad)


def test_cli_threads(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "c.qasm"
    path.write_text(qsim.to_qasm(circuit(5, False)))
    out = [CliRunner().invoke(cli, ["run", str(path), "--seed", "2", "--shots", "500",
                                    "--format", "json", "--threads", t]) for t in ("1", "2")]
    assert all(o.exit_code == 0 for o in out), out[0].output
    import json

    assert json.loads(out[0].stdout)["counts"] == json.loads(out[1].stdout)["counts"]
    assert CliRunner().invoke(cli, ["run", str(path), "--threads", "0"]).exit_code == 2
