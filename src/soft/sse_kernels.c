/* Host-executed SSE/SSE2/MMX kernels: each guest instruction of the regular `op dst, src` shape
 * runs as the same instruction on the host (x86-64 always has SSE2), on copies of the operands,
 * which gives bit-exact results including NaN propagation, rounding, saturation and the MXCSR
 * flags (SDM Vol. 1 chapters 10, 11; Vol. 2 per instruction). The caller loads the guest MXCSR
 * (simd_host_enter) around floating-point kernels. MMX kernels run on host MMX registers and end
 * with EMMS: the SysV ABI keeps the host x87 stack empty between calls, so nothing is lost. */
#include <Zydis/Zydis.h>

#include "soft/simd.h"

/* d = d op s on 16-byte buffers (xmm0 = d, xmm1 = s). */
#define XMM_KERNEL(fn, insn)                                                                       \
    static void fn(uint8_t *d, const uint8_t *s)                                                   \
    {                                                                                              \
        __asm__ volatile("movdqu (%0), %%xmm0\n\tmovdqu (%1), %%xmm1\n\t" insn                     \
                         " %%xmm1, %%xmm0\n\tmovdqu %%xmm0, (%0)"                                  \
                         :                                                                         \
                         : "r"(d), "r"(s)                                                          \
                         : "xmm0", "xmm1", "memory");                                              \
    }

/* d = d op s on 8-byte buffers (mm0 = d, mm1 = s). */
#define MMX_KERNEL(fn, insn)                                                                       \
    static void fn(uint8_t *d, const uint8_t *s)                                                   \
    {                                                                                              \
        __asm__ volatile("movq (%0), %%mm0\n\tmovq (%1), %%mm1\n\t" insn                           \
                         " %%mm1, %%mm0\n\tmovq %%mm0, (%0)\n\temms"                               \
                         :                                                                         \
                         : "r"(d), "r"(s)                                                          \
                         : "mm0", "mm1", "memory");                                                \
    }

