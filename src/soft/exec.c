/* The soft CPU object and its execution loop: creation, architectural state in and out, the
 * block-at-a-time threaded interpreter with interrupt checks between blocks, HLT, kicks and
 * budgets. */
#include <errno.h>
#include <stdlib.h>

#include "soft/decode.h"
#include "soft/internal.h"
#include "util/log.h"

static uint64_t ram_end(const struct guest_mem *mem)
{
    uint64_t end = 0;
    for (unsigned i = 0; i < mem->nregions; i++)
        if (mem->regions[i].gpa + mem->regions[i].size > end)
            end = mem->regions[i].gpa + mem->regions[i].size;
    return end;
}

static void fpu_reset(struct soft_cpu *cpu)
{
    uint8_t *fx = cpu->ext.fpu.fxsave;
    memset(fx, 0, sizeof(cpu->ext.fpu.fxsave));
    uint16_t fcw = 0x37f;
    uint32_t mxcsr = 0x1f80;
    memcpy(fx + 0, &fcw, 2);
    memcpy(fx + 24, &mxcsr, 4);
}

/* Power-on state (SDM Vol. 3A 9.1.1, Table 9-1). */
static void reset_state(struct soft_cpu *cpu)
{
    memset(cpu->gpr, 0, sizeof(cpu->gpr));
    cpu->gpr[GPR_RDX] = 0x600;
    cpu->rip = 0xfff0;
    cpu->rflags = RFLAGS_FIXED1;
    cpu->lf.op = LF_NONE;
    for (unsigned i = 0; i < SEG_COUNT; i++) {
        struct cpu_segment *s = &cpu->seg[i];
        memset(s, 0, sizeof(*s));
        s->limit = 0xffff;
        s->present = 1;
        s->s = 1;
        s->type = 3;
    }
    cpu->seg[SEG_CS].selector = 0xf000;
    cpu->seg[SEG_CS].base = 0xffff0000;
    cpu->seg[SEG_CS].type = 0xb;
    memset(&cpu->tr, 0, sizeof(cpu->tr));
    cpu->tr.type = 0xb;
    cpu->tr.present = 1;
    cpu->tr.limit = 0xffff;
    memset(&cpu->ldt, 0, sizeof(cpu->ldt));
    cpu->ldt.type = 2;
    cpu->ldt.present = 1;
    cpu->ldt.limit = 0xffff;
    cpu->gdt.base = cpu->idt.base = 0;
    cpu->gdt.limit = cpu->idt.limit = 0xffff;
    cpu->cr0 = CR0_ET | CR0_NW | CR0_CD;
    cpu->cr2 = cpu->cr3 = cpu->cr4 = cpu->cr8 = 0;
    cpu->efer = 0;
    cpu->apic_base =
        0xfee00000ULL | APIC_BASE_ENABLE | (cpu->cfg.vcpu_index == 0 ? APIC_BASE_BSP : 0);
    memset(&cpu->ext, 0, sizeof(cpu->ext));
    fpu_reset(cpu);
    cpu->ext.msrs.pat = 0x0007040600070406ULL;
    cpu->ext.msrs.misc_enable = 1; /* fast strings */
    cpu->ext.dr[6] = 0xffff0ff0;
    cpu->ext.dr[7] = 0x400;
    cpu->ext.xcr0 = 1;
    cpu->halted = false;
    cpu->int_shadow = false;
    cpu->nmi_blocked = false;
    cpu->delivering = -1;
    soft_set_cpl_from_cs(cpu);
    soft_update_mode(cpu);
    soft_tlb_flush_all(cpu);
}

int soft_cpu_create(const struct guest_mem *mem, const struct soft_cpu_config *cfg,
                    const struct soft_cpu_hooks *hooks, struct soft_cpu **out)
{
    struct soft_cpu *cpu = aligned_alloc(64, (sizeof(*cpu) + 63) & ~(size_t)63);
    if (!cpu)
        return -ENOMEM;
    memset(cpu, 0, sizeof(*cpu));
    cpu->mem = mem;
    if (cfg)
        cpu->cfg = *cfg;
    if (hooks)
        cpu->hooks = *hooks;
    if (cpu->cfg.ncpus == 0)
        cpu->cfg.ncpus = 1;
    if (cpu->cfg.clock) {
        cpu->clock = cpu->cfg.clock;
    } else {
        vclock_init(&cpu->private_clock, VCLOCK_DEFAULT_TSC_HZ);
        cpu->clock = &cpu->private_clock;
    }
    int r;
    if (cpu->cfg.code_map) {
        cpu->code_map = cpu->cfg.code_map;
    } else {
        r = soft_code_map_create(ram_end(mem), &cpu->code_map);
        if (r < 0)
            goto fail;
        cpu->own_code_map = true;
    }
    cpu->code_gen = cpu->code_map->gen;
    cpu->code_has = cpu->code_map->has_code;
    cpu->code_epoch = &cpu->code_map->epoch;
    r = soft_decoder_init(cpu);
    if (r < 0)
        goto fail;
    r = soft_block_cache_init(cpu);
    if (r < 0)
        goto fail;
    atomic_init(&cpu->kicked, false);
    reset_state(cpu);
    *out = cpu;
    return 0;
fail:
    log_error("soft: cannot create CPU: %s", strerror(-r));
    soft_cpu_destroy(cpu);
    return r;
}

