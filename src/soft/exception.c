/* Exceptions and interrupts: raising (unwinding to the run loop), the double-fault and
 * triple-fault rules (SDM Vol. 3A 6.15, Table 6-5) and delivery through the 64-bit IDT with
 * privilege change, IST stacks and the IA-32e interrupt frame (SDM 6.14). */
#include "soft/internal.h"
#include "util/log.h"

_Noreturn void soft_raise(struct soft_cpu *cpu, unsigned vector, uint32_t error_code,
                          bool has_error_code)
{
    cpu->exc.vector = (uint8_t)vector;
    cpu->exc.error_code = error_code;
    cpu->exc.has_error_code = has_error_code;
    cpu->exc.cr2 = cpu->cr2;
    cpu->exc_is_trap = false;
    cpu->exc_soft_int = false;
    longjmp(cpu->jb, 1);
}

_Noreturn void soft_raise_gp(struct soft_cpu *cpu, uint32_t error_code)
{
    soft_raise(cpu, EXC_GP, error_code, true);
}

_Noreturn void soft_raise_ud(struct soft_cpu *cpu)
{
    soft_raise(cpu, EXC_UD, 0, false);
}

_Noreturn void soft_raise_ss(struct soft_cpu *cpu, uint32_t error_code)
{
    soft_raise(cpu, EXC_SS, error_code, true);
}

static bool contributory(unsigned v)
{
    return v == EXC_DE || v == EXC_TS || v == EXC_NP || v == EXC_SS || v == EXC_GP;
}

static uint64_t read_sys64(struct soft_cpu *cpu, uint64_t lin)
{
    return soft_read_slow(cpu, lin, 8, true);
}

/* Delivers vector through the IA-32e IDT. Faults during delivery unwind (and are combined by
 * soft_exception_dispatch). return_rip is the RIP pushed in the frame. */
void soft_deliver(struct soft_cpu *cpu, unsigned vector, bool has_ec, uint32_t ec, bool soft_int,
                  uint64_t return_rip)
{
    uint32_t idt_ec = vector * 8 + 2 + (soft_int ? 0 : 1);
    if (!(cpu->efer & EFER_LMA)) {
        /* XXX: interrupt delivery outside long mode (real/protected mode) is not implemented. */
        log_error("soft: interrupt delivery outside long mode is not implemented");
        soft_raise(cpu, EXC_DF, 0, true);
    }
    if ((uint64_t)vector * 16 + 15 > cpu->idt.limit)
        soft_raise_gp(cpu, idt_ec);
    uint64_t lo = read_sys64(cpu, cpu->idt.base + vector * 16);
    uint64_t hi = read_sys64(cpu, cpu->idt.base + vector * 16 + 8);
    unsigned type = (lo >> 40) & 0xf, dpl = (lo >> 45) & 3;
    if (type != 0xe && type != 0xf)
        soft_raise_gp(cpu, idt_ec);
    if (soft_int && dpl < cpu->cpl)
        soft_raise_gp(cpu, idt_ec);
    if (!((lo >> 47) & 1))
        soft_raise(cpu, EXC_NP, idt_ec, true);
    uint16_t sel = (uint16_t)(lo >> 16);
    uint64_t target = (lo & 0xffff) | (((lo >> 48) & 0xffff) << 16) | ((hi & 0xffffffff) << 32);
    unsigned ist = (lo >> 32) & 7;

    if ((sel & ~3) == 0)
        soft_raise_gp(cpu, soft_int ? 0 : 1);
    uint64_t desc[2];
    soft_read_descriptor(cpu, sel, desc, false);
    struct cpu_segment cs;
    soft_desc_to_seg(desc, sel, &cs);
    if (!cs.s || !(cs.type & 8) || !cs.l || cs.db || cs.dpl > cpu->cpl)
        soft_raise_gp(cpu, (sel & ~3u) | (soft_int ? 0 : 1));
    if (!cs.present)
        soft_raise(cpu, EXC_NP, (sel & ~3u) | (soft_int ? 0 : 1), true);
    unsigned new_cpl = (cs.type & 4) ? cpu->cpl : cs.dpl; /* conforming keeps CPL */

    uint64_t rsp = cpu->gpr[GPR_RSP];
    if (ist)
        rsp = read_sys64(cpu, cpu->tr.base + 0x24 + (ist - 1) * 8);
    else if (new_cpl < cpu->cpl)
        rsp = read_sys64(cpu, cpu->tr.base + 4 + new_cpl * 8);
    rsp &= ~0xfULL;

    uint64_t frame[6];
    unsigned n = 0;
    if (has_ec)
        frame[n++] = ec;
    frame[n++] = return_rip;
    frame[n++] = cpu->seg[SEG_CS].selector;
    frame[n++] = soft_flags_get(cpu);
    frame[n++] = cpu->gpr[GPR_RSP];
    frame[n++] = cpu->seg[SEG_SS].selector;
    /* frame[0] ends up at the lowest address. */
    uint64_t new_rsp = rsp - n * 8;
    for (unsigned i = 0; i < n; i++)
        soft_write_slow(cpu, new_rsp + i * 8, 8, frame[i], true);

    /* Commit. */
    cs.selector = (uint16_t)((sel & ~3u) | new_cpl);
    if (new_cpl != cpu->cpl) {
        struct cpu_segment *ss = &cpu->seg[SEG_SS];
        memset(ss, 0, sizeof(*ss));
        ss->selector = (uint16_t)new_cpl;
        ss->unusable = 1;
        ss->dpl = (uint8_t)new_cpl;
    }
    cs.dpl = (uint8_t)new_cpl;
    soft_set_cs(cpu, &cs);
    cpu->gpr[GPR_RSP] = new_rsp;
    uint64_t clear = RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM | (type == 0xe ? RFLAGS_IF : 0);
    cpu->rflags &= ~clear;
    cpu->rip = target;
    cpu->halted = false;
}

bool soft_exception_dispatch(struct soft_cpu *cpu, enum soft_exit *why)
{
    unsigned vec = cpu->exc.vector;
    bool has_ec = cpu->exc.has_error_code;
    uint32_t ec = cpu->exc.error_code;
    cpu->stats.exceptions++;

    if (cpu->cfg.exceptions_exit) {
        if (!cpu->exc_is_trap)
            cpu->rip = cpu->insn_rip;
        cpu->exc.rip = cpu->rip;
        cpu->delivering = -1;
        *why = SOFT_EXIT_EXCEPTION;
        return false;
    }
    if (cpu->delivering >= 0) {
        unsigned first = (unsigned)cpu->delivering;
        if (first == EXC_DF) {
            log_warn("soft: triple fault (vector %u while delivering #DF) at rip %#llx", vec,
                     (unsigned long long)cpu->insn_rip);
            cpu->delivering = -1;
            *why = SOFT_EXIT_SHUTDOWN;
            return false;
        }
        if ((contributory(first) && contributory(vec)) ||
            (first == EXC_PF && (vec == EXC_PF || contributory(vec)))) {
            vec = EXC_DF;
            has_ec = true;
            ec = 0;
        }
        cpu->rip = cpu->insn_rip; /* a fault while delivering: the frame names the instruction */
    } else if (!cpu->exc_is_trap) {
        cpu->rip = cpu->insn_rip;
    }
    cpu->delivering = (int)vec;
    soft_deliver(cpu, vec, has_ec, ec, cpu->exc_soft_int, cpu->rip);
    cpu->delivering = -1;
    return true;
}
