// Simon's algorithm for n = 3 with the hidden period s = 110 (s0 = 1 on inp[0], s1 = 1, s2 = 0).
// Oracle: f(x) = x XOR (x0 * s), which is 2-to-1 with f(x) = f(x XOR s).
// Measuring the input register gives a uniformly random y with y.s = 0 (mod 2).
// Expected outcome: "000", "001", "110" and "111" each with probability 1/4; never "010", "011",
// "100" or "101".
OPENQASM 2.0;
include "qelib1.inc";
qreg inp[3];
qreg fx[3];
creg c[3];
h inp;
// copy x into f
cx inp[0], fx[0];
cx inp[1], fx[1];
cx inp[2], fx[2];
// if x0 = 1, XOR s = 110 into f
cx inp[0], fx[0];
cx inp[0], fx[1];
h inp;
measure inp -> c;
