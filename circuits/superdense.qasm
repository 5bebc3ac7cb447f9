// Superdense coding: two classical bits per qubit sent, using a shared Bell pair.
// Pair A (q[0] Alice, q[1] Bob) carries the message "10": Alice applies z.
// Pair B (q[2] Alice, q[3] Bob) carries the message "01": Alice applies x.
// Bob decodes each pair with cx then h on Alice's qubit and measures (Alice's qubit gives the
// first bit of the message, his own the second).
// Expected outcome: "1001" with probability 1.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[4];
creg c[4];
// shared Bell pairs
h q[0];
cx q[0], q[1];
h q[2];
cx q[2], q[3];
barrier q;
// encoding: message b0 b1 -> z^b0 x^b1 on Alice's qubit
z q[0];
x q[2];
barrier q;
// decoding
cx q[0], q[1];
h q[0];
cx q[2], q[3];
h q[2];
measure q -> c;
