/* Instruction decoding: one x86 instruction's bytes -> Zydis -> ember's compact form
 * (struct soft_insn) with its handler pointer from the mnemonic table. Runs only when a block
 * is translated, never on the execution hot path. */
#include <errno.h>
#include <stdlib.h>

#include <Zydis/Zydis.h>

#include "soft/decode.h"
#include "soft/handlers.h"
#include "soft/internal.h"
#include "util/log.h"

struct soft_decoders {
    ZydisDecoder d64, d32, d16;
};

int soft_decoder_init(struct soft_cpu *cpu)
{
    struct soft_decoders *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    if (ZYAN_FAILED(ZydisDecoderInit(&d->d64, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)) ||
        ZYAN_FAILED(
            ZydisDecoderInit(&d->d32, ZYDIS_MACHINE_MODE_LONG_COMPAT_32, ZYDIS_STACK_WIDTH_32)) ||
        ZYAN_FAILED(
            ZydisDecoderInit(&d->d16, ZYDIS_MACHINE_MODE_LONG_COMPAT_16, ZYDIS_STACK_WIDTH_16))) {
        free(d);
        return -EINVAL;
    }
    cpu->decoder = d;
    return 0;
}

void soft_decoder_destroy(struct soft_cpu *cpu)
{
    free(cpu->decoder);
    cpu->decoder = NULL;
}

static int seg_of(ZydisRegister r)
{
    switch (r) {
    case ZYDIS_REGISTER_ES:
        return SEG_ES;
    case ZYDIS_REGISTER_CS:
        return SEG_CS;
    case ZYDIS_REGISTER_SS:
        return SEG_SS;
    case ZYDIS_REGISTER_FS:
        return SEG_FS;
    case ZYDIS_REGISTER_GS:
        return SEG_GS;
    default:
        return SEG_DS;
    }
}

/* GPR number of a 16/32/64-bit register, or SOFT_REG_NONE. */
static uint8_t gpr_of(ZydisRegister r)
{
    ZydisRegisterClass c = ZydisRegisterGetClass(r);
    if (c == ZYDIS_REGCLASS_GPR16 || c == ZYDIS_REGCLASS_GPR32 || c == ZYDIS_REGCLASS_GPR64)
        return (uint8_t)ZydisRegisterGetId(r);
    if (r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_EIP || r == ZYDIS_REGISTER_IP)
        return SOFT_REG_RIP;
    return SOFT_REG_NONE;
}

static int convert_reg(ZydisRegister r, struct soft_operand *o)
{
    ZydisRegisterClass c = ZydisRegisterGetClass(r);
    switch (c) {
    case ZYDIS_REGCLASS_GPR8:
        if (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH) {
            o->kind = OPK_REGH;
            o->reg = (uint8_t)(r - ZYDIS_REGISTER_AH);
        } else if (r <= ZYDIS_REGISTER_BL) {
            o->kind = OPK_REG;
            o->reg = (uint8_t)(r - ZYDIS_REGISTER_AL);
        } else {
            o->kind = OPK_REG;
            o->reg = (uint8_t)(r - ZYDIS_REGISTER_SPL + 4);
        }
        o->size = 1;
        return 0;
    case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32:
    case ZYDIS_REGCLASS_GPR64:
        o->kind = OPK_REG;
        o->reg = (uint8_t)ZydisRegisterGetId(r);
        o->size = c == ZYDIS_REGCLASS_GPR16 ? 2 : c == ZYDIS_REGCLASS_GPR32 ? 4 : 8;
        return 0;
    case ZYDIS_REGCLASS_SEGMENT:
        o->kind = OPK_SREG;
        o->reg = (uint8_t)seg_of(r);
        o->size = 2;
        return 0;
    case ZYDIS_REGCLASS_CONTROL:
        o->kind = OPK_CR;
        o->reg = (uint8_t)ZydisRegisterGetId(r);
        o->size = 8;
        return 0;
    case ZYDIS_REGCLASS_DEBUG:
        o->kind = OPK_DR;
        o->reg = (uint8_t)ZydisRegisterGetId(r);
        o->size = 8;
        return 0;
    case ZYDIS_REGCLASS_XMM:
        o->kind = OPK_XMM;
        o->reg = (uint8_t)ZydisRegisterGetId(r);
        o->size = 16;
        return o->reg < 16 ? 0 : -EINVAL;
    case ZYDIS_REGCLASS_MMX:
        o->kind = OPK_MMX;
        o->reg = (uint8_t)ZydisRegisterGetId(r);
        o->size = 8;
        return 0;
    case ZYDIS_REGCLASS_X87:
        o->kind = OPK_ST;
        o->reg = (uint8_t)ZydisRegisterGetId(r);
        o->size = 10;
        return 0;
    default:
        return -EINVAL;
    }
}

