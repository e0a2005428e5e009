/* Translated-code cache: blocks of decoded instructions keyed by guest-physical address and
 * decode mode, and the per-VM code map (pages holding code, with a generation per page) that
 * makes writes to code pages invalidate the blocks on them. */
#include <errno.h>
#include <stdlib.h>

#include "soft/decode.h"
#include "soft/internal.h"
#include "soft/profile.h"
#include "util/log.h"

#define BHASH_BITS   16
#define BLOCKS_MAX   65536 /* the whole cache is flushed beyond this */
#define INSN_MAX_LEN 15    /* the longest x86 instruction (SDM Vol. 2 2.3.11) */

int soft_code_map_create(uint64_t ram_end, struct soft_code_map **out)
{
    struct soft_code_map *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->npages = (ram_end + PAGE_SIZE - 1) / PAGE_SIZE;
    m->has_code = calloc(m->npages ? m->npages : 1, sizeof(*m->has_code));
    m->gen = calloc(m->npages ? m->npages : 1, sizeof(*m->gen));
    if (!m->has_code || !m->gen) {
        free((void *)m->has_code);
        free((void *)m->gen);
        free(m);
        return -ENOMEM;
    }
    *out = m;
    return 0;
}

void soft_code_map_destroy(struct soft_code_map *map)
{
    if (!map)
        return;
    free((void *)map->has_code);
    free((void *)map->gen);
    free(map);
}

/* Drops translated code on the pages of [gpa, gpa+len) (clipped to the map): clears their
 * has_code flags and bumps their generations. Returns how many pages held code. */
static unsigned invalidate_pages(struct soft_code_map *m, uint64_t gpa, uint64_t len)
{
    if (!len || gpa >= m->npages * PAGE_SIZE)
        return 0;
    uint64_t last =
        (len - 1 > m->npages * PAGE_SIZE - 1 - gpa) ? m->npages - 1 : (gpa + len - 1) >> 12;
    unsigned n = 0;
    for (uint64_t p = gpa >> 12; p <= last; p++) {
        if (atomic_load_explicit(&m->has_code[p], memory_order_relaxed)) {
            atomic_store(&m->has_code[p], 0);
            atomic_fetch_add(&m->gen[p], 1);
            n++;
        }
    }
    if (n)
        atomic_fetch_add(&m->epoch, 1); /* after the generations: see chain_hit */
    return n;
}

/* Invalidation seen by a CPU: ends its current block if any page held code. */
static void cpu_invalidate(struct soft_cpu *cpu, uint64_t gpa, uint64_t len)
{
    unsigned n = invalidate_pages(cpu->code_map, gpa, len);
    if (n) {
        cpu->stop_block = true;
        cpu->stats.blocks_invalidated += n;
    }
}

/* A CPU write of len bytes at gpa happened (or is about to): invalidate code on those pages. */
void soft_code_write(struct soft_cpu *cpu, uint64_t gpa, unsigned len)
{
    cpu_invalidate(cpu, gpa, len ? len : 1);
}

/* XXX: called when a device takes a pointer into RAM, before its DMA lands: code translated
 * from the page while the DMA is in flight stays stale until the next write to the page. */
void soft_code_map_note_write(void *opaque, uint64_t gpa, uint64_t len)
{
    invalidate_pages(opaque, gpa, len);
}

void soft_cpu_invalidate_code(struct soft_cpu *cpu, uint64_t gpa, uint64_t len)
{
    cpu_invalidate(cpu, gpa, len);
}

/* Moves b's instruction count into the profile, if one is kept. */
static void profile_fold(struct soft_cpu *cpu, struct soft_block *b)
{
    if (!cpu->profile || !b->icount)
        return;
    if (soft_profile_add(cpu->profile, b->lin, b->icount) < 0 && !cpu->profile_full) {
        cpu->profile_full = true;
        log_warn("soft: out of memory for the guest profile; it will miss some counts");
    }
    b->icount = 0;
}

/* Frees a block of the hash table or the crossing cache. */
static void block_free(struct soft_cpu *cpu, struct soft_block *b)
{
    profile_fold(cpu, b);
    free(b);
}

