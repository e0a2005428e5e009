#!/usr/bin/env python3
"""Writes cases.inc: the instruction snippets of the host-vs-soft SIMD tests, one CASE_* line
per instruction form. Run: python3 gen_cases.py > cases.inc (the output is committed)."""

FP_PS = "addps subps mulps divps minps maxps sqrtps rcpps rsqrtps andps andnps orps xorps unpcklps unpckhps cvtps2pd cvtps2dq cvttps2dq".split()
FP_SS = "addss subss mulss divss minss maxss sqrtss rcpss rsqrtss cvtss2sd".split()
FP_PD = "addpd subpd mulpd divpd minpd maxpd sqrtpd andpd andnpd orpd xorpd unpcklpd unpckhpd cvtpd2ps cvtpd2dq cvttpd2dq".split()
FP_SD = "addsd subsd mulsd divsd minsd maxsd sqrtsd cvtsd2ss".split()
INT_CVT = "cvtdq2ps cvtdq2pd".split()
INT_BOTH = """paddb paddw paddd paddq paddsb paddsw paddusb paddusw psubb psubw psubd psubq psubsb psubsw
psubusb psubusw pmullw pmulhw pmulhuw pmuludq pmaddwd psadbw pavgb pavgw pminub pmaxub pminsw pmaxsw
pcmpeqb pcmpeqw pcmpeqd pcmpgtb pcmpgtw pcmpgtd pand pandn por pxor punpcklbw punpcklwd punpckldq
punpckhbw punpckhwd punpckhdq packsswb packssdw packuswb psllw pslld psllq psrlw psrld psrlq psraw
psrad""".split()
INT_XMM = "punpcklqdq punpckhqdq".split()

out = []
def case(kind, fam, inp, body):
    out.append(f'CASE_{kind}({len(out)}, "{fam}", {inp}, "{body}")')

for op in FP_PS:
    case("SSE", "sse-fp", "IN_F32", f"{op} %xmm1, %xmm0")
    case("SSE", "sse-fp", "IN_F32", f"{op} 144(%rdi), %xmm0")
for op in FP_SS:
    case("SSE", "sse-fp", "IN_F32", f"{op} %xmm1, %xmm0")
    case("SSE", "sse-fp", "IN_F32", f"{op} 148(%rdi), %xmm0")
for op in FP_PD:
    case("SSE", "sse-fp", "IN_F64", f"{op} %xmm1, %xmm0")
    case("SSE", "sse-fp", "IN_F64", f"{op} 144(%rdi), %xmm0")
for op in FP_SD:
    case("SSE", "sse-fp", "IN_F64", f"{op} %xmm1, %xmm0")
    case("SSE", "sse-fp", "IN_F64", f"{op} 152(%rdi), %xmm0")
for op in INT_CVT:
    case("SSE", "sse-cvt", "IN_INT", f"{op} %xmm1, %xmm0")
    case("SSE", "sse-cvt", "IN_INT", f"{op} 144(%rdi), %xmm0")
for inp, sfx in (("IN_F32", "ps"), ("IN_F32", "ss"), ("IN_F64", "pd"), ("IN_F64", "sd")):
    for p in range(8):
        case("SSE", "sse-cmp", inp, f"cmp{sfx} ${p}, %xmm1, %xmm0")
    case("SSE", "sse-cmp", inp, f"cmp{sfx} $1, 144(%rdi), %xmm0")
    case("SSE", "sse-cmp", inp, f"cmp{sfx} $0xfb, %xmm2, %xmm0")
for inp, op in (("IN_F32", "comiss"), ("IN_F32", "ucomiss"), ("IN_F64", "comisd"), ("IN_F64", "ucomisd")):
    case("SSE", "sse-comi", inp, f"{op} %xmm1, %xmm0")
    case("SSE", "sse-comi", inp, f"{op} 144(%rdi), %xmm0")