XMM_KERNEL(x_addps, "addps")
XMM_KERNEL(x_addss, "addss")
XMM_KERNEL(x_addpd, "addpd")
XMM_KERNEL(x_addsd, "addsd")
XMM_KERNEL(x_subps, "subps")
XMM_KERNEL(x_subss, "subss")
XMM_KERNEL(x_subpd, "subpd")
XMM_KERNEL(x_subsd, "subsd")
XMM_KERNEL(x_mulps, "mulps")
XMM_KERNEL(x_mulss, "mulss")
XMM_KERNEL(x_mulpd, "mulpd")
XMM_KERNEL(x_mulsd, "mulsd")
XMM_KERNEL(x_divps, "divps")
XMM_KERNEL(x_divss, "divss")
XMM_KERNEL(x_divpd, "divpd")
XMM_KERNEL(x_divsd, "divsd")
XMM_KERNEL(x_minps, "minps")
XMM_KERNEL(x_minss, "minss")
XMM_KERNEL(x_minpd, "minpd")
XMM_KERNEL(x_minsd, "minsd")
XMM_KERNEL(x_maxps, "maxps")
XMM_KERNEL(x_maxss, "maxss")
XMM_KERNEL(x_maxpd, "maxpd")
XMM_KERNEL(x_maxsd, "maxsd")
XMM_KERNEL(x_sqrtps, "sqrtps")
XMM_KERNEL(x_sqrtss, "sqrtss")
XMM_KERNEL(x_sqrtpd, "sqrtpd")
XMM_KERNEL(x_sqrtsd, "sqrtsd")
XMM_KERNEL(x_rcpps, "rcpps")
XMM_KERNEL(x_rcpss, "rcpss")
XMM_KERNEL(x_rsqrtps, "rsqrtps")
XMM_KERNEL(x_rsqrtss, "rsqrtss")
XMM_KERNEL(x_cvtps2pd, "cvtps2pd")
XMM_KERNEL(x_cvtpd2ps, "cvtpd2ps")
XMM_KERNEL(x_cvtss2sd, "cvtss2sd")
XMM_KERNEL(x_cvtsd2ss, "cvtsd2ss")
XMM_KERNEL(x_cvtdq2ps, "cvtdq2ps")
XMM_KERNEL(x_cvtps2dq, "cvtps2dq")
XMM_KERNEL(x_cvttps2dq, "cvttps2dq")
XMM_KERNEL(x_cvtdq2pd, "cvtdq2pd")
XMM_KERNEL(x_cvtpd2dq, "cvtpd2dq")
XMM_KERNEL(x_cvttpd2dq, "cvttpd2dq")
XMM_KERNEL(x_andps, "andps")
XMM_KERNEL(x_andnps, "andnps")
XMM_KERNEL(x_orps, "orps")
XMM_KERNEL(x_xorps, "xorps")
XMM_KERNEL(x_andpd, "andpd")
XMM_KERNEL(x_andnpd, "andnpd")
XMM_KERNEL(x_orpd, "orpd")
XMM_KERNEL(x_xorpd, "xorpd")
XMM_KERNEL(x_unpcklps, "unpcklps")
XMM_KERNEL(x_unpckhps, "unpckhps")
XMM_KERNEL(x_unpcklpd, "unpcklpd")
XMM_KERNEL(x_unpckhpd, "unpckhpd")
XMM_KERNEL(x_punpcklqdq, "punpcklqdq")
XMM_KERNEL(x_punpckhqdq, "punpckhqdq")
XMM_KERNEL(x_paddb, "paddb")
XMM_KERNEL(x_paddw, "paddw")
XMM_KERNEL(x_paddd, "paddd")
XMM_KERNEL(x_paddq, "paddq")
XMM_KERNEL(x_paddsb, "paddsb")
XMM_KERNEL(x_paddsw, "paddsw")
XMM_KERNEL(x_paddusb, "paddusb")
XMM_KERNEL(x_paddusw, "paddusw")
XMM_KERNEL(x_psubb, "psubb")
XMM_KERNEL(x_psubw, "psubw")
XMM_KERNEL(x_psubd, "psubd")
XMM_KERNEL(x_psubq, "psubq")
XMM_KERNEL(x_psubsb, "psubsb")
XMM_KERNEL(x_psubsw, "psubsw")
XMM_KERNEL(x_psubusb, "psubusb")
XMM_KERNEL(x_psubusw, "psubusw")
XMM_KERNEL(x_pmullw, "pmullw")
XMM_KERNEL(x_pmulhw, "pmulhw")
XMM_KERNEL(x_pmulhuw, "pmulhuw")
XMM_KERNEL(x_pmuludq, "pmuludq")
XMM_KERNEL(x_pmaddwd, "pmaddwd")
XMM_KERNEL(x_psadbw, "psadbw")
XMM_KERNEL(x_pavgb, "pavgb")
XMM_KERNEL(x_pavgw, "pavgw")
XMM_KERNEL(x_pminub, "pminub")
XMM_KERNEL(x_pmaxub, "pmaxub")
XMM_KERNEL(x_pminsw, "pminsw")
XMM_KERNEL(x_pmaxsw, "pmaxsw")
XMM_KERNEL(x_pcmpeqb, "pcmpeqb")
XMM_KERNEL(x_pcmpeqw, "pcmpeqw")
XMM_KERNEL(x_pcmpeqd, "pcmpeqd")
XMM_KERNEL(x_pcmpgtb, "pcmpgtb")
XMM_KERNEL(x_pcmpgtw, "pcmpgtw")
XMM_KERNEL(x_pcmpgtd, "pcmpgtd")
XMM_KERNEL(x_pand, "pand")
XMM_KERNEL(x_pandn, "pandn")
XMM_KERNEL(x_por, "por")
XMM_KERNEL(x_pxor, "pxor")
XMM_KERNEL(x_punpcklbw, "punpcklbw")
XMM_KERNEL(x_punpcklwd, "punpcklwd")
XMM_KERNEL(x_punpckldq, "punpckldq")
XMM_KERNEL(x_punpckhbw, "punpckhbw")
XMM_KERNEL(x_punpckhwd, "punpckhwd")
XMM_KERNEL(x_punpckhdq, "punpckhdq")
XMM_KERNEL(x_packsswb, "packsswb")
XMM_KERNEL(x_packssdw, "packssdw")
XMM_KERNEL(x_packuswb, "packuswb")
XMM_KERNEL(x_psllw, "psllw")
XMM_KERNEL(x_pslld, "pslld")
XMM_KERNEL(x_psllq, "psllq")
XMM_KERNEL(x_psrlw, "psrlw")
XMM_KERNEL(x_psrld, "psrld")
XMM_KERNEL(x_psrlq, "psrlq")
XMM_KERNEL(x_psraw, "psraw")
XMM_KERNEL(x_psrad, "psrad")
MMX_KERNEL(m_paddb, "paddb")
MMX_KERNEL(m_paddw, "paddw")
MMX_KERNEL(m_paddd, "paddd")
MMX_KERNEL(m_paddq, "paddq")
MMX_KERNEL(m_paddsb, "paddsb")
MMX_KERNEL(m_paddsw, "paddsw")
MMX_KERNEL(m_paddusb, "paddusb")
MMX_KERNEL(m_paddusw, "paddusw")
MMX_KERNEL(m_psubb, "psubb")
MMX_KERNEL(m_psubw, "psubw")
MMX_KERNEL(m_psubd, "psubd")
MMX_KERNEL(m_psubq, "psubq")
MMX_KERNEL(m_psubsb, "psubsb")
MMX_KERNEL(m_psubsw, "psubsw")
MMX_KERNEL(m_psubusb, "psubusb")
MMX_KERNEL(m_psubusw, "psubusw")
MMX_KERNEL(m_pmullw, "pmullw")
MMX_KERNEL(m_pmulhw, "pmulhw")
MMX_KERNEL(m_pmulhuw, "pmulhuw")
MMX_KERNEL(m_pmuludq, "pmuludq")
MMX_KERNEL(m_pmaddwd, "pmaddwd")
MMX_KERNEL(m_psadbw, "psadbw")
MMX_KERNEL(m_pavgb, "pavgb")
MMX_KERNEL(m_pavgw, "pavgw")
MMX_KERNEL(m_pminub, "pminub")
MMX_KERNEL(m_pmaxub, "pmaxub")
MMX_KERNEL(m_pminsw, "pminsw")
MMX_KERNEL(m_pmaxsw, "pmaxsw")
MMX_KERNEL(m_pcmpeqb, "pcmpeqb")
MMX_KERNEL(m_pcmpeqw, "pcmpeqw")
MMX_KERNEL(m_pcmpeqd, "pcmpeqd")
MMX_KERNEL(m_pcmpgtb, "pcmpgtb")
MMX_KERNEL(m_pcmpgtw, "pcmpgtw")
MMX_KERNEL(m_pcmpgtd, "pcmpgtd")
MMX_KERNEL(m_pand, "pand")
MMX_KERNEL(m_pandn, "pandn")
MMX_KERNEL(m_por, "por")
MMX_KERNEL(m_pxor, "pxor")
MMX_KERNEL(m_punpcklbw, "punpcklbw")
MMX_KERNEL(m_punpcklwd, "punpcklwd")
MMX_KERNEL(m_punpckldq, "punpckldq")
MMX_KERNEL(m_punpckhbw, "punpckhbw")
MMX_KERNEL(m_punpckhwd, "punpckhwd")
MMX_KERNEL(m_punpckhdq, "punpckhdq")
MMX_KERNEL(m_packsswb, "packsswb")
MMX_KERNEL(m_packssdw, "packssdw")
MMX_KERNEL(m_packuswb, "packuswb")
MMX_KERNEL(m_psllw, "psllw")
MMX_KERNEL(m_pslld, "pslld")
MMX_KERNEL(m_psllq, "psllq")
MMX_KERNEL(m_psrlw, "psrlw")
MMX_KERNEL(m_psrld, "psrld")
MMX_KERNEL(m_psrlq, "psrlq")
MMX_KERNEL(m_psraw, "psraw")
MMX_KERNEL(m_psrad, "psrad")