void soft_cpu_set_profile(struct soft_cpu *cpu, struct soft_profile *prof)
{
    cpu->profile = prof;
}

void soft_cpu_profile_collect(struct soft_cpu *cpu)
{
    for (unsigned i = 0; cpu->bhash && i < cpu->bhash_size; i++)
        for (struct soft_block *b = cpu->bhash[i]; b; b = b->hnext)
            profile_fold(cpu, b);
    for (unsigned i = 0; i < SOFT_CROSS_CACHE_SIZE; i++)
        if (cpu->cross[i].block)
            profile_fold(cpu, cpu->cross[i].block);
}

int soft_block_cache_init(struct soft_cpu *cpu)
{
    cpu->bhash_size = 1u << BHASH_BITS;
    cpu->bhash = calloc(cpu->bhash_size, sizeof(*cpu->bhash));
    cpu->scratch =
        malloc(sizeof(struct soft_block) + (SOFT_BLOCK_MAX_INSNS + 1) * sizeof(struct soft_insn));
    if (!cpu->bhash || !cpu->scratch)
        return -ENOMEM;
    memset(cpu->scratch->chain, 0, sizeof(cpu->scratch->chain)); /* never chained from */
    cpu->scratch->icount = 0; /* run only when out of memory; never profiled */
    return 0;
}

void soft_block_cache_flush(struct soft_cpu *cpu)
{
    for (unsigned i = 0; i < cpu->bhash_size; i++) {
        struct soft_block *b = cpu->bhash[i];
        while (b) {
            struct soft_block *n = b->hnext;
            block_free(cpu, b);
            b = n;
        }
        cpu->bhash[i] = NULL;
    }
    cpu->nblocks = 0;
    soft_chains_drop(cpu); /* chain pointers may name freed blocks */
}

void soft_block_cache_destroy(struct soft_cpu *cpu)
{
    if (!cpu->bhash)
        return;
    soft_block_cache_flush(cpu);
    for (unsigned i = 0; i < SOFT_CROSS_CACHE_SIZE; i++) {
        if (cpu->cross[i].block)
            block_free(cpu, cpu->cross[i].block);
        cpu->cross[i].block = NULL;
    }
    free(cpu->scratch);
    cpu->scratch = NULL;
    free(cpu->bhash);
    cpu->bhash = NULL;
}

static unsigned bhash_index(uint64_t gpa, uint32_t mode)
{
    return (unsigned)(((gpa ^ ((uint64_t)mode << 60)) * 0x9E3779B97F4A7C15ULL) >>
                      (64 - BHASH_BITS));
}

int soft_h_ud(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_raise_ud(cpu);
}

int soft_h_too_long(struct soft_cpu *cpu, const struct soft_insn *in)
{
    soft_raise_gp(cpu, 0);
}

/* Decodes at most SOFT_BLOCK_MAX_INSNS instructions from bytes[0..avail) into insns. */
static unsigned decode_run(struct soft_cpu *cpu, const uint8_t *bytes, size_t avail,
                           struct soft_insn *insns, bool *need_more)
{
    unsigned n = 0, off = 0;
    *need_more = false;
    while (n < SOFT_BLOCK_MAX_INSNS && off < avail) {
        bool ends = false;
        int r = soft_decode_one(cpu, bytes + off, avail - off, cpu->mode, &insns[n], &ends);
        if (r == -EAGAIN) {
            *need_more = true;
            break;
        }
        if (r < 0) {
            if (n > 0)
                break; /* end the block before it; it faults when reached */
            memset(&insns[0], 0, sizeof(insns[0]));
            insns[0].fn = r == -E2BIG ? soft_h_too_long : soft_h_ud;
            insns[0].run = soft_run_plain;
            insns[0].len = 1;
            n = 1;
            break;
        }
        off += insns[n].len;
        n++;
        if (ends)
            break;
    }
    return n;
}

/* Puts the sentinel after the block's last instruction (see struct soft_block); it knows its
 * block, to chain from it. */