void soft_cpu_destroy(struct soft_cpu *cpu)
{
    if (!cpu)
        return;
    soft_block_cache_destroy(cpu);
    soft_decoder_destroy(cpu);
    if (cpu->own_code_map)
        soft_code_map_destroy(cpu->code_map);
    free(cpu);
}

int soft_cpu_set_state(struct soft_cpu *cpu, const struct cpu_state *st)
{
    bool lma = st->efer & EFER_LMA;
    if (lma && (!(st->cr0 & CR0_PG) || !(st->cr4 & CR4_PAE) || !(st->efer & EFER_LME))) {
        log_error("soft: long mode active without paging/PAE/LME");
        return -EINVAL;
    }
    if ((st->cr0 & CR0_PG) && !(st->cr0 & CR0_PE)) {
        log_error("soft: CR0.PG set without CR0.PE");
        return -EINVAL;
    }
    if (st->seg[SEG_CS].l && st->seg[SEG_CS].db) {
        log_error("soft: code segment with both L and D set");
        return -EINVAL;
    }
    memcpy(cpu->gpr, st->gpr, sizeof(cpu->gpr));
    cpu->rip = st->rip;
    cpu->rflags = (st->rflags & 0x3f7fd5ULL) | RFLAGS_FIXED1;
    cpu->lf.op = LF_NONE;
    memcpy(cpu->seg, st->seg, sizeof(cpu->seg));
    cpu->tr = st->tr;
    cpu->ldt = st->ldt;
    cpu->gdt = st->gdt;
    cpu->idt = st->idt;
    cpu->cr0 = st->cr0 | CR0_ET;
    cpu->cr2 = st->cr2;
    cpu->cr3 = st->cr3;
    cpu->cr4 = st->cr4;
    cpu->cr8 = st->cr8 & 0xf;
    cpu->efer = st->efer;
    cpu->apic_base = st->apic_base;
    cpu->halted = false;
    cpu->int_shadow = false;
    cpu->delivering = -1;
    soft_set_cpl_from_cs(cpu);
    soft_update_mode(cpu);
    soft_tlb_flush_all(cpu);
    return 0;
}

void soft_cpu_get_state(struct soft_cpu *cpu, struct cpu_state *st)
{
    memset(st, 0, sizeof(*st));
    memcpy(st->gpr, cpu->gpr, sizeof(st->gpr));
    st->rip = cpu->rip;
    st->rflags = soft_flags_get(cpu);
    memcpy(st->seg, cpu->seg, sizeof(st->seg));
    st->tr = cpu->tr;
    st->ldt = cpu->ldt;
    st->gdt = cpu->gdt;
    st->idt = cpu->idt;
    st->cr0 = cpu->cr0;
    st->cr2 = cpu->cr2;
    st->cr3 = cpu->cr3;
    st->cr4 = cpu->cr4;
    st->cr8 = cpu->cr8;
    st->efer = cpu->efer;
    st->apic_base = cpu->apic_base;
}

int soft_cpu_set_ext_state(struct soft_cpu *cpu, const struct soft_ext_state *ext)
{
    uint32_t mxcsr;
    memcpy(&mxcsr, ext->fpu.fxsave + 24, 4);
    if (mxcsr & ~0xffffu) {
        log_error("soft: MXCSR %#x has reserved bits set", mxcsr);
        return -EINVAL;
    }
    cpu->ext = *ext;
    return 0;
}

void soft_cpu_get_ext_state(struct soft_cpu *cpu, struct soft_ext_state *ext)
{
    *ext = cpu->ext;
}

void soft_cpu_last_exception(const struct soft_cpu *cpu, struct soft_exception *exc)
{
    *exc = cpu->exc;
}

void soft_cpu_kick(struct soft_cpu *cpu)
{
    atomic_store(&cpu->kicked, true);
}

bool soft_cpu_halted(const struct soft_cpu *cpu)
{
    return cpu->halted;
}

void soft_cpu_get_stats(const struct soft_cpu *cpu, struct soft_cpu_stats *stats)
{
    *stats = cpu->stats;
}

/* External interrupts and NMIs, checked between blocks outside an STI/MOV SS shadow (the run
 * loop handles the shadow). Returns true if one was delivered. */
