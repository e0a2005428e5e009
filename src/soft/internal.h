/* Internal state of the soft x86-64 CPU shared by its files: the vCPU struct, the compact
 * decoded-instruction form, blocks, the soft TLB, lazy flags and the inline memory and operand
 * helpers used by every instruction handler. Not part of the public API (see cpu.h). */
#ifndef EMBER_SOFT_INTERNAL_H
#define EMBER_SOFT_INTERNAL_H

#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "soft/cpu.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

struct soft_cpu;
struct soft_insn;

/* Every instruction handler has this signature. Returns 0 to continue with the next
 * instruction of the block, nonzero to end the block (branch taken, mode change, HLT...).
 * A threaded entry (soft_insn.run) has it too: it runs its instruction and then, by a tail call
 * through soft_next, the rest of the block; it returns once the block has ended. */
typedef int (*soft_handler)(struct soft_cpu *cpu, const struct soft_insn *in);

/* Operand kinds of the compact form. */
enum soft_opkind {
    OPK_NONE,
    OPK_REG,  /* general-purpose register reg (0..15), size bytes */
    OPK_REGH, /* AH, CH, DH, BH: bits 15:8 of register reg (0..3) */
    OPK_MEM,  /* memory: seg:[base + index << scale + disp] */
    OPK_IMM,  /* immediate in disp (sign-extended to 64 bits by the decoder when signed) */
    OPK_SREG, /* segment register reg (enum cpu_seg) */
    OPK_CR,   /* control register reg */
    OPK_DR,   /* debug register reg */
    OPK_XMM,  /* XMM register reg */
    OPK_MMX,  /* MMX register reg */
    OPK_ST,   /* x87 stack register ST(reg) */
};

#define SOFT_REG_NONE 0xff
#define SOFT_REG_RIP  0xfe /* base register of RIP-relative addressing */

struct soft_operand {
    uint8_t kind;  /* enum soft_opkind */
    uint8_t size;  /* bytes */
    uint8_t reg;   /* register number (OPK_REG, OPK_SREG, ...) */
    uint8_t base;  /* OPK_MEM: base GPR, SOFT_REG_NONE or SOFT_REG_RIP */
    uint8_t index; /* OPK_MEM: index GPR or SOFT_REG_NONE */
    uint8_t scale; /* OPK_MEM: log2 of the scale */
    uint8_t seg;   /* OPK_MEM: enum cpu_seg */
    uint8_t pad;
    int64_t disp; /* OPK_MEM: displacement; OPK_IMM: the value */
};

#define SOFT_INSN_LOCK  0x01
#define SOFT_INSN_REP   0x02 /* REP / REPE / REPZ */
#define SOFT_INSN_REPNE 0x04

/* One decoded instruction in ember's compact form: translated once from Zydis output. */
struct soft_insn {
    soft_handler fn;  /* the instruction's handler (see soft_handler) */
    soft_handler run; /* threaded entry: a specialised handler ending in soft_next, else
                       * soft_run_plain (which calls fn); soft_run_end past a block's last */
    struct soft_operand op[3];
    uint16_t mnemonic; /* ZydisMnemonic, for handlers shared by several instructions */
    uint8_t len;       /* instruction length in bytes */
    uint8_t osize;     /* operand size in bytes */
    uint8_t asize;     /* address size in bytes (4 or 8; 2 in 16-bit code) */
    uint8_t nops;      /* visible operands */
    uint8_t prefix;    /* SOFT_INSN_* */
    uint8_t aux;       /* handler-specific: ALU operation, condition code, ... */
};

#define SOFT_BLOCK_MAX_INSNS 64
#define SOFT_JCACHE_SIZE     8192 /* entries of the per-CPU linear-address block cache */

struct soft_block;

/* A remembered successor of a block: the block that ran next when execution left this one
 * for linear address lin. Valid while the CPU's chain_gen still equals gen (no TLB flush, mode
 * change or block freed since, and the same privilege class: user or supervisor, whose
 * permission the instruction TLB checked when the entry was made) and the successor's page
 * generation is unchanged. */
struct soft_chain {
    uint64_t lin;
    uint64_t gen;
    struct soft_block *next;
    uint32_t epoch; /* code_map epoch when next was last found valid (see chain_hit) */
};

