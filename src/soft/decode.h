/* Decoder and mnemonic table interface of the soft CPU: bytes -> struct soft_insn. */
#ifndef EMBER_SOFT_DECODE_H
#define EMBER_SOFT_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "soft/internal.h"

/* Handler table flags. */
#define SOFT_H_ENDS_BLOCK 0x1 /* control transfer or state change: last instruction of a block */

/* Decodes one instruction from bytes[0..avail) in mode (SOFT_MODE_*). Returns 0, -EAGAIN if
 * more bytes are needed, -EINVAL for an invalid encoding, -E2BIG for one longer than 15 bytes
 * (#GP), -ENOSYS if ember has no handler. */
int soft_decode_one(struct soft_cpu *cpu, const uint8_t *bytes, size_t avail, uint32_t mode,
                    struct soft_insn *out, bool *ends_block);

/* The mnemonic-indexed handler table (table.c): handler, its aux value and flags, or NULL. */
soft_handler soft_handler_lookup(unsigned mnemonic, unsigned *aux, unsigned *flags);

unsigned soft_handler_specialize(struct soft_insn *in, unsigned flags);

/* Handler used for undecodable bytes: raises #UD when executed. */
int soft_h_ud(struct soft_cpu *cpu, const struct soft_insn *in);
/* Handler for instructions longer than 15 bytes: raises #GP(0) when executed. */
int soft_h_too_long(struct soft_cpu *cpu, const struct soft_insn *in);

#endif
