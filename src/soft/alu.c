/* Integer ALU instructions (SDM Vol. 2): ADD/OR/ADC/SBB/AND/SUB/XOR/CMP, TEST, INC/DEC, NEG/NOT,
 * data movement (MOV, MOVZX, MOVSX(D), LEA, XCHG, BSWAP, CBW..CQO), CMPXCHG(8B/16B) and XADD
 * with LOCK semantics, flag instructions, SETcc and CMOVcc. */
#include "soft/alu_fast.h"

static uint64_t carry(struct soft_cpu *cpu)
{
    return soft_flags_cf(cpu);
}

static uint64_t alu(struct soft_cpu *cpu, unsigned op, unsigned size, uint64_t a, uint64_t b)
{
    uint64_t r, c;
    switch (op) {
    case SOFT_ALU_ADD:
        r = a + b;
        soft_lazy(cpu, LF_ADD, size, r, a, b);
        return r;
    case SOFT_ALU_ADC:
        c = carry(cpu);
        r = a + b + c;
        soft_lazy(cpu, LF_ADC, size, r, a, b);
        cpu->lf.aux = (uint8_t)c;
        return r;
    case SOFT_ALU_SBB:
        c = carry(cpu);
        r = a - b - c;
        soft_lazy(cpu, LF_SBB, size, r, a, b);
        cpu->lf.aux = (uint8_t)c;
        return r;
    case SOFT_ALU_SUB:
    case SOFT_ALU_CMP:
        r = a - b;
        soft_lazy(cpu, LF_SUB, size, r, a, b);
        return r;
    case SOFT_ALU_OR:
        r = a | b;
        break;
    case SOFT_ALU_AND:
        r = a & b;
        break;
    default:
        r = a ^ b;
        break;
    }
    soft_lazy(cpu, LF_LOGIC, size, r, 0, 0);
    return r;
}

