/* String instructions (SDM Vol. 2 MOVS, STOS, LODS, CMPS, SCAS, INS, OUTS) with REP/REPE/REPNE.
 * Long REP runs are cut into chunks so interrupts are taken in between (the instruction is
 * restarted with updated registers, as on hardware); forward REP MOVS/STOS on RAM copy a page
 * run at a time. */
#include "soft/handlers.h"

#define REP_CHUNK 16384 /* iterations before letting interrupts in */

struct strctx {
    unsigned esize; /* element size */
    uint64_t amask; /* address-size mask */
    int64_t step;   /* +esize or -esize (DF) */
    unsigned sseg;  /* source segment (overridable) */
};

static void str_init(struct soft_cpu *cpu, const struct soft_insn *in, struct strctx *c)
{
    c->esize = in->aux;
    c->amask = soft_mask(in->asize);
    c->step = (cpu->rflags & RFLAGS_DF) ? -(int64_t)c->esize : (int64_t)c->esize;
    c->sseg = in->nops < 3 ? in->op[2].seg : SEG_DS;
    if (c->sseg >= SEG_COUNT)
        c->sseg = SEG_DS;
}

static uint64_t str_lin(const struct soft_cpu *cpu, unsigned seg, uint64_t off, uint64_t amask)
{
    uint64_t a = cpu->segbase[seg] + (off & amask);
    return cpu->mode == SOFT_MODE_64 ? a : (uint32_t)a;
}

/* Writes a string register at the address size (32-bit writes zero-extend, 16-bit merge). */
static void str_reg_set(struct soft_cpu *cpu, unsigned reg, const struct strctx *c, uint64_t v)
{
    soft_reg_set(cpu, reg, c->amask == ~0ULL ? 8 : c->amask == 0xffffffffULL ? 4 : 2, v);
}

/* A REP instruction with a 32-bit address size writes ECX even when the count is already 0,
 * which zero-extends RCX; MOVS/STOS (and INS/OUTS) also write their pointer registers, LODS and
 * REPE/REPNE CMPS/SCAS do not (observed on hardware by the soft-diff tester). */
static void rep_touch(struct soft_cpu *cpu, const struct strctx *c, bool rsi, bool rdi)
{
    if (c->amask != 0xffffffffULL)
        return;
    str_reg_set(cpu, GPR_RCX, c, cpu->gpr[GPR_RCX]);
    if (rsi)
        str_reg_set(cpu, GPR_RSI, c, cpu->gpr[GPR_RSI]);
    if (rdi)
        str_reg_set(cpu, GPR_RDI, c, cpu->gpr[GPR_RDI]);
}

static void adv(struct soft_cpu *cpu, unsigned reg, const struct strctx *c)
{
    str_reg_set(cpu, reg, c, cpu->gpr[reg] + (uint64_t)c->step);
}

static uint64_t count(const struct soft_cpu *cpu, const struct strctx *c)
{
    return cpu->gpr[GPR_RCX] & c->amask;
}

static void set_count(struct soft_cpu *cpu, const struct strctx *c, uint64_t v)
{
    str_reg_set(cpu, GPR_RCX, c, v);
}

/* Ends a chunk of a REP instruction that is not finished: restart it after interrupts. */
static int rep_yield(struct soft_cpu *cpu)
{
    cpu->rip = cpu->insn_rip;
    return 1;
}