static const struct simd_kernel kernels[ZYDIS_MNEMONIC_MAX_VALUE + 1] = {
    [ZYDIS_MNEMONIC_ADDPS] = {x_addps, NULL, true},
    [ZYDIS_MNEMONIC_ADDSS] = {x_addss, NULL, true},
    [ZYDIS_MNEMONIC_ADDPD] = {x_addpd, NULL, true},
    [ZYDIS_MNEMONIC_ADDSD] = {x_addsd, NULL, true},
    [ZYDIS_MNEMONIC_SUBPS] = {x_subps, NULL, true},
    [ZYDIS_MNEMONIC_SUBSS] = {x_subss, NULL, true},
    [ZYDIS_MNEMONIC_SUBPD] = {x_subpd, NULL, true},
    [ZYDIS_MNEMONIC_SUBSD] = {x_subsd, NULL, true},
    [ZYDIS_MNEMONIC_MULPS] = {x_mulps, NULL, true},
    [ZYDIS_MNEMONIC_MULSS] = {x_mulss, NULL, true},
    [ZYDIS_MNEMONIC_MULPD] = {x_mulpd, NULL, true},
    [ZYDIS_MNEMONIC_MULSD] = {x_mulsd, NULL, true},
    [ZYDIS_MNEMONIC_DIVPS] = {x_divps, NULL, true},
    [ZYDIS_MNEMONIC_DIVSS] = {x_divss, NULL, true},
    [ZYDIS_MNEMONIC_DIVPD] = {x_divpd, NULL, true},
    [ZYDIS_MNEMONIC_DIVSD] = {x_divsd, NULL, true},
    [ZYDIS_MNEMONIC_MINPS] = {x_minps, NULL, true},
    [ZYDIS_MNEMONIC_MINSS] = {x_minss, NULL, true},
    [ZYDIS_MNEMONIC_MINPD] = {x_minpd, NULL, true},
    [ZYDIS_MNEMONIC_MINSD] = {x_minsd, NULL, true},
    [ZYDIS_MNEMONIC_MAXPS] = {x_maxps, NULL, true},
    [ZYDIS_MNEMONIC_MAXSS] = {x_maxss, NULL, true},
    [ZYDIS_MNEMONIC_MAXPD] = {x_maxpd, NULL, true},
    [ZYDIS_MNEMONIC_MAXSD] = {x_maxsd, NULL, true},
    [ZYDIS_MNEMONIC_SQRTPS] = {x_sqrtps, NULL, true},
    [ZYDIS_MNEMONIC_SQRTSS] = {x_sqrtss, NULL, true},
    [ZYDIS_MNEMONIC_SQRTPD] = {x_sqrtpd, NULL, true},
    [ZYDIS_MNEMONIC_SQRTSD] = {x_sqrtsd, NULL, true},
    [ZYDIS_MNEMONIC_RCPPS] = {x_rcpps, NULL, true},
    [ZYDIS_MNEMONIC_RCPSS] = {x_rcpss, NULL, true},
    [ZYDIS_MNEMONIC_RSQRTPS] = {x_rsqrtps, NULL, true},
    [ZYDIS_MNEMONIC_RSQRTSS] = {x_rsqrtss, NULL, true},
    [ZYDIS_MNEMONIC_CVTPS2PD] = {x_cvtps2pd, NULL, true},
    [ZYDIS_MNEMONIC_CVTPD2PS] = {x_cvtpd2ps, NULL, true},
    [ZYDIS_MNEMONIC_CVTSS2SD] = {x_cvtss2sd, NULL, true},
    [ZYDIS_MNEMONIC_CVTSD2SS] = {x_cvtsd2ss, NULL, true},
    [ZYDIS_MNEMONIC_CVTDQ2PS] = {x_cvtdq2ps, NULL, true},
    [ZYDIS_MNEMONIC_CVTPS2DQ] = {x_cvtps2dq, NULL, true},
    [ZYDIS_MNEMONIC_CVTTPS2DQ] = {x_cvttps2dq, NULL, true},
    [ZYDIS_MNEMONIC_CVTDQ2PD] = {x_cvtdq2pd, NULL, true},
    [ZYDIS_MNEMONIC_CVTPD2DQ] = {x_cvtpd2dq, NULL, true},
    [ZYDIS_MNEMONIC_CVTTPD2DQ] = {x_cvttpd2dq, NULL, true},
    [ZYDIS_MNEMONIC_ANDPS] = {x_andps, NULL, false},
    [ZYDIS_MNEMONIC_ANDNPS] = {x_andnps, NULL, false},
    [ZYDIS_MNEMONIC_ORPS] = {x_orps, NULL, false},
    [ZYDIS_MNEMONIC_XORPS] = {x_xorps, NULL, false},
    [ZYDIS_MNEMONIC_ANDPD] = {x_andpd, NULL, false},
    [ZYDIS_MNEMONIC_ANDNPD] = {x_andnpd, NULL, false},
    [ZYDIS_MNEMONIC_ORPD] = {x_orpd, NULL, false},
    [ZYDIS_MNEMONIC_XORPD] = {x_xorpd, NULL, false},
    [ZYDIS_MNEMONIC_UNPCKLPS] = {x_unpcklps, NULL, false},
    [ZYDIS_MNEMONIC_UNPCKHPS] = {x_unpckhps, NULL, false},
    [ZYDIS_MNEMONIC_UNPCKLPD] = {x_unpcklpd, NULL, false},
    [ZYDIS_MNEMONIC_UNPCKHPD] = {x_unpckhpd, NULL, false},
    [ZYDIS_MNEMONIC_PUNPCKLQDQ] = {x_punpcklqdq, NULL, false},
    [ZYDIS_MNEMONIC_PUNPCKHQDQ] = {x_punpckhqdq, NULL, false},
    [ZYDIS_MNEMONIC_PADDB] = {x_paddb, m_paddb, false},
    [ZYDIS_MNEMONIC_PADDW] = {x_paddw, m_paddw, false},
    [ZYDIS_MNEMONIC_PADDD] = {x_paddd, m_paddd, false},
    [ZYDIS_MNEMONIC_PADDQ] = {x_paddq, m_paddq, false},
    [ZYDIS_MNEMONIC_PADDSB] = {x_paddsb, m_paddsb, false},
    [ZYDIS_MNEMONIC_PADDSW] = {x_paddsw, m_paddsw, false},
    [ZYDIS_MNEMONIC_PADDUSB] = {x_paddusb, m_paddusb, false},
    [ZYDIS_MNEMONIC_PADDUSW] = {x_paddusw, m_paddusw, false},
    [ZYDIS_MNEMONIC_PSUBB] = {x_psubb, m_psubb, false},
    [ZYDIS_MNEMONIC_PSUBW] = {x_psubw, m_psubw, false},
    [ZYDIS_MNEMONIC_PSUBD] = {x_psubd, m_psubd, false},
    [ZYDIS_MNEMONIC_PSUBQ] = {x_psubq, m_psubq, false},
    [ZYDIS_MNEMONIC_PSUBSB] = {x_psubsb, m_psubsb, false},
    [ZYDIS_MNEMONIC_PSUBSW] = {x_psubsw, m_psubsw, false},
    [ZYDIS_MNEMONIC_PSUBUSB] = {x_psubusb, m_psubusb, false},
    [ZYDIS_MNEMONIC_PSUBUSW] = {x_psubusw, m_psubusw, false},
    [ZYDIS_MNEMONIC_PMULLW] = {x_pmullw, m_pmullw, false},
    [ZYDIS_MNEMONIC_PMULHW] = {x_pmulhw, m_pmulhw, false},
    [ZYDIS_MNEMONIC_PMULHUW] = {x_pmulhuw, m_pmulhuw, false},
    [ZYDIS_MNEMONIC_PMULUDQ] = {x_pmuludq, m_pmuludq, false},
    [ZYDIS_MNEMONIC_PMADDWD] = {x_pmaddwd, m_pmaddwd, false},
    [ZYDIS_MNEMONIC_PSADBW] = {x_psadbw, m_psadbw, false},
    [ZYDIS_MNEMONIC_PAVGB] = {x_pavgb, m_pavgb, false},
    [ZYDIS_MNEMONIC_PAVGW] = {x_pavgw, m_pavgw, false},
    [ZYDIS_MNEMONIC_PMINUB] = {x_pminub, m_pminub, false},
    [ZYDIS_MNEMONIC_PMAXUB] = {x_pmaxub, m_pmaxub, false},
    [ZYDIS_MNEMONIC_PMINSW] = {x_pminsw, m_pminsw, false},
    [ZYDIS_MNEMONIC_PMAXSW] = {x_pmaxsw, m_pmaxsw, false},
    [ZYDIS_MNEMONIC_PCMPEQB] = {x_pcmpeqb, m_pcmpeqb, false},
    [ZYDIS_MNEMONIC_PCMPEQW] = {x_pcmpeqw, m_pcmpeqw, false},
    [ZYDIS_MNEMONIC_PCMPEQD] = {x_pcmpeqd, m_pcmpeqd, false},
    [ZYDIS_MNEMONIC_PCMPGTB] = {x_pcmpgtb, m_pcmpgtb, false},
    [ZYDIS_MNEMONIC_PCMPGTW] = {x_pcmpgtw, m_pcmpgtw, false},
    [ZYDIS_MNEMONIC_PCMPGTD] = {x_pcmpgtd, m_pcmpgtd, false},
    [ZYDIS_MNEMONIC_PAND] = {x_pand, m_pand, false},
    [ZYDIS_MNEMONIC_PANDN] = {x_pandn, m_pandn, false},
    [ZYDIS_MNEMONIC_POR] = {x_por, m_por, false},
    [ZYDIS_MNEMONIC_PXOR] = {x_pxor, m_pxor, false},
    [ZYDIS_MNEMONIC_PUNPCKLBW] = {x_punpcklbw, m_punpcklbw, false},
    [ZYDIS_MNEMONIC_PUNPCKLWD] = {x_punpcklwd, m_punpcklwd, false},
    [ZYDIS_MNEMONIC_PUNPCKLDQ] = {x_punpckldq, m_punpckldq, false},
    [ZYDIS_MNEMONIC_PUNPCKHBW] = {x_punpckhbw, m_punpckhbw, false},
    [ZYDIS_MNEMONIC_PUNPCKHWD] = {x_punpckhwd, m_punpckhwd, false},
    [ZYDIS_MNEMONIC_PUNPCKHDQ] = {x_punpckhdq, m_punpckhdq, false},
    [ZYDIS_MNEMONIC_PACKSSWB] = {x_packsswb, m_packsswb, false},
    [ZYDIS_MNEMONIC_PACKSSDW] = {x_packssdw, m_packssdw, false},
    [ZYDIS_MNEMONIC_PACKUSWB] = {x_packuswb, m_packuswb, false},
    [ZYDIS_MNEMONIC_PSLLW] = {x_psllw, m_psllw, false},
    [ZYDIS_MNEMONIC_PSLLD] = {x_pslld, m_pslld, false},
    [ZYDIS_MNEMONIC_PSLLQ] = {x_psllq, m_psllq, false},
    [ZYDIS_MNEMONIC_PSRLW] = {x_psrlw, m_psrlw, false},
    [ZYDIS_MNEMONIC_PSRLD] = {x_psrld, m_psrld, false},
    [ZYDIS_MNEMONIC_PSRLQ] = {x_psrlq, m_psrlq, false},
    [ZYDIS_MNEMONIC_PSRAW] = {x_psraw, m_psraw, false},
    [ZYDIS_MNEMONIC_PSRAD] = {x_psrad, m_psrad, false},
};

