/* AP start-up trampoline for the "smp" test guest. The BSP copies [smp_tramp_start,
 * smp_tramp_end) to SMP_TRAMP_ADDR (0x6000) and sends INIT-SIPI-SIPI with vector 0x06; each AP
 * starts here in real mode at CS:IP = 0x0600:0000, goes through 32-bit protected mode into
 * 64-bit mode on ember's boot page tables (CR3 = 0x9000), and runs smp_ap_main (SDM vol. 3A
 * 9.9 "Mode switching", 8.4.4 MP initialization). All offsets below are relative to 0x6000. */
#define TRAMP_ADDR 0x6000
#define OFF(x) ((x) - smp_tramp_start)
#define ABS(x) (TRAMP_ADDR + OFF(x))

    .section .rodata, "a"
    .globl smp_tramp_start, smp_tramp_end
    .code16
smp_tramp_start:
    cli
    mov %cs, %ax
    mov %ax, %ds
    lgdtl OFF(tramp_gdt_ptr)
    mov %cr0, %eax
    or $1, %eax                  /* PE */
    mov %eax, %cr0
    ljmpl $0x08, $ABS(pm32)

    .code32
pm32:
    mov $0x18, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x20, %eax              /* CR4.PAE */
    mov %eax, %cr4
    mov $0x9000, %eax            /* MEMMAP_BOOT_PML4 */
    mov %eax, %cr3
    mov $0xC0000080, %ecx        /* IA32_EFER */
    rdmsr
    or $0x100, %eax              /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80000000, %eax         /* PG */
    mov %eax, %cr0
    ljmp $0x10, $ABS(lm64)

    .code64
lm64:
    movabs $smp_ap_entry, %rax   /* back in the guest image (identity-mapped) */
    jmp *%rax

    .balign 8
tramp_gdt:
    .quad 0                      /* null */
    .quad 0x00CF9B000000FFFF     /* 0x08: 32-bit code, flat */
    .quad 0x00AF9B000000FFFF     /* 0x10: 64-bit code */
    .quad 0x00CF93000000FFFF     /* 0x18: data, flat */
tramp_gdt_ptr:
    .word 4 * 8 - 1
    .long ABS(tramp_gdt)
smp_tramp_end:

    .text
    .code64
/* Per-AP stack: 1 KiB slots indexed by an atomic ticket. */
smp_ap_entry:
    mov $1, %eax
    lock xadd %eax, smp_ticket(%rip)
    inc %eax
    shl $10, %rax
    lea smp_ap_stacks(%rip), %rsp
    add %rax, %rsp
    call smp_ap_main
1:  cli
    hlt
    jmp 1b

    .bss
    .balign 16
    .globl smp_ap_stacks
smp_ap_stacks:
    .skip 1024 * 64
    .balign 4
smp_ticket:
    .long 0

    .section .note.GNU-stack, "", @progbits
