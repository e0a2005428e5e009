/* The architectural x86-64 register state of one vCPU, as plain data: the loaders fill it
 * for boot, accelerators load and store it, and snapshots will persist it. No pointers. */
#ifndef EMBER_CORE_CPU_STATE_H
#define EMBER_CORE_CPU_STATE_H

#include <stdint.h>

enum cpu_gpr {
    GPR_RAX,
    GPR_RCX,
    GPR_RDX,
    GPR_RBX,
    GPR_RSP,
    GPR_RBP,
    GPR_RSI,
    GPR_RDI,
    GPR_R8,
    GPR_R9,
    GPR_R10,
    GPR_R11,
    GPR_R12,
    GPR_R13,
    GPR_R14,
    GPR_R15,
    GPR_COUNT
};

enum cpu_seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_COUNT };

/* A segment register with its hidden (descriptor cache) part. */
struct cpu_segment {
    uint64_t base;
    uint32_t limit; /* byte-granular (already scaled if G=1) */
    uint16_t selector;
    uint8_t type; /* descriptor type field (4 bits) */
    uint8_t s;    /* 1 = code/data, 0 = system */
    uint8_t dpl;
    uint8_t present;
    uint8_t avl;
    uint8_t l;        /* 64-bit code segment */
    uint8_t db;       /* default operation size */
    uint8_t g;        /* granularity */
    uint8_t unusable; /* null/unusable segment */
};

struct cpu_dtable {
    uint64_t base;
    uint16_t limit;
};

struct cpu_state {
    uint64_t gpr[GPR_COUNT];
    uint64_t rip;
    uint64_t rflags;
    struct cpu_segment seg[SEG_COUNT];
    struct cpu_segment tr;
    struct cpu_segment ldt;
    struct cpu_dtable gdt;
    struct cpu_dtable idt;
    uint64_t cr0, cr2, cr3, cr4, cr8;
    uint64_t efer;
    uint64_t apic_base;
};

/* Architectural bits used when building states. */
#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_EM (1ULL << 2)
#define CR0_TS (1ULL << 3)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_AM (1ULL << 18)
#define CR0_NW (1ULL << 29)
#define CR0_CD (1ULL << 30)
#define CR0_PG (1ULL << 31)

#define CR4_PAE        (1ULL << 5)
#define CR4_PGE        (1ULL << 7)
#define CR4_OSFXSR     (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)

#define EFER_SCE (1ULL << 0)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)

#define RFLAGS_CF     (1ULL << 0)
#define RFLAGS_FIXED1 (1ULL << 1)
#define RFLAGS_PF     (1ULL << 2)
#define RFLAGS_AF     (1ULL << 4)
#define RFLAGS_ZF     (1ULL << 6)
#define RFLAGS_SF     (1ULL << 7)
#define RFLAGS_TF     (1ULL << 8)
#define RFLAGS_IF     (1ULL << 9)
#define RFLAGS_DF     (1ULL << 10)
#define RFLAGS_OF     (1ULL << 11)

#define APIC_BASE_BSP    (1ULL << 8)
#define APIC_BASE_ENABLE (1ULL << 11)

#endif
