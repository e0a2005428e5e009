/* Soft-CPU side of the differential tester: one guest RAM with identity-mapped 4 KiB pages for
 * exactly the code page and the data window (nothing else, so stray accesses fault as they do
 * natively), a soft CPU (recreated every CPU_REUSE cases) in exceptions_exit mode at CPL0 in 64-bit
 * mode, the case's registers and FXSAVE image loaded, run to the terminating HLT. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "soft_avail.h"

#if DIFF_HAVE_SOFT_CPU

#include "core/memmap.h"
#include "soft/cpu.h"

#define GUEST_RAM  (16 * MiB)
#define PT_PML4    0x1000ULL
#define PT_PDPT    0x2000ULL
#define PT_PD      0x3000ULL
#define PT_CODE    0x4000ULL /* page table for 0x400000..0x5fffff */
#define PT_WIN     0x5000ULL /* page table for 0x600000..0x7fffff */
#define PTE_PRW_US 0x7ULL    /* present, writable, user */
#define BUDGET     200000

/* A CPU is reused for this many cases (set_state resets what the snippets can change), then
 * recreated, so that state a buggy set_state fails to reset cannot hide for long. */
#define CPU_REUSE 32

struct diff_soft {
    struct guest_mem gm;
    struct soft_code_map *code_map;
    struct soft_cpu *cpu;
    unsigned uses;
};

static int put64(struct diff_soft *s, uint64_t gpa, uint64_t v)
{
    return guest_mem_write(&s->gm, gpa, &v, 8);
}

/* 4-level identity map of the code page and the two window pages only. */
static int build_page_tables(struct diff_soft *s)
{
    int r = 0;
    r |= put64(s, PT_PML4, PT_PDPT | PTE_PRW_US);
    r |= put64(s, PT_PDPT, PT_PD | PTE_PRW_US);
    r |= put64(s, PT_PD + 8 * (DIFF_CODE_ADDR >> 21), PT_CODE | PTE_PRW_US);
    r |= put64(s, PT_PD + 8 * (DIFF_WIN_ADDR >> 21), PT_WIN | PTE_PRW_US);
    for (uint64_t a = DIFF_CODE_ADDR; a < DIFF_CODE_ADDR + DIFF_CODE_SIZE; a += 0x1000)
        r |= put64(s, PT_CODE + 8 * ((a >> 12) & 511), a | PTE_PRW_US);
    for (uint64_t a = DIFF_WIN_ADDR; a < DIFF_WIN_ADDR + DIFF_WIN_SIZE; a += 0x1000)
        r |= put64(s, PT_WIN + 8 * ((a >> 12) & 511), a | PTE_PRW_US);
    return r ? -EFAULT : 0;
}

int diff_soft_create(struct diff_soft **out)
{
    struct diff_soft *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    int r = guest_mem_init(&s->gm, GUEST_RAM);
    if (r < 0) {
        free(s);
        return r;
    }
    /* Cases rewrite the code page through guest_mem: the CPUs' code map must hear of it. */
    r = soft_code_map_create(GUEST_RAM, &s->code_map);
    if (r < 0) {
        guest_mem_destroy(&s->gm);
        free(s);
        return r;
    }
    s->gm.write_notify = soft_code_map_note_write;
    s->gm.write_notify_opaque = s->code_map;
    r = build_page_tables(s);
    if (r < 0) {
        diff_soft_destroy(s);
        return r;
    }
    *out = s;
    return 0;
}

void diff_soft_destroy(struct diff_soft *s)
{
    if (!s)
        return;
    if (s->cpu)
        soft_cpu_destroy(s->cpu);
    s->gm.write_notify = NULL;
    soft_code_map_destroy(s->code_map);
    guest_mem_destroy(&s->gm);
    free(s);
}

static void long_mode_state(struct cpu_state *st)
{
    memset(st, 0, sizeof *st);
    st->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    st->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    st->cr3 = PT_PML4;
    st->efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
    st->apic_base = 0xfee00000ULL | APIC_BASE_BSP | APIC_BASE_ENABLE;
    for (int i = 0; i < SEG_COUNT; i++) {
        struct cpu_segment *sg = &st->seg[i];
        sg->selector = 0x10;
        sg->type = 0x3;
        sg->s = 1;
        sg->present = 1;
        sg->db = 1;
        sg->g = 1;
        sg->limit = 0xffffffff;
    }
    st->seg[SEG_CS] = (struct cpu_segment){
        .selector = 0x8, .type = 0xb, .s = 1, .present = 1, .l = 1, .g = 1, .limit = 0xffffffff};
    st->tr = (struct cpu_segment){.selector = 0x18, .type = 0xb, .present = 1, .limit = 0x67};
    st->ldt = (struct cpu_segment){.unusable = 1};
}

static void set_error(struct diff_outcome *o, int vector, const char *what)
{
    o->vector = vector;
    snprintf(o->detail, sizeof o->detail, "%s", what);
}