static void seal_block(struct soft_block *b)
{
    struct soft_insn *end = &b->insns[b->ninsns];
    memset(end, 0, sizeof(*end));
    end->run = soft_run_end;
    end->op[0].disp = (int64_t)(uintptr_t)b;
}

/* The instruction TLB entry of linear page lin, filled by a translation if needed (raising
 * #PF as a fetch would); only RAM pages get entries, so executing anything else is #MC. */
static struct tlb_entry *itlb_fill(struct soft_cpu *cpu, uint64_t lin)
{
    struct tlb_entry *e = &cpu->itlb_cur[(lin >> 12) & (TLB_SIZE - 1)];
    if (unlikely(e->tag_x != (lin & PAGE_MASK))) {
        uint64_t g = soft_translate(cpu, lin, ACC_EXEC, false);
        if (e->tag_x != (lin & PAGE_MASK)) {
            log_error("soft: executing from non-RAM address %#llx", (unsigned long long)g);
            soft_raise(cpu, EXC_MC, 0, false);
        }
    }
    return e;
}

static struct soft_cross_entry *cross_slot(struct soft_cpu *cpu, uint64_t lin)
{
    return &cpu->cross[(lin ^ (lin >> 12)) & (SOFT_CROSS_CACHE_SIZE - 1)];
}

/* True if the instruction at lin (first byte at gpa1) is known to cross into the next page:
 * the crossing cache has it and its first page is unchanged, so its first page's bytes do not
 * hold a whole instruction and fetching the second page is what the CPU must do anyway. */
static bool cross_known(struct soft_cpu *cpu, uint64_t lin, uint64_t gpa1)
{
    const struct soft_cross_entry *ce = cross_slot(cpu, lin);
    return ce->block && ce->lin == lin && ce->mode == cpu->mode && ce->gpa1 == gpa1 &&
           ce->gen1 == atomic_load_explicit(&cpu->code_gen[gpa1 >> 12], memory_order_acquire);
}

static bool cross_valid(const struct soft_cpu *cpu, const struct soft_cross_entry *ce, uint64_t lin,
                        uint64_t gpa1, uint64_t gpa2)
{
    return ce->block && ce->lin == lin && ce->mode == cpu->mode && ce->gpa1 == gpa1 &&
           ce->gpa2 == gpa2 &&
           ce->gen1 == atomic_load_explicit(&cpu->code_gen[gpa1 >> 12], memory_order_acquire) &&
           ce->gen2 == atomic_load_explicit(&cpu->code_gen[gpa2 >> 12], memory_order_acquire);
}

/* An instruction that crosses a page boundary, from the per-CPU crossing cache or decoded alone
 * from both pages' bytes into it. Both pages are marked as code, so a write to either moves a
 * generation the entry checks; the translation of both is checked on every use. */
