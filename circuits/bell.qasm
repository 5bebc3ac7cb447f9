// Bell state |Phi+> = (|00> + |11>)/sqrt(2).
// Expected outcome: "00" with probability 1/2 and "11" with probability 1/2; "01" and "10" never.
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