static int convert_operand(const ZydisDecodedOperand *z, struct soft_operand *o)
{
    memset(o, 0, sizeof(*o));
    o->base = o->index = SOFT_REG_NONE;
    switch (z->type) {
    case ZYDIS_OPERAND_TYPE_REGISTER:
        return convert_reg(z->reg.value, o);
    case ZYDIS_OPERAND_TYPE_MEMORY:
        if (z->mem.type != ZYDIS_MEMOP_TYPE_MEM && z->mem.type != ZYDIS_MEMOP_TYPE_AGEN)
            return -EINVAL;
        o->kind = OPK_MEM;
        o->size = (uint8_t)(z->size / 8);
        o->seg = (uint8_t)seg_of(z->mem.segment);
        if (z->mem.base != ZYDIS_REGISTER_NONE) {
            o->base = gpr_of(z->mem.base);
            if (o->base == SOFT_REG_NONE)
                return -EINVAL;
        }
        if (z->mem.index != ZYDIS_REGISTER_NONE) {
            o->index = gpr_of(z->mem.index);
            if (o->index == SOFT_REG_NONE || o->index == SOFT_REG_RIP)
                return -EINVAL;
        }
        o->scale = z->mem.scale == 8 ? 3 : z->mem.scale == 4 ? 2 : z->mem.scale == 2 ? 1 : 0;
        o->disp = z->mem.disp.has_displacement ? z->mem.disp.value : 0;
        return 0;
    case ZYDIS_OPERAND_TYPE_IMMEDIATE:
        o->kind = OPK_IMM;
        o->size = (uint8_t)(z->size / 8);
        o->disp = z->imm.is_signed ? z->imm.value.s : (int64_t)z->imm.value.u;
        return 0;
    case ZYDIS_OPERAND_TYPE_POINTER:
        /* far pointer: selector in reg-sized field is not enough; keep offset in disp and the
         * selector in scale/seg (16 bits) */
        o->kind = OPK_IMM;
        o->size = 6;
        o->disp = (int64_t)z->ptr.offset | ((int64_t)z->ptr.segment << 32);
        return 0;
    default:
        return -EINVAL;
    }
}

int soft_decode_one(struct soft_cpu *cpu, const uint8_t *bytes, size_t avail, uint32_t mode,
                    struct soft_insn *out, bool *ends_block)
{
    const struct soft_decoders *d = cpu->decoder;
    const ZydisDecoder *dec = mode == SOFT_MODE_64   ? &d->d64
                              : mode == SOFT_MODE_32 ? &d->d32
                                                     : &d->d16;
    ZydisDecodedInstruction zi;
    ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
    ZyanStatus st = ZydisDecoderDecodeFull(dec, bytes, avail, &zi, zo);
    if (st == ZYDIS_STATUS_NO_MORE_DATA)
        return -EAGAIN;
    if (st == ZYDIS_STATUS_INSTRUCTION_TOO_LONG)
        return -E2BIG;
    if (ZYAN_FAILED(st))
        return -EINVAL;

    memset(out, 0, sizeof(*out));
    out->len = zi.length;
    out->mnemonic = (uint16_t)zi.mnemonic;
    out->osize = (uint8_t)(zi.operand_width / 8);
    out->asize = (uint8_t)(zi.address_width / 8);
    if (zi.attributes & ZYDIS_ATTRIB_HAS_LOCK)
        out->prefix |= SOFT_INSN_LOCK;
    if (zi.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE))
        out->prefix |= SOFT_INSN_REP;
    if (zi.attributes & ZYDIS_ATTRIB_HAS_REPNE)
        out->prefix |= SOFT_INSN_REPNE;

    unsigned n = zi.operand_count_visible < 3 ? zi.operand_count_visible : 3;
    for (unsigned i = 0; i < n; i++) {
        if (convert_operand(&zo[i], &out->op[i]) < 0)
            return -EINVAL;
    }
    out->nops = (uint8_t)n;
    /* String instructions have hidden memory operands whose segment can be overridden: keep
     * the source segment of the first hidden memory operand that reads via [rSI]. */
    for (unsigned i = 0; i < zi.operand_count; i++) {
        if (zo[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
            (zo[i].mem.base == ZYDIS_REGISTER_RSI || zo[i].mem.base == ZYDIS_REGISTER_ESI ||
             zo[i].mem.base == ZYDIS_REGISTER_SI)) {
            if (n < 3)
                out->op[2].seg = (uint8_t)seg_of(zo[i].mem.segment);
            break;
        }
    }

    unsigned flags = 0;
    unsigned aux = 0;
    out->fn = soft_handler_lookup(zi.mnemonic, &aux, &flags);
    out->aux = (uint8_t)aux;
    if (!out->fn) {
        log_debug("soft: no handler for %s", ZydisMnemonicGetString(zi.mnemonic));
        return -ENOSYS;
    }
    if (zi.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) {
        if (zi.mnemonic == ZYDIS_MNEMONIC_RET)
            out->fn = soft_op_retf;
        else if (zi.mnemonic == ZYDIS_MNEMONIC_JMP)
            out->fn = soft_op_jmpf;
        else if (zi.mnemonic == ZYDIS_MNEMONIC_CALL)
            out->fn = soft_op_callf;
        else
            return -ENOSYS;
    }
    flags = soft_handler_specialize(out, flags);
    if (!out->fn)
        return -ENOSYS;
    if (!out->run)
        out->run = soft_run_plain;
    *ends_block = (flags & SOFT_H_ENDS_BLOCK) != 0;
    return 0;
}
