/* Test harness for the soft CPU unit tests: 16 MiB of guest RAM with identity-mapped 4-level
 * page tables (2 MiB pages over the first 1 GiB), a GDT (kernel/user code and data, a TSS), an
 * IDT, and helpers to load an assembled snippet at HARNESS_CODE and run it in 64-bit mode. */
#ifndef EMBER_TESTS_SOFT_HARNESS_H
#define EMBER_TESTS_SOFT_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/guest_mem.h"
#include "soft/cpu.h"

#define HARNESS_RAM   (16ULL << 20)
#define HARNESS_PML4  0x1000ULL
#define HARNESS_PDPT  0x2000ULL
#define HARNESS_PD    0x3000ULL
#define HARNESS_GDT   0x4000ULL
#define HARNESS_IDT   0x5000ULL
#define HARNESS_TSS   0x6000ULL
#define HARNESS_PT    0x7000ULL /* a 4 KiB page table for the 2..4 MiB region (tests edit it) */
#define HARNESS_CODE  0x100000ULL
#define HARNESS_STACK 0x180000ULL /* initial RSP */
#define HARNESS_DATA  0x200000ULL /* 4 KiB-mapped region [2 MiB, 4 MiB) through HARNESS_PT */

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b
#define SEL_UCODE 0x23
#define SEL_TSS   0x28

/* Declares an assembled snippet `name` (AT&T syntax), position-independent. */
#define SNIPPET(name, text)                                                                        \
    __asm__(".pushsection .rodata\n.globl " #name "\n" #name ":\n" text "\n.globl " #name          \
            "_end\n" #name "_end:\n.popsection\n");                                                \
    extern const uint8_t name[], name##_end[]

struct harness {
    struct guest_mem gm;
    struct soft_code_map *code_map; /* told of guest_mem writes, as the soft accelerator does */
    struct soft_cpu *cpu;
    struct cpu_state st;
    struct soft_cpu_hooks hooks;
    /* I/O log from the default hooks. */
    uint16_t last_port;
    uint64_t last_out;
    unsigned nout;
    int pending_irq; /* vector for irq_pending/irq_ack, or -1 */
};

/* exceptions_exit: stop on exceptions instead of delivering through the IDT. */
void harness_init(struct harness *h, bool exceptions_exit);
void harness_destroy(struct harness *h);
/* Copies code to HARNESS_CODE and loads a 64-bit CPL-0 state starting there. */
void harness_load(struct harness *h, const uint8_t *code, const uint8_t *end);
enum soft_exit harness_run(struct harness *h, uint64_t budget);
/* Reads the state back into h->st. */
void harness_sync(struct harness *h);
/* Sets an IDT gate (interrupt gate, kernel CS) for vector to handler (a guest address). */
void harness_set_gate(struct harness *h, unsigned vector, uint64_t handler, unsigned ist,
                      unsigned dpl);
uint64_t harness_read64(struct harness *h, uint64_t gpa);
void harness_write64(struct harness *h, uint64_t gpa, uint64_t v);

#endif
