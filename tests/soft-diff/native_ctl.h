/* Layout of the native runner's control block (shared by native.c and native_stub.S, so plain
 * preprocessor constants only). The block sits at a fixed low address in the child process and
 * nowhere in the guest. */
#ifndef EMBER_TESTS_SOFT_DIFF_NATIVE_CTL_H
#define EMBER_TESTS_SOFT_DIFF_NATIVE_CTL_H

#define CTL_ADDR          0x00700000
#define CTL_IN_GPR        0x000  /* 16 GPRs loaded before the snippet (RAX..R15) */
#define CTL_IN_FLAGS      0x080  /* RFLAGS loaded before the snippet */
#define CTL_ENTRY         0x088  /* address of the snippet */
#define CTL_EXIT          0x090  /* the snippet's terminator jumps through this pointer */
#define CTL_HOST_RSP      0x098  /* the C caller's stack pointer */
#define CTL_OUT_GPR       0x0a0  /* 16 GPRs stored after the snippet */
#define CTL_OUT_FLAGS     0x120  /* RFLAGS stored after the snippet */
#define CTL_FX_IN         0x200  /* FXSAVE image loaded before */
#define CTL_FX_OUT        0x400  /* FXSAVE image stored after */
#define CTL_FX_HOST       0x600  /* the C caller's x87/SSE state */
#define CTL_STACK_TOP     0x1000 /* private stack of the stub (for pushfq/popfq) */
#define CTL_ALTSTACK      0x1000 /* signal stack */
#define CTL_ALTSTACK_SIZE 0x10000
#define CTL_SIZE          0x11000

#endif
