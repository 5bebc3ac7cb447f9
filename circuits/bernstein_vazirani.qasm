// Bernstein-Vazirani with the secret string s = 1011 (s0 s1 s2 s3, s0 on inp[0]).
// The oracle computes f(x) = s.x mod 2 into the ancilla prepared in |->.
// Expected outcome: "1011" with probability 1.
OPENQASM 2.0;
include "qelib1.inc";
qreg inp[4];
qreg anc[1];
creg c[4];
x anc[0];
h anc[0];
h inp;
cx inp[0], anc[0];
cx inp[2], anc[0];
cx inp[3], anc[0];
h inp;
measure inp -> c;
