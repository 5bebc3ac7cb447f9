// Cuccaro ripple-carry adder (quant-ph/0410184) computing a + b into b for the 4-bit numbers
// a = 13 and b = 7 (index 0 is the least significant bit of each register).
// 13 + 7 = 20 = binary 10100: b ends as 20 mod 16 = 4 and the carry-out cout is 1; a and cin
// are restored. ans[0..3] = b[0..3] and ans[4] = cout, so the key (ans[0] leftmost) lists the
// bits of 20 least significant first.
// Expected outcome: "00101" with probability 1.
OPENQASM 2.0;
include "qelib1.inc";
gate majority a, b, c { cx c, b; cx c, a; ccx a, b, c; }
gate unmaj a, b, c { ccx a, b, c; cx c, a; cx a, b; }
qreg cin[1];
qreg a[4];
qreg b[4];
qreg cout[1];
creg ans[5];
// a = 13 = 1101 (a[0] = 1, a[1] = 0, a[2] = 1, a[3] = 1)
x a[0];
x a[2];
x a[3];
// b = 7 = 0111 (b[0] = b[1] = b[2] = 1)
x b[0];
x b[1];
x b[2];
majority cin[0], b[0], a[0];
majority a[0], b[1], a[1];
majority a[1], b[2], a[2];
majority a[2], b[3], a[3];
cx a[3], cout[0];
unmaj a[2], b[3], a[3];
unmaj a[1], b[2], a[2];
unmaj a[0], b[1], a[1];
unmaj cin[0], b[0], a[0];
measure b[0] -> ans[0];
measure b[1] -> ans[1];
measure b[2] -> ans[2];
measure b[3] -> ans[3];
measure cout[0] -> ans[4];