/* A run of instructions starting at one guest-physical address, all in one 4 KiB page, ending
 * with a control transfer or a state-changing instruction (or at the page end). insns holds
 * ninsns instructions and then a sentinel whose run is soft_run_end. */
struct soft_block {
    uint64_t gpa;               /* guest-physical address of the first byte */
    uint32_t mode;              /* decode mode (SOFT_MODE_*) */
    uint32_t gen;               /* code_map generation of the page when translated */
    struct soft_block *hnext;   /* hash chain */
    struct soft_chain chain[2]; /* the last two distinct successors (taken / not taken) */
    uint16_t ninsns;
    uint8_t chain_next; /* chain slot to replace next */
    uint64_t icount;    /* guest instructions completed in it (folded into cpu->profile) */
    uint64_t lin;       /* linear address it was translated for (the profile's key) */
    struct soft_insn insns[];
};

/* gpa of blocks that hold one instruction crossing a page boundary (the scratch block and the
 * crossing cache's): they are never chained or put in the linear-address cache, since their
 * validity depends on two pages. */
#define SOFT_GPA_CROSSING (~0ULL)

/* A cached page-crossing instruction: valid while lin still maps to gpa1/gpa2 (checked through
 * the instruction TLB on each use), in the same decode mode, and neither page's code generation
 * moved. */
struct soft_cross_entry {
    uint64_t lin;
    uint64_t gpa1, gpa2; /* the instruction's first byte; the second page */
    uint32_t gen1, gen2;
    uint32_t mode;
    struct soft_block *block; /* one instruction and the sentinel, or NULL */
};
#define SOFT_CROSS_CACHE_SIZE 64

/* Decode modes (key part of a block). */
#define SOFT_MODE_64 1
#define SOFT_MODE_32 2
#define SOFT_MODE_16 3

/* Shared per-VM record of which guest-physical pages hold translated code. A write to such a
 * page clears the flag and bumps the generation, which invalidates every block on the page. */
struct soft_code_map {
    uint64_t npages;
    _Atomic uint8_t *has_code; /* per page */
    _Atomic uint32_t *gen;     /* per page */
    _Atomic uint32_t epoch;    /* bumped after any page's generation: nothing was invalidated
                                * anywhere while it is unchanged */
};

/* Soft TLB: direct-mapped, one set per privilege (supervisor, user). Tags are the virtual page
 * address for which the access kind is allowed, or TLB_INVALID. Only RAM pages get tags. */
#define TLB_BITS    12
#define TLB_SIZE    (1u << TLB_BITS)
#define TLB_ENTRIES (4 * TLB_SIZE) /* tlb[2] and itlb[2] */
#define TLB_INVALID (~0ULL)
#define PAGE_SIZE   4096ULL
#define PAGE_MASK   (~(PAGE_SIZE - 1))

struct tlb_entry {
    uint64_t vpage;     /* linear page the tags below belong to, or TLB_INVALID */
    uint64_t tag_r;     /* readable */
    uint64_t tag_w;     /* writable (and dirty already set) */
    uint64_t tag_x;     /* executable */
    uintptr_t addend;   /* host address = linear address + addend */
    uint64_t gpa;       /* guest-physical page address */
    uint64_t span_base; /* linear base of the (possibly large) page this came from */
    uint64_t span_mask; /* ~(page size - 1) of that page */
    bool global;
};

/* Lazy arithmetic flags: the last flag-setting operation, evaluated on demand. */
enum lazy_op {
    LF_NONE, /* rflags holds the arithmetic flags */
    LF_ADD,
    LF_ADC,
    LF_SUB,
    LF_SBB,
    LF_LOGIC,
    LF_INC,
    LF_DEC,
    LF_RESULT, /* ZF/SF/PF from res; CF = aux bit 0, OF = aux bit 1; AF = 0 (shifts, MUL) */
};

struct lazy_flags {
    uint64_t res, src1, src2;
    uint8_t op;   /* enum lazy_op */
    uint8_t size; /* bytes */
    uint8_t aux;  /* carry in (ADC/SBB), old CF (INC/DEC) */
};

