/* Entry/exit stub of the native runner: loads the case's x87/SSE state, RFLAGS and all 16 GPRs
 * from the control block, jumps into the snippet, and when the snippet jumps to
 * diff_native_exit stores them back and returns to the C caller. Absolute addressing (the
 * control block is at a fixed low address) needs no register, so every GPR is the snippet's.
 * diff_native_resume is also where the fault handler sends a faulting snippet. */
#include "native_ctl.h"

#define C(off) (CTL_ADDR + (off))

    .text
    .globl diff_native_enter
    .type diff_native_enter, @function
diff_native_enter:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    sub $8, %rsp
    mov %rsp, C(CTL_HOST_RSP)
    fxsave64 C(CTL_FX_HOST)
    fxrstor64 C(CTL_FX_IN)
    mov $C(CTL_STACK_TOP), %rsp
    pushq C(CTL_IN_FLAGS)
    popfq
    mov C(CTL_IN_GPR + 0x00), %rax
    mov C(CTL_IN_GPR + 0x08), %rcx
    mov C(CTL_IN_GPR + 0x10), %rdx
    mov C(CTL_IN_GPR + 0x18), %rbx
    mov C(CTL_IN_GPR + 0x28), %rbp
    mov C(CTL_IN_GPR + 0x30), %rsi
    mov C(CTL_IN_GPR + 0x38), %rdi
    mov C(CTL_IN_GPR + 0x40), %r8
    mov C(CTL_IN_GPR + 0x48), %r9
    mov C(CTL_IN_GPR + 0x50), %r10
    mov C(CTL_IN_GPR + 0x58), %r11
    mov C(CTL_IN_GPR + 0x60), %r12
    mov C(CTL_IN_GPR + 0x68), %r13
    mov C(CTL_IN_GPR + 0x70), %r14
    mov C(CTL_IN_GPR + 0x78), %r15
    mov C(CTL_IN_GPR + 0x20), %rsp
    jmp *C(CTL_ENTRY)

    .globl diff_native_exit
diff_native_exit:
    mov %rax, C(CTL_OUT_GPR + 0x00)
    mov %rcx, C(CTL_OUT_GPR + 0x08)
    mov %rdx, C(CTL_OUT_GPR + 0x10)
    mov %rbx, C(CTL_OUT_GPR + 0x18)
    mov %rsp, C(CTL_OUT_GPR + 0x20)
    mov %rbp, C(CTL_OUT_GPR + 0x28)
    mov %rsi, C(CTL_OUT_GPR + 0x30)
    mov %rdi, C(CTL_OUT_GPR + 0x38)
    mov %r8, C(CTL_OUT_GPR + 0x40)
    mov %r9, C(CTL_OUT_GPR + 0x48)
    mov %r10, C(CTL_OUT_GPR + 0x50)
    mov %r11, C(CTL_OUT_GPR + 0x58)
    mov %r12, C(CTL_OUT_GPR + 0x60)
    mov %r13, C(CTL_OUT_GPR + 0x68)
    mov %r14, C(CTL_OUT_GPR + 0x70)
    mov %r15, C(CTL_OUT_GPR + 0x78)
    mov $C(CTL_STACK_TOP), %rsp
    pushfq
    popq C(CTL_OUT_FLAGS)
    fxsave64 C(CTL_FX_OUT)

    .globl diff_native_resume
diff_native_resume:
    mov C(CTL_HOST_RSP), %rsp
    fxrstor64 C(CTL_FX_HOST)
    cld
    add $8, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret
    .size diff_native_enter, . - diff_native_enter

    .section .note.GNU-stack, "", @progbits