const struct simd_kernel *simd_kernel_of(unsigned mnemonic)
{
    if (mnemonic > ZYDIS_MNEMONIC_MAX_VALUE || !kernels[mnemonic].x)
        return NULL;
    return &kernels[mnemonic];
}

/* CMPPS/CMPSS/CMPPD/CMPSD with predicate imm8 0..7 (the immediate must be a constant in the
 * host instruction, hence one kernel per predicate). */
#define CMP_KERNEL(fn, insn, imm)                                                                  \
    static void fn(uint8_t *d, const uint8_t *s)                                                   \
    {                                                                                              \
        __asm__ volatile("movdqu (%0), %%xmm0\n\tmovdqu (%1), %%xmm1\n\t" insn " $" #imm           \
                         ", %%xmm1, %%xmm0\n\tmovdqu %%xmm0, (%0)"                                 \
                         :                                                                         \
                         : "r"(d), "r"(s)                                                          \
                         : "xmm0", "xmm1", "memory");                                              \
    }

CMP_KERNEL(cmpps_0, "cmpps", 0)
CMP_KERNEL(cmpps_1, "cmpps", 1)
CMP_KERNEL(cmpps_2, "cmpps", 2)
CMP_KERNEL(cmpps_3, "cmpps", 3)
CMP_KERNEL(cmpps_4, "cmpps", 4)
CMP_KERNEL(cmpps_5, "cmpps", 5)
CMP_KERNEL(cmpps_6, "cmpps", 6)
CMP_KERNEL(cmpps_7, "cmpps", 7)
static void (*const cmpps[8])(uint8_t *, const uint8_t *) = {cmpps_0, cmpps_1, cmpps_2, cmpps_3,
                                                             cmpps_4, cmpps_5, cmpps_6, cmpps_7};
