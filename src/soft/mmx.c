/* MMX state instructions (SDM Vol. 1 9.5, Vol. 2 EMMS). The MMX arithmetic forms share the
 * SSE2 handlers of sse_ops.c; the x87 <-> MMX aliasing lives in sse_state.c. */
#include "soft/simd.h"

/* EMMS: marks every x87 register empty (tag word all ones, abridged tag 0). */
int mmx_op_emms(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (cpu->cr0 & CR0_EM)
        soft_raise_ud(cpu);
    if (cpu->cr0 & CR0_TS)
        soft_raise(cpu, EXC_NM, 0, false);
    if (simd_get16(cpu, FX_FSW) & FSW_ES)
        soft_raise(cpu, EXC_MF, 0, false);
    simd_fx(cpu)[FX_FTW] = 0;
    return 0;
}