/* Compare-and-swap of size bytes on host memory; true if *p held *expected (then replaced). */
bool soft_cas(void *p, unsigned size, uint64_t *expected, uint64_t desired)
{
    switch (size) {
    case 1: {
        uint8_t e = (uint8_t)*expected;
        bool ok = __atomic_compare_exchange_n((uint8_t *)p, &e, (uint8_t)desired, false,
                                              __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        *expected = e;
        return ok;
    }
    case 2: {
        uint16_t e = (uint16_t)*expected;
        bool ok = __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)desired, false,
                                              __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        *expected = e;
        return ok;
    }
    case 4: {
        uint32_t e = (uint32_t)*expected;
        bool ok = __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)desired, false,
                                              __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        *expected = e;
        return ok;
    }
    default:
        return __atomic_compare_exchange_n((uint64_t *)p, expected, desired, false,
                                           __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
}

/* Host pointer for an atomic read-modify-write of operand 0, or NULL (then a plain
 * read-modify-write is used: unaligned or page-crossing locked accesses, MMIO). */
void *soft_locked_ptr(struct soft_cpu *cpu, const struct soft_insn *in, unsigned i)
{
    const struct soft_operand *o = &in->op[i];
    if (o->kind != OPK_MEM)
        return NULL;
    uint64_t lin = soft_lin(cpu, in, o);
    if (lin & (o->size - 1))
        return NULL; /* XXX: split/unaligned locked accesses are not atomic */
    return soft_host_ptr(cpu, lin, o->size, ACC_WRITE);
}

int soft_op_alu(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size, op = in->aux;
    uint64_t m = soft_mask(size);
    uint64_t b = soft_op_get_sx(cpu, in, 1) & m;
    if ((in->prefix & SOFT_INSN_LOCK) && op != SOFT_ALU_CMP) {
        void *p = soft_locked_ptr(cpu, in, 0);
        if (p) {
            uint64_t old = soft_load_host(p, size), r;
            do {
                r = alu(cpu, op, size, old, b) & m;
            } while (!soft_cas(p, size, &old, r));
            return 0;
        }
    }
    if (op != SOFT_ALU_CMP)
        soft_rmw_prepare(cpu, in, 0);
    uint64_t a = soft_op_get(cpu, in, 0);
    uint64_t r = alu(cpu, op, size, a, b);
    if (op != SOFT_ALU_CMP)
        soft_op_set(cpu, in, 0, r);
    return 0;
}

int soft_op_test(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size;
    uint64_t r = soft_op_get(cpu, in, 0) & soft_op_get_sx(cpu, in, 1);
    soft_lazy(cpu, LF_LOGIC, size, r & soft_mask(size), 0, 0);
    return 0;
}

/* INC (aux 0) / DEC (aux 1): CF is preserved. */
int soft_op_incdec(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size;
    uint64_t m = soft_mask(size);
    uint8_t cf = (uint8_t)carry(cpu);
    int64_t d = in->aux ? -1 : 1;
    unsigned lop = in->aux ? LF_DEC : LF_INC;
    if (in->prefix & SOFT_INSN_LOCK) {
        void *p = soft_locked_ptr(cpu, in, 0);
        if (p) {
            uint64_t old = soft_load_host(p, size), r;
            do {
                r = (old + (uint64_t)d) & m;
            } while (!soft_cas(p, size, &old, r));
            soft_lazy(cpu, lop, size, r, old, 1);
            cpu->lf.aux = cf;
            return 0;
        }
    }
    soft_rmw_prepare(cpu, in, 0);
    uint64_t a = soft_op_get(cpu, in, 0);
    uint64_t r = (a + (uint64_t)d) & m;
    soft_op_set(cpu, in, 0, r);
    soft_lazy(cpu, lop, size, r, a, 1);
    cpu->lf.aux = cf;
    return 0;
}

int soft_op_neg(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size;
    uint64_t m = soft_mask(size);
    if (in->prefix & SOFT_INSN_LOCK) {
        void *p = soft_locked_ptr(cpu, in, 0);
        if (p) {
            uint64_t old = soft_load_host(p, size), r;
            do {
                r = (0 - old) & m;
            } while (!soft_cas(p, size, &old, r));
            soft_lazy(cpu, LF_SUB, size, r, 0, old);
            return 0;
        }
    }
    soft_rmw_prepare(cpu, in, 0);
    uint64_t a = soft_op_get(cpu, in, 0);
    uint64_t r = (0 - a) & m;
    soft_op_set(cpu, in, 0, r);
    soft_lazy(cpu, LF_SUB, size, r, 0, a);
    return 0;
}

int soft_op_not(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size;
    if (in->prefix & SOFT_INSN_LOCK) {
        void *p = soft_locked_ptr(cpu, in, 0);
        if (p) {
            uint64_t m = soft_mask(size);
            uint64_t old = soft_load_host(p, size);
            while (!soft_cas(p, size, &old, ~old & m))
                ;
            return 0;
        }
    }
    soft_rmw_prepare(cpu, in, 0);
    soft_op_set(cpu, in, 0, ~soft_op_get(cpu, in, 0));
    return 0;
}

int soft_op_mov(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_op_set(cpu, in, 0, soft_op_get_sx(cpu, in, 1));
    return 0;
}

/* Immediate-to-register and register/memory MOV forms (reg,reg and the 64-bit [base + disp]
 * forms are in alu_fast.c). */
int soft_op_mov_ri(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_reg_set(cpu, in->op[0].reg, in->op[0].size, (uint64_t)in->op[1].disp);
    return 0;
}

int soft_op_mov_rm(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_reg_set(cpu, in->op[0].reg, in->op[0].size,
                 soft_read(cpu, soft_lin(cpu, in, &in->op[1]), in->op[1].size));
    return 0;
}

int soft_op_mov_mr(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_write(cpu, soft_lin(cpu, in, &in->op[0]), in->op[0].size, cpu->gpr[in->op[1].reg]);
    return 0;
}

int soft_op_movzx(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_op_set(cpu, in, 0, soft_op_get(cpu, in, 1));
    return 0;
}

int soft_op_movsx(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_op_set(cpu, in, 0, soft_sext(soft_op_get(cpu, in, 1), in->op[1].size));
    return 0;
}

int soft_op_lea(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_reg_set(cpu, in->op[0].reg, in->op[0].size, soft_ea(cpu, in, &in->op[1]));
    return 0;
}

/* XCHG: with a memory operand it is always locked. */
int soft_op_xchg(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned mi = in->op[0].kind == OPK_MEM ? 0 : in->op[1].kind == OPK_MEM ? 1 : 2;
    if (mi < 2) {
        unsigned ri = 1 - mi;
        unsigned size = in->op[mi].size;
        uint64_t v = soft_op_get(cpu, in, ri);
        void *p = soft_locked_ptr(cpu, in, mi);
        uint64_t old;
        if (p) {
            old = soft_load_host(p, size);
            while (!soft_cas(p, size, &old, v & soft_mask(size)))
                ;
        } else {
            soft_rmw_prepare(cpu, in, mi);
            old = soft_op_get(cpu, in, mi);
            soft_op_set(cpu, in, mi, v);
        }
        soft_op_set(cpu, in, ri, old);
        return 0;
    }
    uint64_t a = soft_op_get(cpu, in, 0), b = soft_op_get(cpu, in, 1);
    soft_op_set(cpu, in, 0, b);
    soft_op_set(cpu, in, 1, a);
    return 0;
}

int soft_op_xadd(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size;
    uint64_t m = soft_mask(size);
    uint64_t b = soft_op_get(cpu, in, 1);
    if (in->prefix & SOFT_INSN_LOCK) {
        void *p = soft_locked_ptr(cpu, in, 0);
        if (p) {
            uint64_t old = soft_load_host(p, size);
            while (!soft_cas(p, size, &old, (old + b) & m))
                ;
            soft_lazy(cpu, LF_ADD, size, old + b, old, b);
            soft_op_set(cpu, in, 1, old);
            return 0;
        }
    }
    soft_rmw_prepare(cpu, in, 0);
    uint64_t a = soft_op_get(cpu, in, 0);
    uint64_t r = a + b;
    soft_op_set(cpu, in, 1, a); /* source first: with one register for both, the sum wins */
    soft_op_set(cpu, in, 0, r);
    soft_lazy(cpu, LF_ADD, size, r, a, b);
    return 0;
}

int soft_op_cmpxchg(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->op[0].size;
    uint64_t m = soft_mask(size);
    uint64_t acc = cpu->gpr[GPR_RAX] & m;
    uint64_t src = soft_op_get(cpu, in, 1);
    uint64_t cur;
    void *p = in->op[0].kind == OPK_MEM ? soft_locked_ptr(cpu, in, 0) : NULL;
    if (p) {
        cur = acc;
        soft_cas(p, size, &cur, src);
    } else {
        soft_rmw_prepare(cpu, in, 0);
        cur = soft_op_get(cpu, in, 0);
        if (cur == acc)
            soft_op_set(cpu, in, 0, src);
        else if (in->op[0].kind == OPK_MEM)
            soft_op_set(cpu, in, 0, cur); /* the destination is always written */
    }
    soft_lazy(cpu, LF_SUB, size, acc - cur, acc, cur);
    if (cur != acc)
        soft_reg_set(cpu, GPR_RAX, size, cur);
    return 0;
}

/* 16-byte compare-and-swap with the host's LOCK CMPXCHG16B (p is 16-byte aligned). */
static bool cas16(void *p, unsigned __int128 exp, unsigned __int128 des, unsigned __int128 *cur)
{
    uint64_t lo = (uint64_t)exp, hi = (uint64_t)(exp >> 64);
    bool ok;
    __asm__ volatile("lock cmpxchg16b %1"
                     : "=@ccz"(ok), "+m"(*(unsigned __int128 *)p), "+a"(lo), "+d"(hi)
                     : "b"((uint64_t)des), "c"((uint64_t)(des >> 64))
                     : "memory");
    *cur = ((unsigned __int128)hi << 64) | lo;
    return ok;
}

/* CMPXCHG8B / CMPXCHG16B (osize 8 means the 16-byte form). */
int soft_op_cmpxchg_wide(struct soft_cpu *cpu, const struct soft_insn *in)
{
    const struct soft_operand *o = &in->op[0];
    if (o->kind != OPK_MEM)
        soft_raise_ud(cpu);
    uint64_t lin = soft_lin(cpu, in, o);
    bool wide = in->mnemonic == ZYDIS_MNEMONIC_CMPXCHG16B;
    uint64_t f = soft_flags_get(cpu);
    if (!wide) {
        uint64_t exp = (cpu->gpr[GPR_RDX] << 32) | (uint32_t)cpu->gpr[GPR_RAX];
        uint64_t des = (cpu->gpr[GPR_RCX] << 32) | (uint32_t)cpu->gpr[GPR_RBX];
        void *p = (lin & 7) ? NULL : soft_host_ptr(cpu, lin, 8, ACC_WRITE);
        uint64_t cur = exp;
        bool ok;
        if (p) {
            ok = soft_cas(p, 8, &cur, des);
        } else {
            cur = soft_read(cpu, lin, 8);
            ok = cur == exp;
            soft_write(cpu, lin, 8, ok ? des : cur);
        }
        if (!ok) {
            cpu->gpr[GPR_RAX] = (uint32_t)cur;
            cpu->gpr[GPR_RDX] = cur >> 32;
        }
        soft_flags_set(cpu, ok ? RFLAGS_ZF : 0, RFLAGS_ZF);
        (void)f;
        return 0;
    }
    if (lin & 15)
        soft_raise_gp(cpu, 0);
    unsigned __int128 exp = ((unsigned __int128)cpu->gpr[GPR_RDX] << 64) | cpu->gpr[GPR_RAX];
    unsigned __int128 des = ((unsigned __int128)cpu->gpr[GPR_RCX] << 64) | cpu->gpr[GPR_RBX];
    void *p = soft_host_ptr(cpu, lin, 16, ACC_WRITE);
    unsigned __int128 cur;
    bool ok;
    if (p) {
        ok = cas16(p, exp, des, &cur);
    } else {
        uint64_t lo = soft_read(cpu, lin, 8), hi = soft_read(cpu, lin + 8, 8);
        cur = ((unsigned __int128)hi << 64) | lo;
        ok = cur == exp;
        unsigned __int128 w = ok ? des : cur;
        soft_write(cpu, lin, 8, (uint64_t)w);
        soft_write(cpu, lin + 8, 8, (uint64_t)(w >> 64));
    }
    if (!ok) {
        cpu->gpr[GPR_RAX] = (uint64_t)cur;
        cpu->gpr[GPR_RDX] = (uint64_t)(cur >> 64);
    }
    soft_flags_set(cpu, ok ? RFLAGS_ZF : 0, RFLAGS_ZF);
    return 0;
}

int soft_op_bswap(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned r = in->op[0].reg;
    if (in->op[0].size == 8)
        cpu->gpr[r] = __builtin_bswap64(cpu->gpr[r]);
    else if (in->op[0].size == 4)
        cpu->gpr[r] = __builtin_bswap32((uint32_t)cpu->gpr[r]);
    else
        soft_reg_set(cpu, r, 2, 0); /* BSWAP r16 is undefined; hardware gives 0 */
    return 0;
}

/* CBW/CWDE/CDQE: sign-extend the low half of rAX into the operand size. */
int soft_op_cbw(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->osize;
    soft_reg_set(cpu, GPR_RAX, size, soft_sext(cpu->gpr[GPR_RAX], size / 2));
    return 0;
}

/* CWD/CDQ/CQO: rDX = sign of rAX. */
int soft_op_cwd(struct soft_cpu *cpu, const struct soft_insn *in)
{
    unsigned size = in->osize;
    uint64_t a = cpu->gpr[GPR_RAX] & soft_mask(size);
    uint64_t sign = (a >> (size * 8 - 1)) & 1;
    soft_reg_set(cpu, GPR_RDX, size, sign ? ~0ULL : 0);
    return 0;
}

/* XLAT: AL = [seg:rBX + AL]. */
int soft_op_xlat(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint64_t a = (cpu->gpr[GPR_RBX] + (cpu->gpr[GPR_RAX] & 0xff)) & soft_mask(in->asize);
    unsigned seg = in->nops < 3 ? in->op[2].seg : SEG_DS;
    if (seg >= SEG_COUNT)
        seg = SEG_DS;
    uint64_t lin = cpu->segbase[seg] + a;
    if (cpu->mode != SOFT_MODE_64)
        lin = (uint32_t)lin;
    soft_reg_set(cpu, GPR_RAX, 1, soft_read(cpu, lin, 1));
    return 0;
}

int soft_op_nop(struct soft_cpu *cpu, const struct soft_insn *in)
{
    return 0;
}

/* The threaded entry of NOP and its kin (multi-byte NOPs, PAUSE, ENDBR, PREFETCH). */
int soft_op_nop_next(struct soft_cpu *cpu, const struct soft_insn *in)
{
    return soft_next_nostore(cpu, in);
}

/* CLC, STC, CMC, CLD, STD (aux selects). */
int soft_op_flagop(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint64_t f = soft_flags_get(cpu);
    switch (in->aux) {
    case 0:
        f &= ~RFLAGS_CF;
        break;
    case 1:
        f |= RFLAGS_CF;
        break;
    case 2:
        f ^= RFLAGS_CF;
        break;
    case 3:
        f &= ~RFLAGS_DF;
        break;
    default:
        f |= RFLAGS_DF;
        break;
    }
    cpu->rflags = f;
    return 0;
}

int soft_op_lahf(struct soft_cpu *cpu, const struct soft_insn *in)
{
    uint64_t f = soft_flags_get(cpu) & 0xd7;
    cpu->gpr[GPR_RAX] = (cpu->gpr[GPR_RAX] & ~0xff00ULL) | ((f | 2) << 8);
    return 0;
}

int soft_op_sahf(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_flags_set(cpu, (cpu->gpr[GPR_RAX] >> 8) & 0xd5,
                   RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF);
    return 0;
}

int soft_op_setcc(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_op_set(cpu, in, 0, soft_cond(cpu, in->aux));
    return 0;
}

int soft_op_cmovcc(struct soft_cpu *cpu, const struct soft_insn *in)
{
    /* The source is read (and may fault) even when the condition is false. */
    uint64_t v = soft_op_get(cpu, in, 1);
    if (soft_cond(cpu, in->aux))
        soft_op_set(cpu, in, 0, v);
    else if (in->op[0].size == 4)
        soft_reg_set(cpu, in->op[0].reg, 4, cpu->gpr[in->op[0].reg]); /* zero-extends */
    return 0;
}