void diff_soft_run(struct diff_soft *s, const struct diff_case *c, struct diff_outcome *o)
{
    uint8_t code[DIFF_CODE_SIZE];
    memset(o, 0, sizeof *o);
    memset(code, 0xcc, sizeof code);
    memcpy(code, c->code, c->code_len);
    code[c->code_len] = 0xf4; /* HLT */
    if (guest_mem_write(&s->gm, DIFF_CODE_ADDR, code, sizeof code) < 0 ||
        guest_mem_write(&s->gm, DIFF_WIN_ADDR, c->win, DIFF_WIN_SIZE) < 0) {
        set_error(o, DIFF_ERROR, "guest_mem_write failed");
        return;
    }

    if (s->cpu && ++s->uses >= CPU_REUSE) {
        soft_cpu_destroy(s->cpu);
        s->cpu = NULL;
    }
    if (!s->cpu) {
        struct soft_cpu_config cfg = {.ncpus = 1, .exceptions_exit = true, .code_map = s->code_map};
        if (soft_cpu_create(&s->gm, &cfg, NULL, &s->cpu) < 0) {
            s->cpu = NULL;
            set_error(o, DIFF_ERROR, "soft_cpu_create failed");
            return;
        }
        s->uses = 0;
    }
    struct soft_cpu *cpu = s->cpu;
    struct cpu_state st;
    long_mode_state(&st);
    memcpy(st.gpr, c->in.gpr, sizeof st.gpr);
    st.rip = DIFF_CODE_ADDR;
    /* IF=1 as in the host's user mode (PUSHF must agree); no hooks: no interrupt ever. */
    st.rflags = c->in.rflags | RFLAGS_IF | RFLAGS_FIXED1;
    struct soft_ext_state ext;
    soft_cpu_get_ext_state(cpu, &ext);
    memcpy(ext.fpu.fxsave, c->in.fx, sizeof ext.fpu.fxsave);
    if (soft_cpu_set_state(cpu, &st) < 0 || soft_cpu_set_ext_state(cpu, &ext) < 0) {
        set_error(o, DIFF_ERROR, "soft_cpu_set_state rejected the state");
        return;
    }
    soft_cpu_invalidate_code(cpu, DIFF_CODE_ADDR, DIFF_CODE_SIZE);

    enum soft_exit why = soft_cpu_run(cpu, BUDGET);
    soft_cpu_get_state(cpu, &st);
    soft_cpu_get_ext_state(cpu, &ext);
    switch (why) {
    case SOFT_EXIT_HLT:
        o->vector = DIFF_END;
        o->rip = st.rip - 1;
        break;
    case SOFT_EXIT_EXCEPTION: {
        struct soft_exception e;
        soft_cpu_last_exception(cpu, &e);
        o->vector = e.vector;
        o->error_code = e.has_error_code ? e.error_code : 0;
        o->fault_addr = e.vector == 14 ? e.cr2 : 0;
        o->rip = e.rip;
        break;
    }
    case SOFT_EXIT_BUDGET:
        set_error(o, DIFF_TIMEOUT, "instruction budget exhausted");
        break;
    default:
        set_error(o, DIFF_ERROR, why == SOFT_EXIT_SHUTDOWN ? "triple fault" : "internal error");
        break;
    }
    memcpy(o->out.gpr, st.gpr, sizeof o->out.gpr);
    o->out.rflags = st.rflags;
    memcpy(o->out.fx, ext.fpu.fxsave, sizeof o->out.fx);
    if (guest_mem_read(&s->gm, DIFF_WIN_ADDR, o->win, DIFF_WIN_SIZE) < 0)
        set_error(o, DIFF_ERROR, "guest_mem_read failed");
}

bool diff_soft_cpuid(struct diff_soft *s, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    struct diff_case *c = calloc(1, sizeof *c);
    struct diff_outcome *o = calloc(1, sizeof *o);
    bool ok = false;
    if (c && o) {
        c->code[0] = 0x0f;
        c->code[1] = 0xa2;
        c->code_len = 2;
        c->in.gpr[0] = leaf;
        c->in.gpr[1] = sub;
        c->in.gpr[4] = DIFF_STACK_TOP;
        c->in.rflags = 0x2;
        diff_fx_default(c->in.fx);
        diff_soft_run(s, c, o);
        if (o->vector == DIFF_END) {
            r[0] = (uint32_t)o->out.gpr[0];
            r[1] = (uint32_t)o->out.gpr[3];
            r[2] = (uint32_t)o->out.gpr[1];
            r[3] = (uint32_t)o->out.gpr[2];
            ok = true;
        }
    }
    free(c);
    free(o);
    return ok;
}

#else /* !DIFF_HAVE_SOFT_CPU */

int diff_soft_create(struct diff_soft **out)
{
    *out = NULL;
    return -ENOSYS;
}

void diff_soft_destroy(struct diff_soft *s)
{
    (void)s;
}

void diff_soft_run(struct diff_soft *s, const struct diff_case *c, struct diff_outcome *o)
{
    (void)s;
    (void)c;
    memset(o, 0, sizeof *o);
    o->vector = DIFF_ERROR;
    snprintf(o->detail, sizeof o->detail, "soft CPU not built");
}

bool diff_soft_cpuid(struct diff_soft *s, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    (void)s;
    (void)leaf;
    (void)sub;
    (void)r;
    return false;
}

#endif
