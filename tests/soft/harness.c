/* Test harness for the soft CPU unit tests (see harness.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static uint64_t pio_read(void *opaque, uint16_t port, unsigned size)
{
    struct harness *h = opaque;
    h->last_port = port;
    return 0x1234567890abcdefULL;
}

static void pio_write(void *opaque, uint16_t port, unsigned size, uint64_t value)
{
    struct harness *h = opaque;
    h->last_port = port;
    h->last_out = value;
    h->nout++;
}

static bool irq_pending(void *opaque)
{
    struct harness *h = opaque;
    return h->pending_irq >= 0;
}

static int irq_ack(void *opaque)
{
    struct harness *h = opaque;
    int v = h->pending_irq;
    h->pending_irq = -1;
    return v;
}

uint64_t harness_read64(struct harness *h, uint64_t gpa)
{
    uint64_t v;
    assert_int_equal(guest_mem_read(&h->gm, gpa, &v, 8), 0);
    return v;
}

void harness_write64(struct harness *h, uint64_t gpa, uint64_t v)
{
    assert_int_equal(guest_mem_write(&h->gm, gpa, &v, 8), 0);
}

static uint64_t seg_desc(unsigned type, unsigned dpl, bool l, bool db)
{
    return 0xffffULL | (0xfULL << 48) | ((uint64_t)type << 40) | (1ULL << 44) |
           ((uint64_t)dpl << 45) | (1ULL << 47) | ((uint64_t)l << 53) | ((uint64_t)db << 54) |
           (1ULL << 55);
}

void harness_set_gate(struct harness *h, unsigned vector, uint64_t handler, unsigned ist,
                      unsigned dpl)
{
    uint64_t lo = (handler & 0xffff) | ((uint64_t)SEL_KCODE << 16) | ((uint64_t)ist << 32) |
                  (0xeULL << 40) | ((uint64_t)dpl << 45) | (1ULL << 47) |
                  (((handler >> 16) & 0xffff) << 48);
    harness_write64(h, HARNESS_IDT + vector * 16, lo);
    harness_write64(h, HARNESS_IDT + vector * 16 + 8, handler >> 32);
}

void harness_init(struct harness *h, bool exceptions_exit)
{
    memset(h, 0, sizeof(*h));
    h->pending_irq = -1;
    assert_int_equal(guest_mem_init(&h->gm, HARNESS_RAM), 0);
    assert_int_equal(soft_code_map_create(HARNESS_RAM, &h->code_map), 0);
    h->gm.write_notify = soft_code_map_note_write;
    h->gm.write_notify_opaque = h->code_map;
    /* Identity map: PML4[0] -> PDPT, PDPT[0] -> PD, PD = 2 MiB pages except [2 MiB, 4 MiB)
     * which goes through a 4 KiB page table. */
    harness_write64(h, HARNESS_PML4, HARNESS_PDPT | 7);
    harness_write64(h, HARNESS_PDPT, HARNESS_PD | 7);
    for (uint64_t i = 0; i < 512; i++)
        harness_write64(h, HARNESS_PD + i * 8, (i << 21) | 0x87);
    harness_write64(h, HARNESS_PD + 8, HARNESS_PT | 7);
    for (uint64_t i = 0; i < 512; i++)
        harness_write64(h, HARNESS_PT + i * 8, (HARNESS_DATA + (i << 12)) | 7);
    /* GDT: null, kernel code, kernel data, user data, user code, TSS (16 bytes). */
    harness_write64(h, HARNESS_GDT + 0x08, seg_desc(0xb, 0, true, false));
    harness_write64(h, HARNESS_GDT + 0x10, seg_desc(0x3, 0, false, true));
    harness_write64(h, HARNESS_GDT + 0x18, seg_desc(0x3, 3, false, true));
    harness_write64(h, HARNESS_GDT + 0x20, seg_desc(0xb, 3, true, false));
    uint64_t tss = 0x67 | ((HARNESS_TSS & 0xffffff) << 16) | (0xbULL << 40) | (1ULL << 47);
    harness_write64(h, HARNESS_GDT + 0x28, tss);
    harness_write64(h, HARNESS_GDT + 0x30, 0);

    h->hooks.opaque = h;
    h->hooks.pio_read = pio_read;
    h->hooks.pio_write = pio_write;
    h->hooks.irq_pending = irq_pending;
    h->hooks.irq_ack = irq_ack;
    struct soft_cpu_config cfg = {
        .exceptions_exit = exceptions_exit, .ncpus = 1, .code_map = h->code_map};
    assert_int_equal(soft_cpu_create(&h->gm, &cfg, &h->hooks, &h->cpu), 0);
}

void harness_destroy(struct harness *h)
{
    soft_cpu_destroy(h->cpu);
    h->gm.write_notify = NULL;
    soft_code_map_destroy(h->code_map);
    guest_mem_destroy(&h->gm);
}

static void flat(struct cpu_segment *s, uint16_t sel, unsigned type, unsigned dpl, bool l)
{
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->limit = 0xffffffff;
    s->type = (uint8_t)type;
    s->s = 1;
    s->dpl = (uint8_t)dpl;
    s->present = 1;
    s->l = l;
    s->db = !l;
    s->g = 1;
}

void harness_load(struct harness *h, const uint8_t *code, const uint8_t *end)
{
    assert_int_equal(guest_mem_write(&h->gm, HARNESS_CODE, code, (size_t)(end - code)), 0);
    struct cpu_state *st = &h->st;
    memset(st, 0, sizeof(*st));
    st->rip = HARNESS_CODE;
    st->rflags = RFLAGS_FIXED1;
    st->gpr[GPR_RSP] = HARNESS_STACK;
    flat(&st->seg[SEG_CS], SEL_KCODE, 0xb, 0, true);
    for (unsigned s = 0; s < SEG_COUNT; s++)
        if (s != SEG_CS)
            flat(&st->seg[s], SEL_KDATA, 0x3, 0, false);
    st->tr.selector = SEL_TSS;
    st->tr.base = HARNESS_TSS;
    st->tr.limit = 0x67;
    st->tr.type = 0xb;
    st->tr.present = 1;
    st->ldt.unusable = 1;
    st->gdt.base = HARNESS_GDT;
    st->gdt.limit = 0x37;
    st->idt.base = HARNESS_IDT;
    st->idt.limit = 0xfff;
    st->cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_NE | CR0_WP;
    st->cr3 = HARNESS_PML4;
    st->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    st->efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
    assert_int_equal(soft_cpu_set_state(h->cpu, st), 0);
}

enum soft_exit harness_run(struct harness *h, uint64_t budget)
{
    enum soft_exit e = soft_cpu_run(h->cpu, budget);
    harness_sync(h);
    return e;
}

void harness_sync(struct harness *h)
{
    soft_cpu_get_state(h->cpu, &h->st);
}
