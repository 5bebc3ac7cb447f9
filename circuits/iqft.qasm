// Inverse quantum Fourier transform on 3 qubits. The input is the Fourier state of x = 6,
// prepared as a product state: qubit j (q[0] most significant) gets the phase 2*pi*x/2^(j+1),
// i.e. 6*pi = 0, 3*pi = pi and 3*pi/2. The inverse QFT maps it back to the basis state |110>.
// Expected outcome: "110" with probability 1.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
h q;
u1(pi) q[1];
u1(3*pi/2) q[2];
barrier q;
// inverse QFT: the QFT circuit reversed, with negated angles
swap q[0], q[2];
h q[2];
cu1(-pi/2) q[2], q[1];
h q[1];
cu1(-pi/4) q[2], q[0];
cu1(-pi/2) q[1], q[0];
h q[0];
measure q -> c;
