"""QAOA (p = 1) for MaxCut on a 6-node graph: the (gamma, beta) landscape, its best point, sampled cuts.

Cut value of a bitstring z: the number of edges (i, j) with z_i != z_j, i.e. C = Σ (1 - Z_i Z_j)/2.
The circuit prepares |gamma, beta> = exp(-i beta Σ X) exp(-i gamma Σ Z_i Z_j) |+...+>: the cost
layer is one ``rzz(2*gamma)`` per edge (the same gate as ``cx; rz(2*gamma); cx``, checked below),
the mixer an ``rx(2*beta)`` per qubit; ``gamma`` and ``beta`` are ``qsim.Parameter`` s.

``qsim.sweep`` evaluates <C> over a 40 x 40 grid in one call (the circuit is planned and fused once,
only the parameterised gates are rebuilt per point); the best grid point is refined with
``qsim.gradient``, sampled with ``qsim.run``, and compared with the brute-force maximum cut.

Run: ``python examples/qaoa_maxcut.py [--plot FILE]``; ``--plot`` writes the landscape figure
(docs/qaoa_landscape.png). ``QSIM_EXAMPLE_QUICK=1`` (set by the test suite) uses a 16 x 16 grid.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

import numpy as np
from scipy.optimize import minimize

import qsim

QUICK = os.environ.get("QSIM_EXAMPLE_QUICK") == "1"
GRID = 16 if QUICK else 40
SHOTS = 2000
SEED = 11

# Two triangles joined by a square's sides: 6 nodes, 8 edges, odd cycles (so not every edge is cut).
NUM_NODES = 6
EDGES = [(0, 1), (0, 2), (1, 2), (1, 3), (2, 4), (3, 4), (3, 5), (4, 5)]


def cut_value(bits: str) -> int:
    """Number of edges cut by the bipartition ``bits`` (character i is node i, qubit i)."""
    return sum(bits[i] != bits[j] for i, j in EDGES)


def qaoa_circuit(gamma: qsim.Parameter, beta: qsim.Parameter, *, cx_rz_cx: bool = False
                 ) -> qsim.Circuit:
    circuit = qsim.Circuit(NUM_NODES)
    for q in range(NUM_NODES):
        circuit.h(q)
    for i, j in EDGES:  # exp(-i gamma Z_i Z_j)
        if cx_rz_cx:
            circuit.cx(i, j).rz(2 * gamma, j).cx(i, j)
        else:
            circuit.rzz(2 * gamma, i, j)
    for q in range(NUM_NODES):  # exp(-i beta X_q)
        circuit.rx(2 * beta, q)
    return circuit


def main(plot: str | None = None) -> float:
    start = time.perf_counter()
    gamma, beta = qsim.Parameter("gamma"), qsim.Parameter("beta")
    circuit = qaoa_circuit(gamma, beta)
    assert circuit.parameters == (gamma, beta)

    # <C> = |E|/2 - (1/2) Σ <Z_i Z_j>, as one Pauli sum in qsim's indexed form.
    cost = qsim.PauliSum.from_string(
        f"{len(EDGES) / 2} " + " ".join(f"- 0.5 Z{i} Z{j}" for i, j in EDGES),
        num_qubits=NUM_NODES)

    # Brute force over all 2^6 bipartitions.
    cuts = {"".join(b): cut_value("".join(b)) for b in itertools.product("01", repeat=NUM_NODES)}
    max_cut = max(cuts.values())
    optimal = sorted(b for b, c in cuts.items() if c == max_cut)

    # The landscape: gamma in [0, pi) (period pi here: every term's eigenvalues are +-1), beta in
    # [0, pi/2) (the mixer's period).
    gammas = np.linspace(0, np.pi, GRID, endpoint=False)
    betas = np.linspace(0, np.pi / 2, GRID, endpoint=False)
    t0 = time.perf_counter()
    landscape = qsim.sweep(circuit, {gamma: gammas, beta: betas}, observable=cost)
    sweep_s = time.perf_counter() - t0
    assert landscape.shape == (GRID, GRID)
    gi, bi = np.unravel_index(np.argmax(landscape), landscape.shape)
    best_grid = (float(gammas[gi]), float(betas[bi]))

    # Checks on the landscape: a grid point equals qsim.expectation, and the state built by hand
    # from Kronecker products (diagonal cost phase, rx on every qubit, |+...+>).
    assert np.isclose(landscape[gi, bi], qsim.expectation(circuit, cost, best_grid), atol=1e-12)
    zz = np.array([sum(1 - 2 * (b[i] != b[j]) for i, j in EDGES) for b in cuts])  # Σ z_i z_j
    rx = qsim.gates.gate_matrix("rx", [2 * best_grid[1]])
    by_hand = qsim.kron(*[rx] * NUM_NODES) @ (np.exp(-1j * best_grid[0] * zz)
                                              * qsim.ket("+" * NUM_NODES))
    cut_of = np.array(list(cuts.values()))
    assert np.isclose(np.sum(np.abs(by_hand) ** 2 * cut_of), landscape[gi, bi], atol=1e-12)
    # beta = 0 leaves |+...+> (a diagonal cost layer changes no probability): <C> = |E|/2.
    assert np.allclose(landscape[:, 0], len(EDGES) / 2)
    # The cx-rz-cx cost layer is the same circuit.
    other = qaoa_circuit(gamma, beta, cx_rz_cx=True)
    assert np.isclose(qsim.expectation(other, cost, best_grid), landscape[gi, bi], atol=1e-12)

    # Refine the best grid point by gradient ascent on <C> (adjoint gradients).
    res = minimize(lambda v: (-qsim.expectation(circuit, cost, v),
                              -qsim.gradient(circuit, cost, v)),
                   best_grid, jac=True, method="BFGS")
    best = (float(res.x[0]), float(res.x[1]))
    expected_cut = -float(res.fun)
    assert expected_cut >= landscape.max() - 1e-12
    assert np.linalg.norm(qsim.gradient(circuit, cost, best)) < 1e-4

    # Sample the optimised circuit.
    sampled = circuit.bind(best).measure_all()
    counts = qsim.run(sampled, shots=SHOTS, seed=SEED).counts
    sampled_cuts = np.repeat([cuts[k] for k in counts], list(counts.values()))
    mean, stderr = sampled_cuts.mean(), sampled_cuts.std(ddof=1) / np.sqrt(SHOTS)
    estimate, est_err = qsim.expectation(circuit, cost, best, shots=SHOTS, seed=SEED + 1)
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:5]
    p_opt = sum(counts.get(b, 0) for b in optimal) / SHOTS
    elapsed = time.perf_counter() - start

    print(f"MaxCut on {NUM_NODES} nodes, edges {EDGES}")
    print(f"  brute force: max cut {max_cut}, by {len(optimal)} bipartitions, e.g. {optimal[:4]}")
    print(f"  landscape: {GRID} x {GRID} grid of <C>(gamma, beta) by qsim.sweep in {sweep_s:.2f} s;"
          f" min {landscape.min():.4f}, max {landscape.max():.4f}")
    print(f"  best grid point: gamma = {best_grid[0]:.4f}, beta = {best_grid[1]:.4f}, "
          f"<C> = {landscape[gi, bi]:.4f}")
    print(f"  refined (BFGS, adjoint gradients): gamma = {best[0]:.4f}, beta = {best[1]:.4f}, "
          f"<C> = {expected_cut:.4f}, approximation ratio {expected_cut / max_cut:.3f}")
    print(f"  {SHOTS} samples (seed {SEED}): mean cut {mean:.3f} ± {stderr:.3f}; "
          f"expectation(shots=) {estimate:.3f} ± {est_err:.3f}; best sampled cut "
          f"{sampled_cuts.max()}; P(max cut) = {p_opt:.3f} (uniform guess: "
          f"{len(optimal) / 2 ** NUM_NODES:.3f})")
    print("  most frequent:", ", ".join(f"{k} (cut {cuts[k]}) x{c}" for k, c in top))
    print(f"  time {elapsed:.2f} s")

    # p = 1 beats random guessing (<C> = |E|/2) and the samples find the maximum cut.
    assert expected_cut > len(EDGES) / 2 + 1.0, expected_cut
    assert expected_cut / max_cut > 0.69, expected_cut / max_cut
    assert abs(mean - expected_cut) < 5 * stderr, (mean, expected_cut, stderr)
    assert abs(estimate - expected_cut) < 5 * est_err, (estimate, expected_cut, est_err)
    assert sampled_cuts.max() == max_cut
    assert p_opt > 2 * len(optimal) / 2 ** NUM_NODES, p_opt

    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.2, 4.0))
        step_g, step_b = gammas[1] - gammas[0], betas[1] - betas[0]
        image = ax.imshow(landscape.T, origin="lower", aspect="auto", cmap="viridis",
                          extent=(gammas[0] - step_g / 2, gammas[-1] + step_g / 2,
                                  betas[0] - step_b / 2, betas[-1] + step_b / 2))
        ax.plot(*best, marker="*", color="red", markersize=12, linestyle="none",
                label=f"best: <C> = {expected_cut:.3f} (max cut {max_cut})")
        fig.colorbar(image, ax=ax, label="<C>  (expected cut)")
        ax.set_xlabel("γ")
        ax.set_ylabel("β")
        ax.set_title(f"QAOA p = 1, MaxCut, {NUM_NODES} nodes ({GRID}×{GRID} sweep)")
        ax.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        fig.savefig(plot, dpi=80)
        plt.close(fig)
        assert os.path.getsize(plot) > 0
        print(f"wrote {plot}")
    return expected_cut


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", metavar="FILE", help="write the landscape figure to FILE (PNG)")
    main(parser.parse_args().plot)