#define RFLAGS_ARITH      (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)
#define RFLAGS_NT         (1ULL << 14)
#define RFLAGS_RF         (1ULL << 16)
#define RFLAGS_VM         (1ULL << 17)
#define RFLAGS_AC         (1ULL << 18)
#define RFLAGS_VIF        (1ULL << 19)
#define RFLAGS_VIP        (1ULL << 20)
#define RFLAGS_ID         (1ULL << 21)
#define RFLAGS_IOPL_SHIFT 12
#define RFLAGS_IOPL       (3ULL << RFLAGS_IOPL_SHIFT)

/* Exception vectors (SDM Vol. 3A 6.15). */
enum {
    EXC_DE = 0,
    EXC_DB = 1,
    EXC_NMI = 2,
    EXC_BP = 3,
    EXC_OF = 4,
    EXC_BR = 5,
    EXC_UD = 6,
    EXC_NM = 7,
    EXC_DF = 8,
    EXC_TS = 10,
    EXC_NP = 11,
    EXC_SS = 12,
    EXC_GP = 13,
    EXC_PF = 14,
    EXC_MF = 16,
    EXC_AC = 17,
    EXC_MC = 18,
    EXC_XM = 19,
};

/* #PF error code bits (SDM Vol. 3A 4.7). */
#define PFEC_P    (1u << 0)
#define PFEC_W    (1u << 1)
#define PFEC_U    (1u << 2)
#define PFEC_RSVD (1u << 3)
#define PFEC_I    (1u << 4)

enum soft_access { ACC_READ, ACC_WRITE, ACC_EXEC };

struct soft_cpu {
    /* Architectural state. */
    uint64_t gpr[GPR_COUNT];
    uint64_t rip;      /* while an instruction runs: the address of the next one */
    uint64_t insn_rip; /* address of the instruction being executed */
    uint64_t rflags;   /* arithmetic bits valid only when lf.op == LF_NONE */
    struct lazy_flags lf;
    struct cpu_segment seg[SEG_COUNT];
    uint64_t segbase[SEG_COUNT]; /* effective bases (0 for ES/CS/SS/DS in 64-bit mode) */
    struct cpu_segment tr, ldt;
    struct cpu_dtable gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8;
    uint64_t efer;
    uint64_t apic_base;
    struct soft_ext_state ext;
    unsigned cpl;
    uint32_t mode; /* SOFT_MODE_* of the current code segment */

    /* Execution control. */
    bool halted;
    bool nmi_blocked;                /* an NMI handler runs (until IRET) */
    bool int_shadow;                 /* STI / MOV SS: no interrupt before the next block */
    bool stop_block;                 /* set by memory writes that hit code: end the current block */
    const struct soft_insn *stop_at; /* set when a block ends: the first instruction not run */
    struct soft_block *cur_block;    /* the block running (blocks chain into each other) */
    uint64_t if_at_entry;            /* RFLAGS.IF when the block loop last ran a block */
    atomic_bool kicked;
    unsigned irq_poll_left; /* blocks until the interrupt controllers are polled again */
    uint64_t chain_gen;     /* validity key of chains and jcache entries: bit 0 is CPL == 3, the
                             * rest counts TLB flushes, mode changes and block frees */
    struct soft_chain jcache[SOFT_JCACHE_SIZE]; /* recent blocks by linear address */
    jmp_buf jb;                                 /* exceptions unwind to soft_cpu_run */
    int delivering;            /* vector being delivered, or -1 (double-fault detection) */
    struct soft_exception exc; /* the exception being raised */
    bool exc_is_trap;          /* software interrupt / trap: rip already points after */
    bool exc_soft_int;         /* INT n / INT3 / INTO: gate DPL is checked */

    /* Soft TLB. */
    struct tlb_entry tlb[2][TLB_SIZE];  /* data accesses */
    struct tlb_entry itlb[2][TLB_SIZE]; /* instruction fetches (separate: no code/data conflicts) */
    struct tlb_entry *tlb_cur;          /* tlb[cpl == 3] */
    struct tlb_entry *itlb_cur;         /* itlb[cpl == 3] */
    /* The fill log: every valid entry of the four sets, once (an entry is logged when it goes
     * from invalid to valid; flushes drop what they invalidate). Not yet trusted while
     * tlb_log_ok is false (a new CPU): the first flush then visits every entry. */
    struct tlb_entry *tlb_log[TLB_ENTRIES];
    unsigned tlb_nlog;
    bool tlb_log_ok;

