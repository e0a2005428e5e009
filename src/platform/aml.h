/* A small AML byte-code builder for the DSDT (ACPI 6.4 chapter 20 "ACPI Machine Language
 * Specification"): name strings, integers, strings, Name/Scope/Device/Method/Package/Buffer,
 * with package lengths patched when a construct is closed, and helpers for resource template
 * descriptors (ACPI 6.4 section 6.4). Errors (allocation, nesting) latch in `failed`. */
#ifndef EMBER_PLATFORM_AML_H
#define EMBER_PLATFORM_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 16

struct aml {
    uint8_t *buf;
    size_t len, cap;
    size_t open[AML_MAX_DEPTH]; /* where each open construct's body starts */
    unsigned depth;
    bool failed;
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);

void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);
/* "\\_SB.PCI0", "_HID", "^FOO": segments shorter than 4 characters are padded with '_'. */
void aml_name_string(struct aml *a, const char *path);
/* The shortest encoding: ZeroOp, OneOp, or Byte/Word/DWord/QWord prefix. */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* A compressed EISA ID such as "PNP0A03" as a DWord integer. */
void aml_eisaid(struct aml *a, const char *id);
/* NameOp + name; the caller appends the object (integer, package, buffer...). */
void aml_name(struct aml *a, const char *name);
/* A Buffer object holding data (e.g. a resource template). */
void aml_buffer(struct aml *a, const void *data, size_t n);

/* Open constructs; each is closed by aml_end. */
void aml_scope(struct aml *a, const char *name);
void aml_device(struct aml *a, const char *name);
void aml_method(struct aml *a, const char *name, unsigned nargs, bool serialized);
void aml_package(struct aml *a, unsigned nelems);
void aml_end(struct aml *a);
/* ReturnOp; the caller appends the value. */
void aml_return(struct aml *a);

/* Encodes a PkgLength for a body of body_len bytes into out (1..4 bytes); returns its size,
 * or 0 if too long (> 2^28). */
unsigned aml_pkglength(size_t body_len, uint8_t out[4]);

/* Resource template descriptors, appended to a plain byte buffer (struct aml used as one). */
void aml_res_io(struct aml *r, uint16_t base, uint8_t len);
void aml_res_irq(struct aml *r, unsigned irq);
void aml_res_word_bus(struct aml *r, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *r, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *r, uint32_t min, uint32_t max);
void aml_res_mem32_fixed(struct aml *r, uint32_t base, uint32_t len);
/* End tag; call last (the template's checksum byte is 0: "treat as valid"). */
void aml_res_end(struct aml *r);

#endif
