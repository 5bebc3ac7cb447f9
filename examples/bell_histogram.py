"""Sample a Bell circuit, print the counts and save a histogram.

Run: ``python examples/bell_histogram.py [OUTPUT]`` writes ``bell_histogram_example.png`` into the
current directory, or to OUTPUT (a file name, or an existing directory to write the file into).
(Not ``bell_histogram.png``: that is the file ``make demo`` writes.)
"""

from __future__ import annotations

import math
import os
import sys

import qsim

SHOTS = 2000
SEED = 1234
OUTPUT = "bell_histogram_example.png"


def main(argv: list[str]) -> str:
    out = argv[1] if len(argv) > 1 else OUTPUT
    if os.path.isdir(out):
        out = os.path.join(out, OUTPUT)

    bell = qsim.Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    result = qsim.run(bell, shots=SHOTS, seed=SEED)
    print(f"Bell circuit, {SHOTS} shots, seed {SEED}:")
    for key, count in sorted(result.counts.items()):
        print(f"  {key}: {count}")

    # Only the correlated outcomes occur, each with probability 1/2 (checked to 5 sigma).
    assert set(result.counts) <= {"00", "11"}, result.counts
    assert sum(result.counts.values()) == SHOTS
    assert abs(result.counts.get("00", 0) / SHOTS - 0.5) < 5 * math.sqrt(0.25 / SHOTS)
    # The same seed gives the same counts.
    assert qsim.run(bell, shots=SHOTS, seed=SEED).counts == result.counts

    fig = qsim.plot_histogram(result, title="Bell state (|00> + |11>)/√2")
    fig.savefig(out)
    assert os.path.getsize(out) > 0
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main(sys.argv)
