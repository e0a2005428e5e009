/* Linear-to-physical translation: the 4-level IA-32e page walk (SDM Vol. 3A 4.5) with
 * accessed/dirty bits, NX, reserved-bit checks and exact #PF error codes (4.7), and the soft
 * TLB that caches its results as host pointers (with INVLPG / CR3-reload semantics, 4.10). */
#include "soft/internal.h"
#include "util/log.h"

#define MAXPHYADDR   42
#define PTE_P        (1ULL << 0)
#define PTE_RW       (1ULL << 1)
#define PTE_US       (1ULL << 2)
#define PTE_A        (1ULL << 5)
#define PTE_D        (1ULL << 6)
#define PTE_PS       (1ULL << 7)
#define PTE_G        (1ULL << 8)
#define PTE_XD       (1ULL << 63)
#define PTE_ADDR     (((1ULL << MAXPHYADDR) - 1) & ~0xfffULL)
#define PTE_RSVD_PHY (((1ULL << 52) - 1) & ~((1ULL << MAXPHYADDR) - 1))

static void tlb_invalidate(struct tlb_entry *e)
{
    e->vpage = e->tag_r = e->tag_w = e->tag_x = TLB_INVALID;
    e->global = false;
}

/* Invalidates the logged entries for which drop() holds and keeps the others logged. */
static void tlb_flush_logged(struct soft_cpu *cpu, bool (*drop)(const struct tlb_entry *, uint64_t),
                             uint64_t arg)
{
    soft_chains_drop(cpu);
    cpu->stats.tlb_flushes++;
    if (!cpu->tlb_log_ok) {
        /* A new CPU: nothing is logged yet, whatever the sets hold. Start from empty. */
        for (unsigned s = 0; s < 2; s++)
            for (unsigned i = 0; i < TLB_SIZE; i++) {
                tlb_invalidate(&cpu->tlb[s][i]);
                tlb_invalidate(&cpu->itlb[s][i]);
            }
        cpu->tlb_nlog = 0;
        cpu->tlb_log_ok = true;
        return;
    }
    unsigned kept = 0;
    for (unsigned i = 0; i < cpu->tlb_nlog; i++) {
        struct tlb_entry *e = cpu->tlb_log[i];
        if (drop(e, arg))
            tlb_invalidate(e);
        else
            cpu->tlb_log[kept++] = e;
    }
    cpu->tlb_nlog = kept;
}

static bool drop_any(const struct tlb_entry *e, uint64_t unused)
{
    return true;
}

static bool drop_nonglobal(const struct tlb_entry *e, uint64_t unused)
{
    return !e->global;
}

/* Entries derived from the (possibly large) page that maps lin. */
static bool drop_span(const struct tlb_entry *e, uint64_t lin)
{
    return (lin & e->span_mask) == e->span_base;
}

void soft_tlb_flush_all(struct soft_cpu *cpu)
{
    tlb_flush_logged(cpu, drop_any, 0);
}

void soft_tlb_flush_nonglobal(struct soft_cpu *cpu)
{
    tlb_flush_logged(cpu, (cpu->cr4 & (1ULL << 7)) ? drop_nonglobal : drop_any, 0);
}

/* INVLPG: drop every entry derived from the (possibly large) page that maps lin. */
void soft_tlb_flush_page(struct soft_cpu *cpu, uint64_t lin)
{
    tlb_flush_logged(cpu, drop_span, lin);
}

/* Reads a paging-structure entry from guest-physical memory; returns its host pointer (NULL if
 * the table is not in RAM: guest-controlled, so treated as a not-present entry). */
static uint64_t *pte_ptr(struct soft_cpu *cpu, uint64_t gpa)
{
    return guest_mem_cpu_ptr(cpu->mem, gpa, 8);
}