    /* Translated code. */
    struct soft_code_map *code_map;
    _Atomic uint32_t *code_gen;   /* code_map->gen, one load closer */
    _Atomic uint8_t *code_has;    /* code_map->has_code, likewise (checked on every store) */
    _Atomic uint32_t *code_epoch; /* &code_map->epoch */
    bool own_code_map;
    struct soft_block **bhash;
    unsigned bhash_size;
    unsigned nblocks;
    struct soft_block *scratch; /* room for SOFT_BLOCK_MAX_INSNS: translation, page crossers */
    struct soft_cross_entry cross[SOFT_CROSS_CACHE_SIZE]; /* page-crossing instructions */
    void *decoder;                                        /* ZydisDecoder[3] (64, 32, 16) */

    /* Environment. */
    const struct guest_mem *mem;
    struct soft_cpu_hooks hooks;
    struct soft_cpu_config cfg;
    struct vclock private_clock;
    const struct vclock *clock;
    struct soft_cpu_stats stats;
    uint64_t budget_left;
    struct soft_profile *profile; /* NULL unless ember run --profile: see soft_cpu_set_profile */
    bool profile_full;            /* a count was lost for want of memory (warned once) */
};

/* Drops every remembered chain and linear-address cache entry: after a TLB flush, a mode
 * change or a freed block. Bit 0 of chain_gen (the privilege class) stays. */
static inline void soft_chains_drop(struct soft_cpu *cpu)
{
    cpu->chain_gen += 2;
}

/* exception.c */
_Noreturn void soft_raise(struct soft_cpu *cpu, unsigned vector, uint32_t error_code,
                          bool has_error_code);
_Noreturn void soft_raise_gp(struct soft_cpu *cpu, uint32_t error_code);
_Noreturn void soft_raise_ud(struct soft_cpu *cpu);
_Noreturn void soft_raise_ss(struct soft_cpu *cpu, uint32_t error_code);
/* Delivers cpu->exc (or an external interrupt when external) through the IDT. */
void soft_deliver(struct soft_cpu *cpu, unsigned vector, bool has_ec, uint32_t ec, bool soft_int,
                  uint64_t return_rip);
/* Handles a raised exception after the longjmp: returns false if the run must stop. */
bool soft_exception_dispatch(struct soft_cpu *cpu, enum soft_exit *why);

/* A 64-bit linear address is canonical when bits 63:47 are all equal (48-bit addressing). */
static inline bool soft_canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* In 64-bit mode a non-canonical stack reference (SS) faults with #SS(0), not #GP(0) (the
 * slow path of the access raises #GP for the others). */
static inline void soft_check_stack_ref(struct soft_cpu *cpu, unsigned seg, uint64_t a)
{
    if (unlikely(seg == SEG_SS) && !soft_canonical(a))
        soft_raise_ss(cpu, 0);
}

static inline uint64_t soft_mask(unsigned size)
{
    return size >= 8 ? ~0ULL : ((1ULL << (size * 8)) - 1);
}

static inline uint64_t soft_sext(uint64_t v, unsigned size)
{
    switch (size) {
    case 1:
        return (uint64_t)(int64_t)(int8_t)v;
    case 2:
        return (uint64_t)(int64_t)(int16_t)v;
    case 4:
        return (uint64_t)(int64_t)(int32_t)v;
    default:
        return v;
    }
}

/* flags.c */
uint64_t soft_flags_get(struct soft_cpu *cpu);
void soft_flags_set(struct soft_cpu *cpu, uint64_t rflags, uint64_t writable_mask);
bool soft_cond_slow(struct soft_cpu *cpu, unsigned cc);
static inline void soft_lazy(struct soft_cpu *cpu, unsigned op, unsigned size, uint64_t res,
                             uint64_t s1, uint64_t s2)
{
    cpu->lf.op = (uint8_t)op;
    cpu->lf.size = (uint8_t)size;
    cpu->lf.res = res;
    cpu->lf.src1 = s1;
    cpu->lf.src2 = s2;
}

