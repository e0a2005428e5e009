/* Compares the soft CPU's outcome of a case with the host's: how it ended (vector, error code,
 * CR2, RIP), every GPR, the defined arithmetic flags and DF, every byte of the data window and,
 * for x87/SSE cases, FCW/FSW/FTW/MXCSR/ST0-7/XMM0-15. Undefined flags and results (undef.c,
 * diff_case.flags_undef/gpr_undef) are masked, and outcomes the manuals leave to the
 * implementation (where Intel and AMD processors differ) accept each allowed value only
 * (diff_case.gpr_hi_kept_or_zeroed, mxcsr_undef); the #PF error code's U/S bit differs by design
 * (the soft CPU runs the snippet at CPL0, the host in user mode), and so does its P bit for
 * addresses in the host kernel's half of the address space. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "diff.h"

#define FLAGS_COMPARED 0xcd5ULL /* CF PF AF ZF SF DF OF */
#define PFEC_P         0x1u
#define PFEC_U         0x4u
/* The upper canonical half is the host kernel's: mapped (P=1) natively, unmapped in the guest. */
#define KERNEL_HALF 0xffff800000000000ULL

static const char *const gpr_names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                          "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

struct why_buf {
    char *p;
    size_t len, pos;
    unsigned count;
};

static void why_add(struct why_buf *w, const char *fmt, ...)
{
    va_list ap;
    if (++w->count > 6 || w->pos + 1 >= w->len)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(w->p + w->pos, w->len - w->pos, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->pos = w->pos + (size_t)n < w->len ? w->pos + (size_t)n : w->len - 1;
}

static const char *end_name(int v, char buf[16])
{
    switch (v) {
    case DIFF_END:
        return "end";
    case DIFF_TIMEOUT:
        return "timeout";
    case DIFF_ERROR:
        return "error";
    default:
        snprintf(buf, 16, "#%d", v);
        return buf;
    }
}

/* MXCSR bits left unspecified by the way the case ended. An SSE instruction that detects an
 * unmasked overflow or underflow sets OE or UE, leaves its destination unchanged and raises #XM
 * (SDM Vol. 1 11.5.2.4, 11.5.2.5, 11.5.3.2; APM Vol. 1, SSE "Unmasked Responses"): no rounded
 * result is delivered, and neither manual says whether PE is set along with OE/UE then.
 * Vendors differ: Intel processors report an unmasked overflow without PE (as the soft CPU does,
 * sse_state.c), AMD processors with PE; AMD reports an unmasked underflow without PE, the soft
 * CPU with PE when the tiny result is inexact. So PE is not compared when the case ended by #XM
 * with only OE and/or UE unmasked and set on both CPUs (a PE set earlier in such a snippet goes
 * unchecked too). */
static uint32_t mxcsr_undef(const struct diff_case *c, const struct diff_outcome *nat,
                            const struct diff_outcome *soft)
{
    uint32_t in, n, s;
    memcpy(&in, c->in.fx + 24, 4);
    memcpy(&n, nat->out.fx + 24, 4);
    memcpy(&s, soft->out.fx + 24, 4);
    uint32_t unmasked = ~(in >> 7) & 0x3fu;
    /* Only OE and/or UE unmasked: the #XM can only have come from one of them. */
    if (nat->vector == 19 && unmasked && !(unmasked & ~0x18u) && (n & s & unmasked))
        return 0x20u;
    return 0;
}

/* XXX: FOP, FIP and FDP (FXSAVE bytes 6-23) are not compared: the soft CPU is not required to
 * track the last x87 instruction and operand pointers yet. */
static void compare_fpu(const struct diff_regs *n, const struct diff_regs *s, uint16_t fsw_undef,
                        uint32_t mx_undef, struct why_buf *w)
{
    static const struct {
        unsigned off, len;
        const char *name;
    } fields[] = {{0, 2, "fcw"}, {4, 1, "ftw"}};
    uint16_t nfsw, sfsw;
    uint32_t nmx, smx;
    memcpy(&nfsw, n->fx + 2, 2);
    memcpy(&sfsw, s->fx + 2, 2);
    if ((nfsw & ~fsw_undef) != (sfsw & ~fsw_undef))
        why_add(w, " fsw %#x vs %#x (undefined bits %#x);", nfsw, sfsw, fsw_undef);
    memcpy(&nmx, n->fx + 24, 4);
    memcpy(&smx, s->fx + 24, 4);
    if ((nmx & ~mx_undef) != (smx & ~mx_undef))
        why_add(w, " mxcsr %#x vs %#x (unspecified bits %#x);", nmx, smx, mx_undef);
    for (unsigned i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (memcmp(n->fx + fields[i].off, s->fx + fields[i].off, fields[i].len) != 0) {
            uint32_t a = 0, b = 0;
            memcpy(&a, n->fx + fields[i].off, fields[i].len);
            memcpy(&b, s->fx + fields[i].off, fields[i].len);
            why_add(w, " %s %#x vs %#x;", fields[i].name, a, b);
        }
    for (unsigned i = 0; i < 8; i++)
        if (memcmp(n->fx + 32 + 16 * i, s->fx + 32 + 16 * i, 10) != 0)
            why_add(w, " st%u/mm%u differs;", i, i);
    for (unsigned i = 0; i < 16; i++)
        if (memcmp(n->fx + 160 + 16 * i, s->fx + 160 + 16 * i, 16) != 0)
            why_add(w, " xmm%u differs;", i);
}

/* A register whose upper half may be kept or zeroed (diff_case.gpr_hi_kept_or_zeroed): the low
 * halves agree and each CPU's upper half is one of the two allowed outcomes. Anything else is
 * compared (and reported) as an ordinary register. */
static bool hi_kept_or_zeroed(uint64_t in, uint64_t nat, uint64_t soft)
{
    uint64_t hi_in = in >> 32;
    return (uint32_t)nat == (uint32_t)soft && (nat >> 32 == hi_in || nat >> 32 == 0) &&
           (soft >> 32 == hi_in || soft >> 32 == 0);
}

bool diff_compare(const struct diff_case *c, const struct diff_outcome *nat,
                  const struct diff_outcome *soft, char *why, size_t why_len)
{
    struct why_buf w = {.p = why, .len = why_len};
    char b1[16], b2[16];
    why[0] = 0;
    if (nat->vector == DIFF_TIMEOUT || nat->vector == DIFF_ERROR) {
        why_add(&w, " native run failed: %s;", nat->detail);
        return false;
    }
    if (nat->vector != soft->vector) {
        why_add(&w, " ended by %s natively, by %s in the soft CPU%s%s;", end_name(nat->vector, b1),
                end_name(soft->vector, b2), soft->detail[0] ? ": " : "", soft->detail);
        return false;
    }
    if (nat->rip != soft->rip)
        why_add(&w, " rip %#" PRIx64 " vs %#" PRIx64 ";", nat->rip, soft->rip);
    if (nat->vector == 14) {
        uint32_t ign = PFEC_U | (nat->fault_addr >= KERNEL_HALF ? PFEC_P : 0);
        if ((nat->error_code & ~ign) != (soft->error_code & ~ign))
            why_add(&w, " #PF error code %#x vs %#x;", nat->error_code, soft->error_code);
        if (nat->fault_addr != soft->fault_addr)
            why_add(&w, " cr2 %#" PRIx64 " vs %#" PRIx64 ";", nat->fault_addr, soft->fault_addr);
    } else if (nat->vector == 13 || nat->vector == 12 || nat->vector == 17) {
        if (nat->error_code != soft->error_code)
            why_add(&w, " error code %#x vs %#x;", nat->error_code, soft->error_code);
    }
    for (unsigned i = 0; i < 16; i++) {
        if (c->gpr_undef & (1u << i))
            continue;
        if ((c->gpr_hi_kept_or_zeroed & (1u << i)) &&
            hi_kept_or_zeroed(c->in.gpr[i], nat->out.gpr[i], soft->out.gpr[i]))
            continue;
        if (nat->out.gpr[i] != soft->out.gpr[i])
            why_add(&w, " %s %#" PRIx64 " vs %#" PRIx64 ";", gpr_names[i], nat->out.gpr[i],
                    soft->out.gpr[i]);
    }
    uint64_t fm = FLAGS_COMPARED & ~c->flags_undef;
    if ((nat->out.rflags & fm) != (soft->out.rflags & fm))
        why_add(&w, " rflags %#" PRIx64 " vs %#" PRIx64 " (compared bits %#" PRIx64 ");",
                nat->out.rflags & FLAGS_COMPARED, soft->out.rflags & FLAGS_COMPARED, fm);
    for (size_t i = 0; i < DIFF_WIN_SIZE; i++) {
        if (nat->win[i] != soft->win[i]) {
            why_add(&w, " memory at %#" PRIx64 ": %02x vs %02x;", DIFF_WIN_ADDR + i, nat->win[i],
                    soft->win[i]);
            break;
        }
    }
    if (c->cmp_fpu)
        compare_fpu(&nat->out, &soft->out, c->fsw_undef, mxcsr_undef(c, nat, soft), &w);
    return w.count == 0;
}