static bool check_interrupts(struct soft_cpu *cpu)
{
    if (!cpu->nmi_blocked && cpu->hooks.nmi_take && cpu->hooks.nmi_take(cpu->hooks.opaque)) {
        cpu->insn_rip = cpu->rip;
        cpu->delivering = EXC_NMI;
        cpu->nmi_blocked = true;
        cpu->halted = false;
        soft_deliver(cpu, EXC_NMI, false, 0, false, cpu->rip);
        cpu->delivering = -1;
        cpu->stats.interrupts++;
        return true;
    }
    if (!(cpu->rflags & RFLAGS_IF) || !cpu->hooks.irq_pending ||
        !cpu->hooks.irq_pending(cpu->hooks.opaque))
        return false;
    int vec = cpu->hooks.irq_ack ? cpu->hooks.irq_ack(cpu->hooks.opaque) : -1;
    if (vec < 0 || vec > 255)
        return false;
    cpu->insn_rip = cpu->rip;
    cpu->delivering = vec;
    cpu->halted = false;
    soft_deliver(cpu, (unsigned)vec, false, 0, false, cpu->rip);
    cpu->delivering = -1;
    cpu->stats.interrupts++;
    return true;
}

/* XXX: the interrupt controllers are polled every IRQ_POLL_BLOCKS blocks (and at once when IF goes
 * from 0 to 1, a run starts or an interrupt was just delivered): external interrupts are
 * asynchronous, and a few blocks of latency cost the guest nothing. */
#define IRQ_POLL_BLOCKS 16

/* (A mode change bumps chain_gen, so the successor's mode needs no check.) The successor's page
 * generation is read only when some code was invalidated since it was last found valid: the
 * code map's epoch is bumped after every page generation, and read here before the page's. */
static bool chain_hit(const struct soft_cpu *cpu, struct soft_chain *c, uint64_t lin)
{
    if (c->lin != lin || !c->next || c->gen != cpu->chain_gen)
        return false;
    uint32_t epoch = atomic_load_explicit(cpu->code_epoch, memory_order_acquire);
    if (likely(c->epoch == epoch))
        return true;
    if (!soft_block_valid(cpu, c->next))
        return false;
    c->epoch = epoch;
    return true;
}

/* b was found valid after the code map's epoch read as epoch. */
static void chain_set(struct soft_chain *c, uint64_t lin, uint64_t gen, uint32_t epoch,
                      struct soft_block *b)
{
    c->lin = lin;
    c->gen = gen;
    c->next = b;
    c->epoch = epoch;
}

/* The block for linear address lin: the successor remembered by prev, else the per-CPU
 * linear-address cache, else a cache lookup (or translation), then remembered in both. A
 * remembered entry is valid while the CPU's chain_gen is unchanged (no TLB flush, mode change
 * or block freed; the same privilege class) and its page generation is. */
static struct soft_block *next_block(struct soft_cpu *cpu, struct soft_block *prev, uint64_t lin)
{
    if (prev) {
        if (chain_hit(cpu, &prev->chain[0], lin))
            return prev->chain[0].next;
        if (chain_hit(cpu, &prev->chain[1], lin))
            return prev->chain[1].next;
    }
    struct soft_chain *j = &cpu->jcache[(lin ^ (lin >> 12)) & (SOFT_JCACHE_SIZE - 1)];
    uint64_t gen = cpu->chain_gen;
    uint32_t epoch = atomic_load_explicit(cpu->code_epoch, memory_order_acquire);
    struct soft_block *b;
    if (chain_hit(cpu, j, lin)) {
        b = j->next;
    } else {
        cpu->stats.block_lookups++;
        b = soft_block_get(cpu, lin);
        /* Not a page-crossing instruction's block; not if blocks were freed or translations
         * flushed meanwhile (prev itself may be gone). */
        if (b->gpa == SOFT_GPA_CROSSING || gen != cpu->chain_gen)
            return b;
        chain_set(j, lin, gen, epoch, b);
    }
    if (prev) {
        chain_set(&prev->chain[prev->chain_next], lin, gen, epoch, b);
        prev->chain_next ^= 1;
    }
    return b;
}

int soft_run_plain(struct soft_cpu *cpu, const struct soft_insn *in)
{
    if (in->fn(cpu, in))
        return soft_end_after(cpu, in);
    return soft_next(cpu, in);
}

/* The sentinel's entry: the block ran to its end. Unless the block loop has work to do (an
 * interrupt poll is due, the budget is spent, a kick, an STI/MOV SS shadow, HLT, IF changed,
 * not 64-bit mode), goes straight on into the successor the block remembers, accounting for
 * the finished block here. The poll countdown bounds how many blocks chain this way before
 * the loop runs again (and so the stack depth should a compiler not make these tail calls). */