for inp, op in (("IN_F32", "cvtss2si"), ("IN_F32", "cvttss2si"), ("IN_F64", "cvtsd2si"), ("IN_F64", "cvttsd2si")):
    case("SSE", "sse-cvt", inp, f"{op} %xmm1, %eax")
    case("SSE", "sse-cvt", inp, f"{op} %xmm1, %rax")
    case("SSE", "sse-cvt", inp, f"{op} 144(%rdi), %ecx")
    case("SSE", "sse-cvt", inp, f"{op} 144(%rdi), %rdx")
for op in ("cvtsi2ss", "cvtsi2sd"):
    case("SSE", "sse-cvt", "IN_GPR", f"mov 176(%rdi), %rax\\n{op} %eax, %xmm0")
    case("SSE", "sse-cvt", "IN_GPR", f"mov 176(%rdi), %rax\\n{op} %rax, %xmm0")
    case("SSE", "sse-cvt", "IN_GPR", f"{op}l 176(%rdi), %xmm0")
    case("SSE", "sse-cvt", "IN_GPR", f"{op}q 176(%rdi), %xmm0")
for op in INT_BOTH + INT_XMM:
    case("SSE", "sse-int", "IN_INT", f"{op} %xmm1, %xmm0")
    case("SSE", "sse-int", "IN_INT", f"{op} 144(%rdi), %xmm0")
for op in INT_BOTH:
    case("MMX", "mmx", "IN_INT", f"{op} %mm1, %mm0")
    case("MMX", "mmx", "IN_INT", f"{op} 144(%rdi), %mm0")
for op in "psllw pslld psllq psrlw psrld psrlq psraw psrad".split():
    for n in (0, 1, 7, 15, 16, 31, 32, 63, 64, 200):
        case("SSE", "sse-shift", "IN_INT", f"{op} ${n}, %xmm0")
    for n in (0, 5, 16, 33, 64):
        case("MMX", "mmx", "IN_INT", f"{op} ${n}, %mm0")
for op in ("pslldq", "psrldq"):
    for n in (0, 1, 3, 8, 15, 16, 255):
        case("SSE", "sse-shift", "IN_INT", f"{op} ${n}, %xmm0")
for imm in (0x1b, 0xe4, 0x4e, 0x00, 0xff, 0x93):
    for op in ("pshufd", "pshuflw", "pshufhw"):
        case("SSE", "sse-shuffle", "IN_INT", f"{op} ${imm}, %xmm1, %xmm0")
    case("SSE", "sse-shuffle", "IN_INT", f"pshufd ${imm}, 144(%rdi), %xmm0")
    case("SSE", "sse-shuffle", "IN_F32", f"shufps ${imm}, %xmm1, %xmm0")
    case("SSE", "sse-shuffle", "IN_F32", f"shufps ${imm}, 144(%rdi), %xmm0")
    case("SSE", "sse-shuffle", "IN_F64", f"shufpd ${imm & 3}, %xmm1, %xmm0")
    case("MMX", "mmx", "IN_INT", f"pshufw ${imm}, %mm1, %mm0")
    case("MMX", "mmx", "IN_INT", f"pshufw ${imm}, 144(%rdi), %mm0")