CMP_KERNEL(cmpss_0, "cmpss", 0)
CMP_KERNEL(cmpss_1, "cmpss", 1)
CMP_KERNEL(cmpss_2, "cmpss", 2)
CMP_KERNEL(cmpss_3, "cmpss", 3)
CMP_KERNEL(cmpss_4, "cmpss", 4)
CMP_KERNEL(cmpss_5, "cmpss", 5)
CMP_KERNEL(cmpss_6, "cmpss", 6)
CMP_KERNEL(cmpss_7, "cmpss", 7)
static void (*const cmpss[8])(uint8_t *, const uint8_t *) = {cmpss_0, cmpss_1, cmpss_2, cmpss_3,
                                                             cmpss_4, cmpss_5, cmpss_6, cmpss_7};
CMP_KERNEL(cmppd_0, "cmppd", 0)
CMP_KERNEL(cmppd_1, "cmppd", 1)
CMP_KERNEL(cmppd_2, "cmppd", 2)
CMP_KERNEL(cmppd_3, "cmppd", 3)
CMP_KERNEL(cmppd_4, "cmppd", 4)
CMP_KERNEL(cmppd_5, "cmppd", 5)
CMP_KERNEL(cmppd_6, "cmppd", 6)
CMP_KERNEL(cmppd_7, "cmppd", 7)
static void (*const cmppd[8])(uint8_t *, const uint8_t *) = {cmppd_0, cmppd_1, cmppd_2, cmppd_3,
                                                             cmppd_4, cmppd_5, cmppd_6, cmppd_7};