int soft_run_end(struct soft_cpu *cpu, const struct soft_insn *in)
{
    struct soft_block *b = (struct soft_block *)(uintptr_t)in->op[0].disp;
    uint64_t n = b->ninsns;
    cpu->stop_at = in;
    if (cpu->irq_poll_left <= 1 || cpu->budget_left <= n || cpu->mode != SOFT_MODE_64 ||
        cpu->int_shadow || cpu->halted || (cpu->rflags & RFLAGS_IF) != cpu->if_at_entry ||
        atomic_load_explicit(&cpu->kicked, memory_order_relaxed))
        return 1;
    uint64_t lin = cpu->segbase[SEG_CS] + cpu->rip;
    struct soft_block *next;
    if (chain_hit(cpu, &b->chain[0], lin))
        next = b->chain[0].next;
    else if (chain_hit(cpu, &b->chain[1], lin))
        next = b->chain[1].next;
    else
        return 1;
    cpu->irq_poll_left--;
    cpu->budget_left -= n;
    cpu->stats.instructions += n;
    b->icount += n;
    cpu->cur_block = next;
    return soft_run_from(cpu, next->insns);
}

/* XXX: RFLAGS.TF single-stepping, DR0-3 breakpoints and #AC alignment checks are not
 * implemented (CPUID does not advertise DE; TF is stored but never traps).
 * Runs one block, threaded: each instruction's entry runs the next (soft_next) until one ends
 * the block and records where; a block that runs to its end may chain into its successor
 * (soft_run_end), which then ends in its place. Returns the block that ended if execution may
 * chain from it (it ended normally). */
static struct soft_block *exec_block(struct soft_cpu *cpu, struct soft_block *prev)
{
    uint64_t lin = cpu->segbase[SEG_CS] + cpu->rip;
    if (cpu->mode != SOFT_MODE_64)
        lin = (uint32_t)lin;
    cpu->insn_rip = cpu->rip;
    struct soft_block *b = next_block(cpu, prev, lin);
    cpu->stop_block = false;
    cpu->cur_block = b;
    cpu->if_at_entry = cpu->rflags & RFLAGS_IF;
    soft_run_from(cpu, b->insns);
    b = cpu->cur_block;
    uint64_t n = (uint64_t)(cpu->stop_at - b->insns);
    if (cpu->mode != SOFT_MODE_64)
        cpu->rip = (uint32_t)cpu->rip;
    cpu->stats.instructions += n;
    b->icount += n;
    cpu->budget_left = cpu->budget_left > n ? cpu->budget_left - n : 0;
    return b->gpa == SOFT_GPA_CROSSING || cpu->stop_block ? NULL : b;
}

/* The block loop, kept out of soft_cpu_run so that no setjmp frame forces its locals (the
 * CPU pointer above all) into memory. An exception longjmps out of it; it starts afresh. */
static __attribute__((noinline)) enum soft_exit run_blocks(struct soft_cpu *cpu)
{
    struct soft_block *prev = NULL;
    bool poll_now = true, if_was = false;
    cpu->irq_poll_left = IRQ_POLL_BLOCKS;
    for (;;) {
        if (atomic_load_explicit(&cpu->kicked, memory_order_relaxed) &&
            atomic_exchange(&cpu->kicked, false))
            return SOFT_EXIT_KICK;
        bool if_now = cpu->rflags & RFLAGS_IF;
        if (cpu->int_shadow) {
            cpu->int_shadow = false; /* STI / MOV SS: not before this block; right after it */
            poll_now = true;
        } else if (poll_now || --cpu->irq_poll_left == 0 || (if_now && !if_was) || cpu->halted) {
            poll_now = false;
            cpu->irq_poll_left = IRQ_POLL_BLOCKS;
            if (check_interrupts(cpu)) {
                prev = NULL;
                poll_now = true; /* another may be waiting behind it */
            }
        }
        if_was = cpu->rflags & RFLAGS_IF;
        if (cpu->halted)
            return SOFT_EXIT_HLT;
        if (cpu->budget_left == 0)
            return SOFT_EXIT_BUDGET;
        prev = exec_block(cpu, prev);
    }
}

enum soft_exit soft_cpu_run(struct soft_cpu *cpu, uint64_t max_instructions)
{
    enum soft_exit why = SOFT_EXIT_BUDGET;
    cpu->budget_left = max_instructions;
    if (setjmp(cpu->jb)) {
        /* An instruction, a block fetch or an interrupt delivery raised an exception. */
        cpu->budget_left = cpu->budget_left ? cpu->budget_left - 1 : 0;
        if (!soft_exception_dispatch(cpu, &why))
            return why;
    }
    return run_blocks(cpu);
}
