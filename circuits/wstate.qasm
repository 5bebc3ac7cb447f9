// Three-qubit W state (|100> + |010> + |001>)/sqrt(3).
// ry(theta) with theta = 2*acos(1/sqrt(3)) = 1.9106332362490186 gives q[0] the amplitudes
// 1/sqrt(3) (|0>) and sqrt(2/3) (|1>); ch splits the |1> branch evenly, ccx, x, x and cx move the
// three terms onto the one-hot strings.
// Expected outcome: "100", "010" and "001" each with probability 1/3, nothing else.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
ry(1.9106332362490186) q[0];
ch q[0], q[1];
ccx q[0], q[1], q[2];
x q[0];
x q[1];
cx q[0], q[1];
measure q -> c;
