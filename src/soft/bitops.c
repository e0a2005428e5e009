/* Bit instructions (SDM Vol. 2 BT, BTS, BTR, BTC, BSF, BSR): bit offsets from a register reach
 * beyond a memory operand (signed, in operand-size units); LOCK makes BTS/BTR/BTC atomic. On a
 * CPU without BMI1/LZCNT, TZCNT and LZCNT encodings execute as BSF and BSR. */
#include "soft/handlers.h"

enum { BT_TEST, BT_SET, BT_RESET, BT_COMPLEMENT };

static uint64_t bit_apply(unsigned op, uint64_t v, uint64_t bit)
{
    switch (op) {
    case BT_SET:
        return v | bit;
    case BT_RESET:
        return v & ~bit;
    case BT_COMPLEMENT:
        return v ^ bit;
    default:
        return v;
    }
}

int soft_op_bt(struct soft_cpu *cpu, const struct soft_insn *in)
{
    const struct soft_operand *d = &in->op[0];
    unsigned size = d->size, bits = size * 8, op = in->aux;
    uint64_t off = soft_op_get(cpu, in, 1);
    bool cf;
    if (d->kind != OPK_MEM || in->op[1].kind == OPK_IMM) {
        uint64_t bit = 1ULL << (off & (bits - 1));
        if (d->kind == OPK_MEM && (in->prefix & SOFT_INSN_LOCK) && op != BT_TEST) {
            void *p = soft_locked_ptr(cpu, in, 0);
            if (p) {
                uint64_t old = soft_load_host(p, size);
                while (!soft_cas(p, size, &old, bit_apply(op, old, bit)))
                    ;
                soft_flags_set(cpu, (old & bit) ? RFLAGS_CF : 0, RFLAGS_CF);
                return 0;
            }
        }
        if (op != BT_TEST)
            soft_rmw_prepare(cpu, in, 0);
        uint64_t v = soft_op_get(cpu, in, 0);
        cf = v & bit;
        if (op != BT_TEST)
            soft_op_set(cpu, in, 0, bit_apply(op, v, bit));
        soft_flags_set(cpu, cf ? RFLAGS_CF : 0, RFLAGS_CF);
        return 0;
    }
    /* Memory with a register offset: the offset is a signed bit index. */
    int64_t soff = (int64_t)soft_sext(off, in->op[1].size);
    int64_t unit = soff >> (size == 8 ? 6 : size == 4 ? 5 : 4);
    uint64_t lin = soft_lin(cpu, in, d) + (uint64_t)(unit * (int64_t)size);
    if (cpu->mode != SOFT_MODE_64)
        lin = (uint32_t)lin;
    else
        soft_check_stack_ref(cpu, d->seg, lin);
    uint64_t bit = 1ULL << ((uint64_t)soff & (bits - 1));
    if ((in->prefix & SOFT_INSN_LOCK) && op != BT_TEST && !(lin & (size - 1))) {
        void *p = soft_host_ptr(cpu, lin, size, ACC_WRITE);
        if (p) {
            uint64_t old = soft_load_host(p, size);
            while (!soft_cas(p, size, &old, bit_apply(op, old, bit)))
                ;
            soft_flags_set(cpu, (old & bit) ? RFLAGS_CF : 0, RFLAGS_CF);
            return 0;
        }
    }
    if (op != BT_TEST)
        soft_translate(cpu, lin, ACC_WRITE, false); /* faults as a write */
    uint64_t v = soft_read(cpu, lin, size);
    cf = v & bit;
    if (op != BT_TEST)
        soft_write(cpu, lin, size, bit_apply(op, v, bit));
    soft_flags_set(cpu, cf ? RFLAGS_CF : 0, RFLAGS_CF);
    return 0;
}

/* BSF (aux 0) / BSR (aux 1). Source 0: ZF=1 and the destination is left unchanged. */
int soft_op_bsf(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size;
    uint64_t v = soft_op_get(cpu, in, 1) & soft_mask(size);
    if (v == 0) {
        soft_flags_set(cpu, RFLAGS_ZF, RFLAGS_ARITH);
        return 0;
    }
    uint64_t idx = in->aux ? 63 - (unsigned)__builtin_clzll(v) : (unsigned)__builtin_ctzll(v);
    soft_op_set(cpu, in, 0, idx);
    uint64_t f = __builtin_parity((unsigned)(idx & 0xff)) ? 0 : RFLAGS_PF;
    soft_flags_set(cpu, f, RFLAGS_ARITH);
    return 0;
}

int soft_op_popcnt(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint64_t v = soft_op_get(cpu, in, 1) & soft_mask(in->op[1].size);
    uint64_t n = (uint64_t)__builtin_popcountll(v);
    soft_op_set(cpu, in, 0, n);
    soft_flags_set(cpu, v == 0 ? RFLAGS_ZF : 0, RFLAGS_ARITH);
    return 0;
}
