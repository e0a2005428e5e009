/* Entry of every test guest: ember enters here in 64-bit mode (flat segments, identity paging,
 * interrupts off). Sets up a stack inside the image, calls guest_main, and reports its return
 * value through the debug-exit port (0xF4); then halts for good. */
    .section .text.start, "ax"
    .globl _start
_start:
    lea stack_top(%rip), %rsp
    xor %ebp, %ebp
    call guest_main
    outb %al, $0xf4
1:  cli
    hlt
    jmp 1b

    .section .bss
    .balign 16
stack:
    .skip 8192
stack_top:

    .section .note.GNU-stack, "", @progbits