CMP_KERNEL(cmpsd_0, "cmpsd", 0)
CMP_KERNEL(cmpsd_1, "cmpsd", 1)
CMP_KERNEL(cmpsd_2, "cmpsd", 2)
CMP_KERNEL(cmpsd_3, "cmpsd", 3)
CMP_KERNEL(cmpsd_4, "cmpsd", 4)
CMP_KERNEL(cmpsd_5, "cmpsd", 5)
CMP_KERNEL(cmpsd_6, "cmpsd", 6)
CMP_KERNEL(cmpsd_7, "cmpsd", 7)
static void (*const cmpsd[8])(uint8_t *, const uint8_t *) = {cmpsd_0, cmpsd_1, cmpsd_2, cmpsd_3,
                                                             cmpsd_4, cmpsd_5, cmpsd_6, cmpsd_7};

void simd_host_cmp(unsigned mnemonic, unsigned pred, uint8_t *d, const uint8_t *s)
{
    pred &= 7;
    switch (mnemonic) {
    case ZYDIS_MNEMONIC_CMPPS:
        cmpps[pred](d, s);
        break;
    case ZYDIS_MNEMONIC_CMPSS:
        cmpss[pred](d, s);
        break;
    case ZYDIS_MNEMONIC_CMPPD:
        cmppd[pred](d, s);
        break;
    default:
        cmpsd[pred](d, s);
        break;
    }
}

