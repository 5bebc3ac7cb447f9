// Deutsch-Jozsa on three input bits with the balanced oracle f(x) = x0 XOR x2.
// For a linear oracle f(x) = s.x the algorithm returns s exactly; s = 101 here.
// Expected outcome: "101" with probability 1 ("000" has probability 0: f is balanced, not
// constant).
OPENQASM 2.0;
include "qelib1.inc";
qreg inp[3];
qreg out[1];
creg c[3];
x out[0];
h inp;
h out[0];
// oracle |x>|y> -> |x>|y XOR x0 XOR x2>
cx inp[0], out[0];
cx inp[2], out[0];
h inp;
measure inp -> c;
