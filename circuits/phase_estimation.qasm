// Quantum phase estimation of U = u1(2*pi*phi) with phi = 13/16 on its eigenstate |1>, using 4
// counting qubits (cnt[0] most significant). cnt[j] controls U^(2^(3-j)), i.e. the phase
// 2*pi*(13/16)*2^(3-j): 13*pi, 13*pi/2, 13*pi/4, 13*pi/8. The inverse QFT then reads out
// 16*phi = 13 = binary 1101.
// Expected outcome: "1101" with probability 1.
OPENQASM 2.0;
include "qelib1.inc";
qreg cnt[4];
qreg psi[1];
creg c[4];
x psi[0];
h cnt;
cu1(13*pi) cnt[0], psi[0];
cu1(13*pi/2) cnt[1], psi[0];
cu1(13*pi/4) cnt[2], psi[0];
cu1(13*pi/8) cnt[3], psi[0];
barrier cnt, psi;
// inverse QFT on cnt
swap cnt[0], cnt[3];
swap cnt[1], cnt[2];
h cnt[3];
cu1(-pi/2) cnt[3], cnt[2];
h cnt[2];
cu1(-pi/4) cnt[3], cnt[1];
cu1(-pi/2) cnt[2], cnt[1];
h cnt[1];
cu1(-pi/8) cnt[3], cnt[0];
cu1(-pi/4) cnt[2], cnt[0];
cu1(-pi/2) cnt[1], cnt[0];
h cnt[0];
measure cnt -> c;