moves = [
    "movaps %xmm1, %xmm0", "movaps 144(%rdi), %xmm0", "movaps %xmm1, 160(%rdi)",
    "movapd %xmm1, %xmm0", "movdqa 144(%rdi), %xmm0", "movdqa %xmm1, 144(%rdi)",
    "movups 145(%rdi), %xmm0", "movupd %xmm1, 147(%rdi)", "movdqu 151(%rdi), %xmm0",
    "movdqu %xmm1, 153(%rdi)", "movntdq %xmm1, 144(%rdi)", "movntps %xmm1, 160(%rdi)",
    "movntpd %xmm2, 144(%rdi)",
    "movss %xmm1, %xmm0", "movss 148(%rdi), %xmm0", "movss %xmm1, 150(%rdi)",
    "movsd %xmm1, %xmm0", "movsd 152(%rdi), %xmm0", "movsd %xmm1, 146(%rdi)",
    "movd %xmm1, %eax", "movd %xmm1, 148(%rdi)", "movd 148(%rdi), %xmm0",
    "mov 176(%rdi), %rcx\\nmovd %ecx, %xmm0", "mov 176(%rdi), %rcx\\nmovq %rcx, %xmm0",
    "movq %xmm1, %rdx", "movq %xmm1, %xmm0", "movq 152(%rdi), %xmm0", "movq %xmm1, 152(%rdi)",
    "movhps 144(%rdi), %xmm0", "movhps %xmm1, 150(%rdi)", "movlps 152(%rdi), %xmm0",
    "movlps %xmm1, 146(%rdi)", "movhpd 144(%rdi), %xmm0", "movlpd %xmm1, 160(%rdi)",
    "movhlps %xmm1, %xmm0", "movlhps %xmm1, %xmm0",
    "pmovmskb %xmm1, %eax", "movmskps %xmm1, %ecx", "movmskpd %xmm1, %edx",
    "mov 176(%rdi), %rax\\npinsrw $3, %eax, %xmm0", "pinsrw $7, 148(%rdi), %xmm0",
    "pinsrw $13, 148(%rdi), %xmm0", "pextrw $5, %xmm1, %eax", "pextrw $2, %xmm1, %rcx",
    "mov %rdi, %rsi\\nlea 144(%rdi), %rdi\\nmaskmovdqu %xmm1, %xmm0\\nmov %rsi, %rdi",
]
for m in moves:
    case("SSE", "sse-move", "IN_INT", m)
mmx_moves = [
    "movq %mm1, %mm0", "movq 144(%rdi), %mm0", "movq %mm1, 150(%rdi)", "movd %mm1, %eax",
    "movd 148(%rdi), %mm0", "movd %mm1, 148(%rdi)", "mov 176(%rdi), %rcx\\nmovd %ecx, %mm0",
    "mov 176(%rdi), %rcx\\nmovq %rcx, %mm0", "movq %mm1, %rdx", "movq2dq %mm1, %xmm0",
    "movdq2q %xmm1, %mm0", "movntq %mm1, 144(%rdi)", "pmovmskb %mm1, %eax",
    "mov 176(%rdi), %rax\\npinsrw $2, %eax, %mm0", "pextrw $3, %mm1, %ecx",
    "mov %rdi, %rsi\\nlea 144(%rdi), %rdi\\nmaskmovq %mm1, %mm0\\nmov %rsi, %rdi",
    "cvtpi2ps %mm1, %xmm0", "cvtpi2ps 144(%rdi), %xmm0", "cvtpi2pd %mm1, %xmm0",
    "emms\\nmovq %mm1, %mm0",
]
for m in mmx_moves:
    case("MMX", "mmx", "IN_INT", m)
for op in ("cvtps2pi", "cvttps2pi"):
    case("MMX", "mmx", "IN_F32", f"{op} %xmm1, %mm0")
    case("MMX", "mmx", "IN_F32", f"{op} 144(%rdi), %mm0")
for op in ("cvtpd2pi", "cvttpd2pi"):
    case("MMX", "mmx", "IN_F64", f"{op} %xmm1, %mm0")
    case("MMX", "mmx", "IN_F64", f"{op} 144(%rdi), %mm0")
case("SSE", "sse-mxcsr", "IN_INT", "stmxcsr 148(%rdi)")
case("SSE", "sse-mxcsr", "IN_MXCSRVAL", "ldmxcsr 144(%rdi)\\nstmxcsr 160(%rdi)")