/* Bulk forward copy/fill within RAM pages; returns elements done (0: use the slow path). */
static uint64_t bulk(struct soft_cpu *cpu, const struct strctx *c, bool is_movs, uint64_t n)
{
    if (c->step < 0 || c->amask != ~0ULL)
        return 0;
    uint64_t dlin = str_lin(cpu, SEG_ES, cpu->gpr[GPR_RDI], c->amask);
    uint64_t room = PAGE_SIZE - (dlin & 0xfff);
    uint64_t slin = 0;
    if (is_movs) {
        slin = str_lin(cpu, c->sseg, cpu->gpr[GPR_RSI], c->amask);
        uint64_t sroom = PAGE_SIZE - (slin & 0xfff);
        if (sroom < room)
            room = sroom;
    }
    uint64_t elems = room / c->esize;
    if (elems > n)
        elems = n;
    if (elems == 0)
        return 0;
    unsigned bytes = (unsigned)(elems * c->esize);
    const uint8_t *src = NULL;
    if (is_movs) {
        src = soft_host_ptr(cpu, slin, bytes, ACC_READ);
        if (!src)
            return 0;
    }
    uint8_t *dst = soft_host_ptr(cpu, dlin, bytes, ACC_WRITE);
    if (!dst)
        return 0;
    if (is_movs) {
        if (dst > src && dst < src + bytes)
            return 0; /* overlapping forward copy replicates: do it element by element */
        memmove(dst, src, bytes);
        cpu->gpr[GPR_RSI] += bytes;
    } else if (c->esize == 1) {
        memset(dst, (int)(cpu->gpr[GPR_RAX] & 0xff), bytes);
    } else {
        for (unsigned i = 0; i < bytes; i += c->esize)
            soft_store_host(dst + i, c->esize, cpu->gpr[GPR_RAX]);
    }
    cpu->gpr[GPR_RDI] += bytes;
    return elems;
}

static void movs_one(struct soft_cpu *cpu, const struct strctx *c)
{
    uint64_t v = soft_read(cpu, str_lin(cpu, c->sseg, cpu->gpr[GPR_RSI], c->amask), c->esize);
    soft_write(cpu, str_lin(cpu, SEG_ES, cpu->gpr[GPR_RDI], c->amask), c->esize, v);
    adv(cpu, GPR_RSI, c);
    adv(cpu, GPR_RDI, c);
}

static void stos_one(struct soft_cpu *cpu, const struct strctx *c)
{
    soft_write(cpu, str_lin(cpu, SEG_ES, cpu->gpr[GPR_RDI], c->amask), c->esize, cpu->gpr[GPR_RAX]);
    adv(cpu, GPR_RDI, c);
}

/* MOVS (aux = element size) and STOS share the REP driver. */
static int rep_move(struct soft_cpu *cpu, const struct soft_insn *in, bool is_movs)
{
    struct strctx c;
    str_init(cpu, in, &c);
    if (!(in->prefix & (SOFT_INSN_REP | SOFT_INSN_REPNE))) {
        if (is_movs)
            movs_one(cpu, &c);
        else
            stos_one(cpu, &c);
        return 0;
    }
    uint64_t done = 0;
    rep_touch(cpu, &c, is_movs, true);
    while (count(cpu, &c)) {
        if (done >= REP_CHUNK)
            return rep_yield(cpu);
        uint64_t n = bulk(cpu, &c, is_movs, count(cpu, &c));
        if (n == 0) {
            if (is_movs)
                movs_one(cpu, &c);
            else
                stos_one(cpu, &c);
            n = 1;
        }
        set_count(cpu, &c, count(cpu, &c) - n);
        done += n;
    }
    return 0;
}

int soft_op_movs(struct soft_cpu *cpu, const struct soft_insn *in)
{
    return rep_move(cpu, in, true);
}

int soft_op_stos(struct soft_cpu *cpu, const struct soft_insn *in)
{
    return rep_move(cpu, in, false);
}

int soft_op_lods(struct soft_cpu *cpu, const struct soft_insn *in)
{
    struct strctx c;
    str_init(cpu, in, &c);
    bool rep = in->prefix & (SOFT_INSN_REP | SOFT_INSN_REPNE);
    uint64_t done = 0;
    if (rep)
        rep_touch(cpu, &c, false, false);
    while (!rep || count(cpu, &c)) {
        if (done++ >= REP_CHUNK)
            return rep_yield(cpu);
        uint64_t v = soft_read(cpu, str_lin(cpu, c.sseg, cpu->gpr[GPR_RSI], c.amask), c.esize);
        soft_reg_set(cpu, GPR_RAX, c.esize, v);
        adv(cpu, GPR_RSI, &c);
        if (!rep)
            break;
        set_count(cpu, &c, count(cpu, &c) - 1);
    }
    return 0;
}