/* All arithmetic flags from a result with explicit CF and OF, AF cleared (lazily). */
static inline void soft_lazy_result(struct soft_cpu *cpu, unsigned size, uint64_t res, bool cf,
                                    bool of)
{
    cpu->lf.op = LF_RESULT;
    cpu->lf.size = (uint8_t)size;
    cpu->lf.res = res;
    cpu->lf.aux = (uint8_t)((cf ? 1 : 0) | (of ? 2 : 0));
}

/* CF alone, without materialising the other flags. */
static inline bool soft_flags_cf(const struct soft_cpu *cpu)
{
    const struct lazy_flags *lf = &cpu->lf;
    unsigned op = lf->op;
    /* Tests rather than a switch: a jump table mispredicts when the producing operations
     * alternate (an XOR, then an INC, in one loop). */
    if (op == LF_LOGIC)
        return false;
    if (op == LF_INC || op == LF_DEC || op == LF_RESULT)
        return lf->aux & 1;
    if (op == LF_NONE)
        return cpu->rflags & RFLAGS_CF;
    uint64_t m = soft_mask(lf->size);
    uint64_t res = lf->res & m, a = lf->src1 & m, b = lf->src2 & m;
    if (op == LF_ADD)
        return res < a;
    if (op == LF_SUB)
        return a < b;
    if (op == LF_ADC)
        return res < a || (lf->aux && res == a);
    return lf->aux ? a <= b : a < b; /* LF_SBB */
}

/* Condition code cc (the low nibble of Jcc/SETcc/CMOVcc opcodes). ZF and SF come straight
 * from the recorded result whatever the last operation; the rest is in flags.c. */
static inline bool soft_cond(struct soft_cpu *cpu, unsigned cc)
{
    if (likely(cpu->lf.op != LF_NONE)) {
        unsigned size = cpu->lf.size;
        uint64_t m = soft_mask(size);
        switch (cc >> 1) {
        case 2: /* Z / NZ */
            return ((cpu->lf.res & m) == 0) ^ (cc & 1);
        case 4: /* S / NS */
            return ((cpu->lf.res >> (size * 8 - 1)) & 1) ^ (cc & 1);
        default:
            break;
        }
        if (cpu->lf.op == LF_SUB) { /* after CMP/SUB: compare the operands directly */
            uint64_t a = cpu->lf.src1 & m, b = cpu->lf.src2 & m;
            switch (cc >> 1) {
            case 1: /* B / AE */
                return (a < b) ^ (cc & 1);
            case 3: /* BE / A */
                return (a <= b) ^ (cc & 1);
            case 6: /* L / GE */
                return ((int64_t)soft_sext(a, size) < (int64_t)soft_sext(b, size)) ^ (cc & 1);
            case 7: /* LE / G */
                return ((int64_t)soft_sext(a, size) <= (int64_t)soft_sext(b, size)) ^ (cc & 1);
            default:
                break;
            }
        }
    }
    return soft_cond_slow(cpu, cc);
}

/* paging.c / tlb.c */
void soft_tlb_flush_all(struct soft_cpu *cpu);
void soft_tlb_flush_nonglobal(struct soft_cpu *cpu);
void soft_tlb_flush_page(struct soft_cpu *cpu, uint64_t lin);
/* Translates a linear address (raising #PF/#GP on failure). supervisor forces a
 * supervisor-mode (implicit) access. Returns the guest-physical address, fills the TLB. */
uint64_t soft_translate(struct soft_cpu *cpu, uint64_t lin, enum soft_access acc, bool supervisor);
/* Page walk without side effects on the CPU (no fault, no TLB fill): for tests/debug.
 * Returns 0 and *gpa, or the #PF error code with bit 31 set. */
uint32_t soft_walk(struct soft_cpu *cpu, uint64_t lin, enum soft_access acc, bool user,
                   uint64_t *gpa, uint64_t *page_mask, bool *global, bool set_ad);

