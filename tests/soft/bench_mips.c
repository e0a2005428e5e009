/* Soft CPU speed benchmark: runs a simple integer loop (register ALU, a load and a store, a
 * conditional branch: 7 instructions per iteration) in 64-bit mode and prints millions of
 * guest instructions per CPU-second (and per wall-clock second). Usage: softcpu-mips [iterations].
 * Used by bench/softcpu-mips.sh. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/guest_mem.h"
#include "soft/cpu.h"

static const uint8_t loop[] = {
    0x48, 0x01, 0xc3, /* 1: add %rax, %rbx */
    0x48, 0x31, 0xd0, /* xor %rdx, %rax */
    0x48, 0x89, 0x1e, /* mov %rbx, (%rsi) */
    0x48, 0x8b, 0x16, /* mov (%rsi), %rdx */
    0x48, 0xff, 0xc0, /* inc %rax */
    0x48, 0xff, 0xc9, /* dec %rcx */
    0x75, 0xec,       /* jnz 1b */
    0xf4,             /* hlt */
};

static int put64(struct guest_mem *gm, uint64_t gpa, uint64_t v)
{
    return guest_mem_write(gm, gpa, &v, 8);
}

static void flat(struct cpu_segment *s, uint16_t sel, unsigned type, bool l)
{
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->limit = 0xffffffff;
    s->type = (uint8_t)type;
    s->s = 1;
    s->present = 1;
    s->l = l;
    s->db = !l;
    s->g = 1;
}

int main(int argc, char **argv)
{
    uint64_t iters = argc > 1 ? strtoull(argv[1], NULL, 0) : 20000000ULL;
    struct guest_mem gm;
    if (guest_mem_init(&gm, 16ULL << 20) < 0) {
        fprintf(stderr, "softcpu-mips: cannot create guest RAM\n");
        return 1;
    }
    /* Identity map of the first GiB with 2 MiB pages. */
    int r = put64(&gm, 0x1000, 0x2000 | 7) | put64(&gm, 0x2000, 0x3000 | 7);
    for (uint64_t i = 0; i < 512 && r == 0; i++)
        r = put64(&gm, 0x3000 + i * 8, (i << 21) | 0x87);
    r |= guest_mem_write(&gm, 0x100000, loop, sizeof(loop));
    if (r) {
        fprintf(stderr, "softcpu-mips: cannot write guest RAM\n");
        return 1;
    }
    struct soft_cpu *cpu;
    struct soft_cpu_config cfg = {.exceptions_exit = true, .ncpus = 1};
    if (soft_cpu_create(&gm, &cfg, NULL, &cpu) < 0)
        return 1;
    struct cpu_state st;
    memset(&st, 0, sizeof(st));
    st.rip = 0x100000;
    st.rflags = 2;
    st.gpr[GPR_RCX] = iters;
    st.gpr[GPR_RSI] = 0x200000;
    st.gpr[GPR_RSP] = 0x180000;
    flat(&st.seg[SEG_CS], 8, 0xb, true);
    for (unsigned s = 0; s < SEG_COUNT; s++)
        if (s != SEG_CS)
            flat(&st.seg[s], 0x10, 3, false);
    st.cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_NE | CR0_WP;
    st.cr3 = 0x1000;
    st.cr4 = CR4_PAE;
    st.efer = EFER_LME | EFER_LMA | EFER_NXE;
    if (soft_cpu_set_state(cpu, &st) < 0)
        return 1;
    struct timespec t0, t1, c0, c1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    enum soft_exit e = soft_cpu_run(cpu, UINT64_MAX);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct soft_cpu_stats stats;
    soft_cpu_get_stats(cpu, &stats);
    soft_cpu_get_state(cpu, &st);
    soft_cpu_destroy(cpu);
    guest_mem_destroy(&gm);
    if (e != SOFT_EXIT_HLT || st.gpr[GPR_RCX] != 0) {
        fprintf(stderr, "softcpu-mips: the loop did not finish (exit %d)\n", (int)e);
        return 1;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double cpu_secs = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
    /* Per CPU-second first: the wall-clock figure depends on how busy the host is. */
    printf("%.1f MIPS per CPU-second (%.1f MIPS wall clock; %llu instructions, %.3f s CPU, "
           "%.3f s wall)\n",
           (double)stats.instructions / cpu_secs / 1e6, (double)stats.instructions / secs / 1e6,
           (unsigned long long)stats.instructions, cpu_secs, secs);
    return 0;
}