/* CMPS and SCAS: compare, then REPE stops on ZF=0 and REPNE on ZF=1. */
static int rep_compare(struct soft_cpu *cpu, const struct soft_insn *in, bool is_cmps)
{
    struct strctx c;
    str_init(cpu, in, &c);
    bool repe = in->prefix & SOFT_INSN_REP, repne = in->prefix & SOFT_INSN_REPNE;
    bool rep = repe || repne;
    uint64_t done = 0;
    if (rep)
        rep_touch(cpu, &c, false, false);
    while (!rep || count(cpu, &c)) {
        if (done++ >= REP_CHUNK)
            return rep_yield(cpu);
        uint64_t a, b;
        uint64_t dlin = str_lin(cpu, SEG_ES, cpu->gpr[GPR_RDI], c.amask);
        if (is_cmps) {
            a = soft_read(cpu, str_lin(cpu, c.sseg, cpu->gpr[GPR_RSI], c.amask), c.esize);
            b = soft_read(cpu, dlin, c.esize);
            adv(cpu, GPR_RSI, &c);
        } else {
            a = cpu->gpr[GPR_RAX] & soft_mask(c.esize);
            b = soft_read(cpu, dlin, c.esize);
        }
        adv(cpu, GPR_RDI, &c);
        soft_lazy(cpu, LF_SUB, c.esize, a - b, a, b);
        if (!rep)
            break;
        set_count(cpu, &c, count(cpu, &c) - 1);
        bool eq = a == b;
        if ((repe && !eq) || (repne && eq))
            break;
    }
    return 0;
}

int soft_op_cmps(struct soft_cpu *cpu, const struct soft_insn *in)
{
    return rep_compare(cpu, in, true);
}

int soft_op_scas(struct soft_cpu *cpu, const struct soft_insn *in)
{
    return rep_compare(cpu, in, false);
}

int soft_op_ins(struct soft_cpu *cpu, const struct soft_insn *in)
{
    struct strctx c;
    str_init(cpu, in, &c);
    soft_io_check(cpu);
    bool rep = in->prefix & (SOFT_INSN_REP | SOFT_INSN_REPNE);
    uint16_t port = (uint16_t)cpu->gpr[GPR_RDX];
    uint64_t done = 0;
    if (rep)
        rep_touch(cpu, &c, false, true);
    while (!rep || count(cpu, &c)) {
        if (done++ >= REP_CHUNK)
            return rep_yield(cpu);
        uint64_t dlin = str_lin(cpu, SEG_ES, cpu->gpr[GPR_RDI], c.amask);
        /* Probe the destination first so a fault does not lose the port read. */
        soft_translate(cpu, dlin, ACC_WRITE, false);
        uint64_t v = soft_port_in(cpu, port, c.esize);
        soft_write(cpu, dlin, c.esize, v);
        adv(cpu, GPR_RDI, &c);
        if (!rep)
            break;
        set_count(cpu, &c, count(cpu, &c) - 1);
    }
    return 0;
}

int soft_op_outs(struct soft_cpu *cpu, const struct soft_insn *in)
{
    struct strctx c;
    str_init(cpu, in, &c);
    soft_io_check(cpu);
    bool rep = in->prefix & (SOFT_INSN_REP | SOFT_INSN_REPNE);
    uint16_t port = (uint16_t)cpu->gpr[GPR_RDX];
    uint64_t done = 0;
    if (rep)
        rep_touch(cpu, &c, true, false);
    while (!rep || count(cpu, &c)) {
        if (done++ >= REP_CHUNK)
            return rep_yield(cpu);
        uint64_t v = soft_read(cpu, str_lin(cpu, c.sseg, cpu->gpr[GPR_RSI], c.amask), c.esize);
        soft_port_out(cpu, port, c.esize, v);
        adv(cpu, GPR_RSI, &c);
        if (!rep)
            break;
        set_count(cpu, &c, count(cpu, &c) - 1);
    }
    return 0;
}
