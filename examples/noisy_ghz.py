"""A GHZ circuit under noise: channels from Kraus operators, a noise model, the exact density
matrix, noisy shots, and the ideal and noisy histograms side by side.

    python examples/noisy_ghz.py [--plot FILE]

Checks, by hand: a 1-qubit depolarizing channel of probability p turns |1> into a state that
reads 0 with probability 2p/3 (Cirq's convention: (1-p) rho + p/3 (X rho X + Y rho Y + Z rho Z));
amplitude damping gamma leaves |1> with probability 1 - gamma; a 2-qubit channel made as the
Kronecker product of two 1-qubit ones acts on each qubit independently.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import qsim

QUICK = os.environ.get("QSIM_EXAMPLE_QUICK") == "1"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plot", default=None, help="write the ideal/noisy histogram here")
    args = ap.parse_args()

    # Channels are Kraus sets; a multi-qubit channel can be the Kronecker product of 1-qubit ones.
    dep = qsim.depolarizing(0.06)
    damp = qsim.amplitude_damping(0.1)
    both = dep.tensor(damp)                      # depolarizing on the first qubit, damping on the second
    print(both)
    rho = np.zeros((4, 4), complex)
    rho[3, 3] = 1                                # |11><11|
    out = both.apply_to_density(rho)
    p_first_0 = out[0, 0].real + out[1, 1].real  # qubit 0 reads 0
    p_second_1 = out[1, 1].real + out[3, 3].real  # qubit 1 reads 1
    assert abs(p_first_0 - 2 * 0.06 / 3) < 1e-12, p_first_0
    assert abs(p_second_1 - (1 - 0.1)) < 1e-12, p_second_1

    n = 4 if QUICK else 6
    circuit = qsim.Circuit(n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    circuit.measure_all()

    noise = (qsim.NoiseModel()
             .add(qsim.depolarizing(0.01, qubits=2), gates=["cx"])
             .add(qsim.amplitude_damping(0.02))  # after every gate, on each of its qubits
             .readout(0.03))                     # every qubit reads the wrong value 3% of the time
    print(noise)

    # The exact mixed state (measurements left out), and the ideal one as |psi><psi|.
    rho = qsim.simulate(circuit, noise=noise, backend="density")
    pure = qsim.simulate(circuit, backend="density")
    print(f"purity {rho.purity():.4f}, fidelity with the ideal state {rho.fidelity(pure):.4f}")
    assert abs(pure.purity() - 1) < 1e-12 and rho.purity() < 1

    shots = 2000 if QUICK else 4000
    ideal = qsim.run(circuit, shots=shots, seed=3)
    noisy = qsim.run(circuit, shots=shots, seed=3, noise=noise)
    again = qsim.run(circuit, shots=shots, seed=3, noise=noise, method="trajectories")
    print(f"density-matrix route: {noisy.backend}; noisy shots on the state vector: "
          f"{again.branches} branches for {shots} shots")
    top = sorted(noisy.counts.items(), key=lambda kv: -kv[1])[:4]
    print("most frequent noisy outcomes:", ", ".join(f"{k}: {v}" for k, v in top))
    ghz = {"0" * n, "1" * n}
    assert set(ideal.counts) == ghz
    # The noise moves weight off the two GHZ outcomes on both routes (by far more than the
    # sampling noise of a few shots).
    for res in (noisy, again):
        assert sum(c for k, c in res.counts.items() if k not in ghz) > 0.05 * shots

    if args.plot:
        fig = qsim.plot_histogram([ideal, noisy], legend=["ideal", "noisy"])
        fig.savefig(args.plot)
        print(f"histogram written to {args.plot}")


if __name__ == "__main__":
    main()