/* mem.c: slow paths and system accesses. */
uint64_t soft_read_slow(struct soft_cpu *cpu, uint64_t lin, unsigned size, bool supervisor);
void soft_write_slow(struct soft_cpu *cpu, uint64_t lin, unsigned size, uint64_t val,
                     bool supervisor);
/* Host pointer for a write of size bytes at lin (RAM only, one page), or NULL. Raises faults. */
void *soft_host_ptr(struct soft_cpu *cpu, uint64_t lin, unsigned size, enum soft_access acc);
void soft_read_bytes(struct soft_cpu *cpu, uint64_t lin, void *buf, unsigned len);
void soft_write_bytes(struct soft_cpu *cpu, uint64_t lin, const void *buf, unsigned len);
/* Marks a guest-physical write: invalidates translated code on that page. */
void soft_code_write(struct soft_cpu *cpu, uint64_t gpa, unsigned len);

static inline uint64_t soft_load_host(const uint8_t *p, unsigned size)
{
    switch (size) {
    case 1:
        return *p;
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    default: {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    }
}

static inline void soft_store_host(uint8_t *p, unsigned size, uint64_t v)
{
    switch (size) {
    case 1:
        *p = (uint8_t)v;
        break;
    case 2: {
        uint16_t x = (uint16_t)v;
        memcpy(p, &x, 2);
        break;
    }
    case 4: {
        uint32_t x = (uint32_t)v;
        memcpy(p, &x, 4);
        break;
    }
    default:
        memcpy(p, &v, 8);
        break;
    }
}

/* Reads size (1, 2, 4, 8) bytes at a linear address with the current privilege. */
static inline uint64_t soft_read(struct soft_cpu *cpu, uint64_t lin, unsigned size)
{
    struct tlb_entry *e = &cpu->tlb_cur[(lin >> 12) & (TLB_SIZE - 1)];
    if (likely(e->tag_r == (lin & PAGE_MASK) && (lin & 0xfff) + size <= PAGE_SIZE))
        return soft_load_host((const uint8_t *)(uintptr_t)(lin + e->addend), size);
    return soft_read_slow(cpu, lin, size, false);
}

/* True if the TLB allows a size-byte write at lin directly (the page writable and dirty, no
 * translated code on it, the access inside it); *host is then its host address. */
static inline bool soft_write_fast(struct soft_cpu *cpu, uint64_t lin, unsigned size,
                                   uint8_t **host)
{
    struct tlb_entry *e = &cpu->tlb_cur[(lin >> 12) & (TLB_SIZE - 1)];
    if (likely(e->tag_w == (lin & PAGE_MASK) && (lin & 0xfff) + size <= PAGE_SIZE &&
               !atomic_load_explicit(&cpu->code_has[e->gpa >> 12], memory_order_relaxed))) {
        *host = (uint8_t *)(uintptr_t)(lin + e->addend);
        return true;
    }
    return false;
}

static inline void soft_write(struct soft_cpu *cpu, uint64_t lin, unsigned size, uint64_t val)
{
    uint8_t *p;
    if (soft_write_fast(cpu, lin, size, &p)) {
        soft_store_host(p, size, val);
        return;
    }
    soft_write_slow(cpu, lin, size, val, false);
}

/* Effective address of a memory operand (without segment base), wrapped to the address size. */
static inline uint64_t soft_ea(const struct soft_cpu *cpu, const struct soft_insn *in,
                               const struct soft_operand *o)
{
    uint64_t a = (uint64_t)o->disp;
    if (o->base != SOFT_REG_NONE)
        a += o->base == SOFT_REG_RIP ? cpu->rip : cpu->gpr[o->base];
    if (o->index != SOFT_REG_NONE)
        a += cpu->gpr[o->index] << o->scale;
    if (in->asize == 4)
        a = (uint32_t)a;
    else if (in->asize == 2)
        a = (uint16_t)a;
    return a;
}

/* Linear address of a memory operand. In 64-bit mode a non-canonical result raises #GP(0) (or
 * #SS(0) for stack references) in the slow path of the access. */
static inline uint64_t soft_lin(struct soft_cpu *cpu, const struct soft_insn *in,
                                const struct soft_operand *o)
{
    uint64_t a = soft_ea(cpu, in, o) + cpu->segbase[o->seg];
    if (cpu->mode != SOFT_MODE_64)
        a = (uint32_t)a;
    else
        soft_check_stack_ref(cpu, o->seg, a);
    return a;
}

static inline uint64_t soft_reg_get(const struct soft_cpu *cpu, unsigned reg, unsigned size)
{
    return cpu->gpr[reg] & soft_mask(size);
}

/* Writes a GPR with x86-64 semantics: 32-bit writes zero-extend, 8/16-bit writes merge. */
static inline void soft_reg_set(struct soft_cpu *cpu, unsigned reg, unsigned size, uint64_t v)
{
    switch (size) {
    case 1:
        cpu->gpr[reg] = (cpu->gpr[reg] & ~0xffULL) | (v & 0xff);
        break;
    case 2:
        cpu->gpr[reg] = (cpu->gpr[reg] & ~0xffffULL) | (v & 0xffff);
        break;
    case 4:
        cpu->gpr[reg] = (uint32_t)v;
        break;
    default:
        cpu->gpr[reg] = v;
        break;
    }
}

/* Reads operand i (GPR, high byte register, memory or immediate), zero-extended. */
static inline uint64_t soft_op_get(struct soft_cpu *cpu, const struct soft_insn *in, unsigned i)
{
    const struct soft_operand *o = &in->op[i];
    switch (o->kind) {
    case OPK_REG:
        return soft_reg_get(cpu, o->reg, o->size);
    case OPK_MEM:
        return soft_read(cpu, soft_lin(cpu, in, o), o->size);
    case OPK_IMM:
        return (uint64_t)o->disp & soft_mask(o->size);
    case OPK_REGH:
        return (cpu->gpr[o->reg] >> 8) & 0xff;
    case OPK_SREG:
        return cpu->seg[o->reg].selector;
    default:
        soft_raise_ud(cpu);
    }
}

/* Reads an immediate or register source sign-extended to 64 bits (for size-mismatched
 * immediates such as `add rax, imm32`). */
static inline uint64_t soft_op_get_sx(struct soft_cpu *cpu, const struct soft_insn *in, unsigned i)
{
    if (in->op[i].kind == OPK_IMM)
        return (uint64_t)in->op[i].disp;
    return soft_op_get(cpu, in, i);
}

static inline void soft_op_set(struct soft_cpu *cpu, const struct soft_insn *in, unsigned i,
                               uint64_t v)
{
    const struct soft_operand *o = &in->op[i];
    switch (o->kind) {
    case OPK_REG:
        soft_reg_set(cpu, o->reg, o->size, v);
        return;
    case OPK_MEM:
        soft_write(cpu, soft_lin(cpu, in, o), o->size, v);
        return;
    case OPK_REGH:
        cpu->gpr[o->reg] = (cpu->gpr[o->reg] & ~0xff00ULL) | ((v & 0xff) << 8);
        return;
    default:
        soft_raise_ud(cpu);
    }
}

/* Read-modify-write destinations fault as writes (#PF W bit) even though they are read first:
 * translate operand i for writing before the read. */
static inline void soft_rmw_prepare(struct soft_cpu *cpu, const struct soft_insn *in, unsigned i)
{
    const struct soft_operand *o = &in->op[i];
    if (o->kind != OPK_MEM)
        return;
    uint64_t lin = soft_lin(cpu, in, o);
    struct tlb_entry *e = &cpu->tlb_cur[(lin >> 12) & (TLB_SIZE - 1)];
    if (likely(e->tag_w == (lin & PAGE_MASK) && (lin & 0xfff) + o->size <= PAGE_SIZE))
        return;
    soft_translate(cpu, lin, ACC_WRITE, false);
    if ((lin & 0xfff) + o->size > PAGE_SIZE) {
        uint64_t next = (lin | 0xfff) + 1;
        soft_translate(cpu, cpu->mode == SOFT_MODE_64 ? next : (uint32_t)next, ACC_WRITE, false);
    }
}

/* Stack helpers (stack.c). */
void soft_push(struct soft_cpu *cpu, unsigned size, uint64_t v);
uint64_t soft_pop(struct soft_cpu *cpu, unsigned size);
static inline unsigned soft_stack_size(const struct soft_cpu *cpu)
{
    return cpu->mode == SOFT_MODE_64 ? 8 : (cpu->seg[SEG_SS].db ? 4 : 2);
}

/* segment.c */
void soft_update_mode(struct soft_cpu *cpu);
void soft_load_seg(struct soft_cpu *cpu, unsigned seg, uint16_t sel);
/* Reads the 8-byte (or 16-byte system in long mode) descriptor for sel; raises #GP(sel). */
void soft_read_descriptor(struct soft_cpu *cpu, uint16_t sel, uint64_t desc[2], bool system);
void soft_desc_to_seg(const uint64_t desc[2], uint16_t sel, struct cpu_segment *s);
void soft_set_cs(struct soft_cpu *cpu, const struct cpu_segment *cs);
void soft_set_cpl_from_cs(struct soft_cpu *cpu);

/* decode.c / block_cache.c */
int soft_decoder_init(struct soft_cpu *cpu);
void soft_decoder_destroy(struct soft_cpu *cpu);
/* Translates the block at lin/gpa; returns NULL if even the first instruction cannot be fetched
 * (then an exception was raised instead). */
struct soft_block *soft_block_get(struct soft_cpu *cpu, uint64_t lin);
/* A block stays valid while no write hit its page since translation: CPU writes to code pages
 * go through soft_code_write, device and loader writes through guest_mem_ptr's write_notify
 * (soft_code_map_note_write); both bump the page's generation when it holds code. */
static inline bool soft_block_valid(const struct soft_cpu *cpu, const struct soft_block *b)
{
    return b->gen == atomic_load_explicit(&cpu->code_gen[b->gpa >> 12], memory_order_acquire);
}
int soft_block_cache_init(struct soft_cpu *cpu);
/* Threaded execution (exec.c): the entry of an instruction without a specialised threaded
 * handler, and the sentinel past a block's last instruction (its op[0].disp holds the block),
 * which may chain into the next block. */
int soft_run_plain(struct soft_cpu *cpu, const struct soft_insn *in);
int soft_run_end(struct soft_cpu *cpu, const struct soft_insn *in);
/* Ends the block after in and returns to the block loop. */
static inline int soft_end_after(struct soft_cpu *cpu, const struct soft_insn *in)
{
    cpu->stop_at = in + 1;
    return 1;
}
/* Runs the block from instruction in on; cpu->rip holds in's address. */
static inline int soft_run_from(struct soft_cpu *cpu, const struct soft_insn *in)
{
    cpu->insn_rip = cpu->rip;
    cpu->rip += in->len;
    return in->run(cpu, in);
}
/* soft_next for handlers that write no guest memory: only a memory write can invalidate the
 * code of the running block (soft_code_write sets stop_block), so there is nothing to check. */
static inline int soft_next_nostore(struct soft_cpu *cpu, const struct soft_insn *in)
{
    return soft_run_from(cpu, in + 1);
}
/* The tail of every threaded handler: the next instruction of the block (or the sentinel after
 * its last), unless a write hit code (then the block ends here). GCC turns the call into a jump at
 * -O2; where it does not, the depth is bounded by SOFT_BLOCK_MAX_INSNS. */
static inline int soft_next(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (unlikely(cpu->stop_block))
        return soft_end_after(cpu, in);
    return soft_next_nostore(cpu, in);
}
void soft_block_cache_destroy(struct soft_cpu *cpu);
void soft_block_cache_flush(struct soft_cpu *cpu);
soft_handler soft_handler_for(unsigned mnemonic, unsigned *aux);

/* msr.c, cpuid.c */
void soft_msr_read(struct soft_cpu *cpu, uint32_t msr, uint64_t *value);
void soft_msr_write(struct soft_cpu *cpu, uint32_t msr, uint64_t value);
void soft_cpuid(struct soft_cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
uint64_t soft_rdtsc(struct soft_cpu *cpu);

/* control.c: write to CR0/CR3/CR4 with checks and TLB effects. */
void soft_write_cr(struct soft_cpu *cpu, unsigned cr, uint64_t v);

#endif