/* Scalar/packed float -> integer in a GPR (w: 64-bit destination). */
uint64_t simd_host_cvt2si(unsigned mnemonic, const uint8_t *s, bool w)
{
    uint64_t r = 0;
    switch (mnemonic) {
    case ZYDIS_MNEMONIC_CVTSS2SI:
        if (w)
            __asm__ volatile("cvtss2si (%1), %0" : "=r"(r) : "r"(s) : "memory");
        else
            __asm__ volatile("cvtss2si (%1), %k0" : "=r"(r) : "r"(s) : "memory");
        break;
    case ZYDIS_MNEMONIC_CVTTSS2SI:
        if (w)
            __asm__ volatile("cvttss2si (%1), %0" : "=r"(r) : "r"(s) : "memory");
        else
            __asm__ volatile("cvttss2si (%1), %k0" : "=r"(r) : "r"(s) : "memory");
        break;
    case ZYDIS_MNEMONIC_CVTSD2SI:
        if (w)
            __asm__ volatile("cvtsd2si (%1), %0" : "=r"(r) : "r"(s) : "memory");
        else
            __asm__ volatile("cvtsd2si (%1), %k0" : "=r"(r) : "r"(s) : "memory");
        break;
    default: /* CVTTSD2SI */
        if (w)
            __asm__ volatile("cvttsd2si (%1), %0" : "=r"(r) : "r"(s) : "memory");
        else
            __asm__ volatile("cvttsd2si (%1), %k0" : "=r"(r) : "r"(s) : "memory");
        break;
    }
    return w ? r : (uint32_t)r;
}

/* Integer (32 or 64 bits) -> scalar float into the low element of d (rest of d kept). */
void simd_host_cvtsi2(unsigned mnemonic, uint8_t *d, uint64_t v, bool w)
{
    if (mnemonic == ZYDIS_MNEMONIC_CVTSI2SS) {
        if (w)
            __asm__ volatile("movdqu (%0), %%xmm0\n\tcvtsi2ssq %1, %%xmm0\n\tmovdqu %%xmm0, (%0)"
                             :
                             : "r"(d), "r"(v)
                             : "xmm0", "memory");
        else
            __asm__ volatile("movdqu (%0), %%xmm0\n\tcvtsi2ssl %k1, %%xmm0\n\tmovdqu %%xmm0, (%0)"
                             :
                             : "r"(d), "r"(v)
                             : "xmm0", "memory");
    } else {
        if (w)
            __asm__ volatile("movdqu (%0), %%xmm0\n\tcvtsi2sdq %1, %%xmm0\n\tmovdqu %%xmm0, (%0)"
                             :
                             : "r"(d), "r"(v)
                             : "xmm0", "memory");
        else
            __asm__ volatile("movdqu (%0), %%xmm0\n\tcvtsi2sdl %k1, %%xmm0\n\tmovdqu %%xmm0, (%0)"
                             :
                             : "r"(d), "r"(v)
                             : "xmm0", "memory");
    }
}