# x87: the prologue loads ST(0..3) from the 80-bit values at 144, 160, 176, 192; m32/m64/integer
# memory operands are at 240/248; stores go to 208.
X = []
for op in ("fadd", "fsub", "fsubr", "fmul", "fdiv", "fdivr"):
    X += [f"{op} %st(1), %st", f"{op} %st, %st(2)", f"{op}p %st, %st(1)", f"{op}s 240(%rdi)",
          f"{op}l 248(%rdi)"]
    X += [f"fi{op[1:]}s 240(%rdi)", f"fi{op[1:]}l 240(%rdi)"]
X += ["fcom %st(1)", "fcomp %st(2)", "fcompp", "fucom %st(1)", "fucomp %st(3)", "fucompp",
      "fcoms 240(%rdi)", "fcompl 248(%rdi)", "ficoms 240(%rdi)", "ficompl 240(%rdi)", "ftst",
      "fxam", "fcomi %st(1), %st", "fcomip %st(2), %st", "fucomi %st(1), %st",
      "fucomip %st(3), %st", "ffree %st(0)\\nfxam"]
X += ["flds 240(%rdi)", "fldl 248(%rdi)", "fldt 160(%rdi)", "fld %st(2)", "filds 240(%rdi)",
      "fildl 240(%rdi)", "fildll 240(%rdi)", "fld1", "fldl2t", "fldl2e", "fldpi", "fldlg2",
      "fldln2", "fldz"]
X += ["fsts 208(%rdi)", "fstl 208(%rdi)", "fstpt 208(%rdi)", "fstps 212(%rdi)",
      "fstpl 216(%rdi)", "fst %st(2)", "fstp %st(1)", "fists 208(%rdi)", "fistl 208(%rdi)",
      "fistps 210(%rdi)", "fistpl 212(%rdi)", "fistpll 208(%rdi)", "fbstp 208(%rdi)"]
X += ["fsqrt", "frndint", "fsin", "fcos", "f2xm1", "fabs", "fchs", "fprem", "fprem1", "fscale",
      "fpatan", "fyl2x", "fyl2xp1", "fsincos", "fptan", "fxtract"]
X += ["fxch %st(2)", "fincstp", "fdecstp", "ffree %st(1)", "ffreep %st(0)", "fnop", "fnclex",
      "fninit", "fnstcw 208(%rdi)", "fldcw 240(%rdi)\\nfnstcw 208(%rdi)",
      "fnstenv 208(%rdi)\\nmovl $0, 220(%rdi)\\nmovl $0, 224(%rdi)\\nmovl $0, 228(%rdi)\\nmovl $0, 232(%rdi)",
      "fdecstp\\nfdecstp\\nfdecstp\\nfdecstp\\nfld1\\nfld1",
      "fstp %st(0)\\nfstp %st(0)\\nfstp %st(0)\\nfstp %st(0)\\nfadd %st(1), %st",
      "fstp %st(0)\\nfstp %st(0)\\nfstp %st(0)\\nfstp %st(0)\\nfsts 208(%rdi)\\nfistl 212(%rdi)",
      "fstp %st(0)\\nfstp %st(0)\\nfstp %st(0)\\nfstp %st(0)\\nfsqrt\\nfxch %st(1)\\nfcom %st(2)\\nfcomi %st(1), %st",
      "fldt 144(%rdi)\\nfldt 144(%rdi)\\nfldt 144(%rdi)\\nfldt 144(%rdi)\\nfldt 144(%rdi)",
      "fld1\\nfld1\\nfld1\\nfld1\\nfsincos", "fld1\\nfld1\\nfld1\\nfld1\\nfxtract",
      "movq 240(%rdi), %mm1\\nemms\\nfld1", "movq 240(%rdi), %mm1"]
for cc in ("b", "nb", "e", "ne", "be", "nbe", "u", "nu"):
    X.append(f"mov 240(%rdi), %eax\\ncmp 244(%rdi), %eax\\nfcmov{cc} %st(2), %st")
for x in X:
    case("X87", "x87", "IN_X87", x)

import sys
sys.stdout.write("/* Generated by gen_cases.py: host-vs-soft SIMD test cases. */\n")
sys.stdout.write("\n".join(out) + "\n")