static struct soft_block *translate_crossing(struct soft_cpu *cpu, uint64_t lin,
                                             const struct tlb_entry *e1)
{
    uint64_t lin2 = (lin | 0xfff) + 1;
    if (cpu->mode != SOFT_MODE_64)
        lin2 = (uint32_t)lin2;
    const struct tlb_entry *e2 = itlb_fill(cpu, lin2);
    uint64_t gpa1 = e1->gpa | (lin & 0xfff), gpa2 = e2->gpa;
    struct soft_cross_entry *ce = cross_slot(cpu, lin);
    if (cross_valid(cpu, ce, lin, gpa1, gpa2))
        return ce->block;

    /* Marked as code before the bytes are read (see soft_block_get). */
    atomic_store(&cpu->code_map->has_code[gpa1 >> 12], 1);
    atomic_store(&cpu->code_map->has_code[gpa2 >> 12], 1);
    uint32_t gen1 = atomic_load(&cpu->code_map->gen[gpa1 >> 12]);
    uint32_t gen2 = atomic_load(&cpu->code_map->gen[gpa2 >> 12]);
    uint8_t buf[INSN_MAX_LEN];
    unsigned first = (unsigned)(PAGE_SIZE - (lin & 0xfff));
    if (first > sizeof(buf))
        first = sizeof(buf);
    memcpy(buf, (const uint8_t *)(uintptr_t)(lin + e1->addend), first);
    memcpy(buf + first, (const uint8_t *)(uintptr_t)(lin2 + e2->addend), sizeof(buf) - first);

    struct soft_block *scratch = cpu->scratch;
    bool need_more;
    scratch->ninsns = (uint16_t)decode_run(cpu, buf, sizeof(buf), scratch->insns, &need_more);
    if (scratch->ninsns > 1)
        scratch->ninsns = 1;
    if (!ce->block) {
        ce->block = calloc(1, sizeof(struct soft_block) + 2 * sizeof(struct soft_insn));
        if (!ce->block) { /* run it from the scratch block, uncached */
            scratch->gpa = SOFT_GPA_CROSSING;
            seal_block(scratch);
            return scratch;
        }
    }
    struct soft_block *b = ce->block;
    profile_fold(cpu, b); /* counted for the instruction it held until now */
    b->gpa = SOFT_GPA_CROSSING;
    b->lin = lin;
    b->icount = 0;
    b->mode = cpu->mode;
    b->ninsns = scratch->ninsns;
    b->insns[0] = scratch->insns[0];
    seal_block(b);
    ce->lin = lin;
    ce->mode = cpu->mode;
    ce->gpa1 = gpa1;
    ce->gpa2 = gpa2;
    ce->gen1 = gen1;
    ce->gen2 = gen2;
    return b;
}

struct soft_block *soft_block_get(struct soft_cpu *cpu, uint64_t lin)
{
    const struct tlb_entry *e = itlb_fill(cpu, lin);
    uint64_t gpa = e->gpa | (lin & 0xfff);
    uint64_t ppn = gpa >> 12;
    size_t page_left = (size_t)(PAGE_SIZE - (gpa & 0xfff));
    const uint8_t *host = (const uint8_t *)(uintptr_t)(lin + e->addend);

    unsigned h = bhash_index(gpa, cpu->mode);
    struct soft_block **pp = &cpu->bhash[h];
    for (struct soft_block *b = *pp; b; pp = &b->hnext, b = b->hnext) {
        if (b->gpa != gpa || b->mode != cpu->mode)
            continue;
        if (soft_block_valid(cpu, b))
            return b;
        *pp = b->hnext;
        block_free(cpu, b);
        cpu->nblocks--;
        soft_chains_drop(cpu); /* chain pointers may name it */
        break;
    }

    /* Page-crossing instructions are never hashed: one seen before skips the decode that
     * would only find out again that it crosses. */
    if (page_left < INSN_MAX_LEN && cross_known(cpu, lin, gpa))
        return translate_crossing(cpu, lin, e);

    if (cpu->nblocks >= BLOCKS_MAX)
        soft_block_cache_flush(cpu);

    /* Mark the page as code before reading its bytes, so a concurrent write either bumps the
     * generation we record or happens before our copy. */
    atomic_store(&cpu->code_map->has_code[ppn], 1);
    uint32_t gen = atomic_load(&cpu->code_map->gen[ppn]);

    struct soft_block *scratch = cpu->scratch;
    bool need_more;
    unsigned n = decode_run(cpu, host, page_left, scratch->insns, &need_more);
    if (n == 0 && need_more)
        return translate_crossing(cpu, lin, e);

    struct soft_block *b = malloc(sizeof(*b) + (n + 1) * sizeof(struct soft_insn));
    if (!b) {
        log_error("soft: out of memory translating code at %#llx", (unsigned long long)gpa);
        soft_raise(cpu, EXC_MC, 0, false);
    }
    b->gpa = gpa;
    b->mode = cpu->mode;
    b->gen = gen;
    b->ninsns = (uint16_t)n;
    b->icount = 0;
    b->lin = lin;
    memset(b->chain, 0, sizeof(b->chain));
    b->chain_next = 0;
    memcpy(b->insns, scratch->insns, n * sizeof(struct soft_insn));
    seal_block(b);
    b->hnext = cpu->bhash[h];
    cpu->bhash[h] = b;
    cpu->nblocks++;
    cpu->stats.blocks_translated++;
    return b;
}