/* Conversions between packed floats and MMX integers. d and s are 16-byte buffers; the MMX side
 * is the low 8 bytes. Host memory forms keep the host MMX registers out of it where possible. */
void simd_host_cvt_mmx(unsigned mnemonic, uint8_t *d, const uint8_t *s)
{
    switch (mnemonic) {
    case ZYDIS_MNEMONIC_CVTPI2PS:
        __asm__ volatile("movdqu (%0), %%xmm0\n\tcvtpi2ps (%1), %%xmm0\n\tmovdqu %%xmm0, (%0)"
                         :
                         : "r"(d), "r"(s)
                         : "xmm0", "memory");
        break;
    case ZYDIS_MNEMONIC_CVTPI2PD:
        __asm__ volatile("cvtpi2pd (%1), %%xmm0\n\tmovdqu %%xmm0, (%0)"
                         :
                         : "r"(d), "r"(s)
                         : "xmm0", "memory");
        break;
    case ZYDIS_MNEMONIC_CVTPS2PI:
        __asm__ volatile("movdqu (%1), %%xmm1\n\tcvtps2pi %%xmm1, %%mm0\n\tmovq %%mm0, (%0)\n\temms"
                         :
                         : "r"(d), "r"(s)
                         : "xmm1", "mm0", "memory");
        break;
    case ZYDIS_MNEMONIC_CVTTPS2PI:
        __asm__ volatile(
            "movdqu (%1), %%xmm1\n\tcvttps2pi %%xmm1, %%mm0\n\tmovq %%mm0, (%0)\n\temms"
            :
            : "r"(d), "r"(s)
            : "xmm1", "mm0", "memory");
        break;
    case ZYDIS_MNEMONIC_CVTPD2PI:
        __asm__ volatile("movdqu (%1), %%xmm1\n\tcvtpd2pi %%xmm1, %%mm0\n\tmovq %%mm0, (%0)\n\temms"
                         :
                         : "r"(d), "r"(s)
                         : "xmm1", "mm0", "memory");
        break;
    default: /* CVTTPD2PI */
        __asm__ volatile(
            "movdqu (%1), %%xmm1\n\tcvttpd2pi %%xmm1, %%mm0\n\tmovq %%mm0, (%0)\n\temms"
            :
            : "r"(d), "r"(s)
            : "xmm1", "mm0", "memory");
        break;
    }
}

/* COMISS/UCOMISS/COMISD/UCOMISD: returns the ZF/PF/CF bits of RFLAGS. */
uint64_t simd_host_comi(unsigned mnemonic, const uint8_t *a, const uint8_t *b)
{
    bool z, p, c;
    switch (mnemonic) {
    case ZYDIS_MNEMONIC_COMISS:
        __asm__ volatile("movdqu (%3), %%xmm0\n\tmovdqu (%4), %%xmm1\n\tcomiss %%xmm1, %%xmm0"
                         : "=@ccz"(z), "=@ccp"(p), "=@ccc"(c)
                         : "r"(a), "r"(b)
                         : "xmm0", "xmm1", "memory");
        break;
    case ZYDIS_MNEMONIC_UCOMISS:
        __asm__ volatile("movdqu (%3), %%xmm0\n\tmovdqu (%4), %%xmm1\n\tucomiss %%xmm1, %%xmm0"
                         : "=@ccz"(z), "=@ccp"(p), "=@ccc"(c)
                         : "r"(a), "r"(b)
                         : "xmm0", "xmm1", "memory");
        break;
    case ZYDIS_MNEMONIC_COMISD:
        __asm__ volatile("movdqu (%3), %%xmm0\n\tmovdqu (%4), %%xmm1\n\tcomisd %%xmm1, %%xmm0"
                         : "=@ccz"(z), "=@ccp"(p), "=@ccc"(c)
                         : "r"(a), "r"(b)
                         : "xmm0", "xmm1", "memory");
        break;
    default:
        __asm__ volatile("movdqu (%3), %%xmm0\n\tmovdqu (%4), %%xmm1\n\tucomisd %%xmm1, %%xmm0"
                         : "=@ccz"(z), "=@ccp"(p), "=@ccc"(c)
                         : "r"(a), "r"(b)
                         : "xmm0", "xmm1", "memory");
        break;
    }
    return (z ? RFLAGS_ZF : 0) | (p ? RFLAGS_PF : 0) | (c ? RFLAGS_CF : 0);
}