static uint64_t pte_load(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void pte_set_bits(uint64_t *p, uint64_t bits)
{
    if ((pte_load(p) & bits) != bits)
        __atomic_fetch_or(p, bits, __ATOMIC_RELAXED);
}

uint32_t soft_walk(struct soft_cpu *cpu, uint64_t lin, enum soft_access acc, bool user,
                   uint64_t *gpa, uint64_t *page_mask, bool *global, bool set_ad)
{
    uint32_t ec = (acc == ACC_WRITE ? PFEC_W : 0) | (user ? PFEC_U : 0) |
                  (acc == ACC_EXEC && (cpu->efer & EFER_NXE) ? PFEC_I : 0);
    *global = false;
    if (!(cpu->cr0 & CR0_PG)) {
        *gpa = cpu->efer & EFER_LMA ? lin : (uint32_t)lin;
        *page_mask = PAGE_MASK;
        return 0;
    }
    if (!(cpu->efer & EFER_LMA) || !(cpu->cr4 & CR4_PAE)) {
        /* XXX: legacy 32-bit and PAE paging outside long mode are not implemented. */
        log_warn("soft: paging outside long mode is not implemented");
        return ec | PFEC_RSVD | (1u << 31);
    }
    uint64_t rsvd = PTE_RSVD_PHY | ((cpu->efer & EFER_NXE) ? 0 : PTE_XD);
    uint64_t table = cpu->cr3 & PTE_ADDR;
    uint64_t *ptrs[4];
    bool w = true, u = true, nx = false;
    uint64_t e = 0;
    int level;
    for (level = 3; level >= 0; level--) {
        unsigned idx = (unsigned)(lin >> (12 + 9 * level)) & 511;
        uint64_t *p = pte_ptr(cpu, table + idx * 8);
        ptrs[3 - level] = p;
        e = p ? pte_load(p) : 0;
        if (!(e & PTE_P))
            return ec | (1u << 31);
        uint64_t r = rsvd;
        if (level == 3)
            r |= PTE_PS;
        else if (level == 2 && (e & PTE_PS))
            r |= 0x3fffe000ULL; /* 1 GiB page: bits 29:13 */
        else if (level == 1 && (e & PTE_PS))
            r |= 0x1fe000ULL; /* 2 MiB page: bits 20:13 */
        if (e & r)
            return ec | PFEC_P | PFEC_RSVD | (1u << 31);
        w = w && (e & PTE_RW);
        u = u && (e & PTE_US);
        nx = nx || ((cpu->efer & EFER_NXE) && (e & PTE_XD));
        if (level == 0 || (level <= 2 && (e & PTE_PS)))
            break;
        table = e & PTE_ADDR;
    }
    if (level < 0)
        level = 0;
    /* Permission checks (SDM 4.6). */
    if (user && !u)
        return ec | PFEC_P | (1u << 31);
    if (acc == ACC_WRITE && !w && (user || (cpu->cr0 & CR0_WP)))
        return ec | PFEC_P | (1u << 31);
    if (acc == ACC_EXEC && nx)
        return ec | PFEC_P | (1u << 31);

    uint64_t size = 1ULL << (12 + 9 * level);
    *page_mask = ~(size - 1);
    *gpa = ((e & PTE_ADDR) & ~(size - 1)) | (lin & (size - 1));
    *global = (e & PTE_G) != 0;
    if (set_ad) {
        for (int i = 0; i <= 3 - level; i++)
            pte_set_bits(ptrs[i], PTE_A);
        if (acc == ACC_WRITE)
            pte_set_bits(ptrs[3 - level], PTE_D);
    }
    return 0;
}

uint64_t soft_translate(struct soft_cpu *cpu, uint64_t lin, enum soft_access acc, bool supervisor)
{
    if ((cpu->efer & EFER_LMA) && !soft_canonical(lin))
        soft_raise_gp(cpu, 0); /* XXX: #SS(0) for stack references */
    bool user = cpu->cpl == 3 && !supervisor;
    uint64_t gpa, page_mask;
    bool global;
    cpu->stats.tlb_misses++;
    uint32_t ec = soft_walk(cpu, lin, acc, user, &gpa, &page_mask, &global, true);
    if (ec) {
        cpu->cr2 = lin;
        soft_raise(cpu, EXC_PF, ec & ~(1u << 31), true);
    }
    uint64_t gpage = gpa & PAGE_MASK;
    uint8_t *host = guest_mem_cpu_ptr(cpu->mem, gpage, PAGE_SIZE);
    if (host && (gpage >> 12) < cpu->code_map->npages) {
        struct tlb_entry *set = acc == ACC_EXEC ? cpu->itlb[user] : cpu->tlb[user];
        struct tlb_entry *e = &set[(lin >> 12) & (TLB_SIZE - 1)];
        uint64_t vpage = lin & PAGE_MASK;
        if (e->vpage != vpage || e->gpa != gpage) {
            if (e->vpage == TLB_INVALID && cpu->tlb_log_ok)
                cpu->tlb_log[cpu->tlb_nlog++] = e; /* at most TLB_ENTRIES: each entry once */
            tlb_invalidate(e);
            e->vpage = vpage;
            e->gpa = gpage;
            e->addend = (uintptr_t)host - (uintptr_t)vpage;
        }
        e->span_mask = page_mask;
        e->span_base = lin & page_mask;
        e->global = global;
        if (acc == ACC_READ)
            e->tag_r = vpage;
        else if (acc == ACC_WRITE)
            e->tag_w = e->tag_r = vpage;
        else
            e->tag_x = vpage;
    }
    return gpa;
}
