// Five-qubit GHZ state (|00000> + |11111>)/sqrt(2): a Hadamard and a chain of CNOTs.
// Expected outcome: "00000" with probability 1/2 and "11111" with probability 1/2, nothing else.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[5];
creg c[5];
h q[0];
cx q[0], q[1];
cx q[1], q[2];
cx q[2], q[3];
cx q[3], q[4];
measure q -> c;
