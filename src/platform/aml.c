/* AML encoder (ACPI 6.4 sections 20.2.2 name objects, 20.2.3 data objects, 20.2.4 package
 * length, 20.2.5 term objects) and resource descriptors (6.4.2 small, 6.4.3 large items). */
#include "platform/aml.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define AML_ZERO_OP       0x00
#define AML_ONE_OP        0x01
#define AML_NAME_OP       0x08
#define AML_BYTE_PREFIX   0x0A
#define AML_WORD_PREFIX   0x0B
#define AML_DWORD_PREFIX  0x0C
#define AML_STRING_PREFIX 0x0D
#define AML_QWORD_PREFIX  0x0E
#define AML_SCOPE_OP      0x10
#define AML_BUFFER_OP     0x11
#define AML_PACKAGE_OP    0x12
#define AML_METHOD_OP     0x14
#define AML_DUAL_NAME     0x2E
#define AML_MULTI_NAME    0x2F
#define AML_EXT_OP        0x5B
#define AML_DEVICE_OP     0x82 /* after ExtOpPrefix */
#define AML_ROOT_CHAR     0x5C
#define AML_PARENT_CHAR   0x5E
#define AML_RETURN_OP     0xA4

#define AML_MAX_PKGLEN (1u << 28)

void aml_init(struct aml *a)
{
    memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
    free(a->buf);
    memset(a, 0, sizeof(*a));
}

static bool reserve(struct aml *a, size_t n)
{
    if (a->failed)
        return false;
    if (a->len + n <= a->cap)
        return true;
    size_t cap = a->cap ? a->cap : 256;
    while (cap < a->len + n)
        cap *= 2;
    uint8_t *nb = realloc(a->buf, cap);
    if (!nb) {
        log_error("aml: out of memory");
        a->failed = true;
        return false;
    }
    a->buf = nb;
    a->cap = cap;
    return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (!reserve(a, n))
        return;
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
    aml_bytes(a, &b, 1);
}

static void le(struct aml *a, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        aml_byte(a, (uint8_t)(v >> (8 * i)));
}

static void name_seg(struct aml *a, const char *s, size_t n)
{
    char seg[4] = {'_', '_', '_', '_'};
    if (n > 4) {
        log_error("aml: name segment longer than 4 characters");
        a->failed = true;
        n = 4;
    }
    memcpy(seg, s, n);
    aml_bytes(a, seg, 4);
}

void aml_name_string(struct aml *a, const char *path)
{
    while (*path == '\\' || *path == '^')
        aml_byte(a, (uint8_t)(*path++ == '\\' ? AML_ROOT_CHAR : AML_PARENT_CHAR));
    unsigned nseg = 0;
    for (const char *p = path; *p; nseg++) {
        const char *dot = strchr(p, '.');
        p = dot ? dot + 1 : p + strlen(p);
    }
    if (nseg == 0) {
        aml_byte(a, AML_ZERO_OP); /* NullName */
        return;
    }
    if (nseg == 2) {
        aml_byte(a, AML_DUAL_NAME);
    } else if (nseg > 2) {
        aml_byte(a, AML_MULTI_NAME);
        aml_byte(a, (uint8_t)nseg);
    }
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        name_seg(a, path, n);
        path += n + (dot ? 1 : 0);
    }
}

void aml_integer(struct aml *a, uint64_t v)
{
    if (v == 0) {
        aml_byte(a, AML_ZERO_OP);
    } else if (v == 1) {
        aml_byte(a, AML_ONE_OP);
    } else if (v <= 0xFF) {
        aml_byte(a, AML_BYTE_PREFIX);
        le(a, v, 1);
    } else if (v <= 0xFFFF) {
        aml_byte(a, AML_WORD_PREFIX);
        le(a, v, 2);
    } else if (v <= 0xFFFFFFFFULL) {
        aml_byte(a, AML_DWORD_PREFIX);
        le(a, v, 4);
    } else {
        aml_byte(a, AML_QWORD_PREFIX);
        le(a, v, 8);
    }
}

void aml_string(struct aml *a, const char *s)
{
    aml_byte(a, AML_STRING_PREFIX);
    aml_bytes(a, s, strlen(s) + 1);
}

static unsigned hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0');
    if (c >= 'A' && c <= 'F')
        return (unsigned)(c - 'A' + 10);
    if (c >= 'a' && c <= 'f')
        return (unsigned)(c - 'a' + 10);
    return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
    if (strlen(id) != 7) {
        log_error("aml: EISA ID '%s' is not 7 characters", id);
        a->failed = true;
        return;
    }
    /* Three 5-bit letters and four hex digits, stored big-endian (ACPI 6.4 19.6.35). */
    uint32_t v = (uint32_t)((id[0] - 0x40) & 0x1F) << 26 | (uint32_t)((id[1] - 0x40) & 0x1F) << 21 |
                 (uint32_t)((id[2] - 0x40) & 0x1F) << 16 | hex_digit(id[3]) << 12 |
                 hex_digit(id[4]) << 8 | hex_digit(id[5]) << 4 | hex_digit(id[6]);
    aml_byte(a, AML_DWORD_PREFIX);
    aml_byte(a, (uint8_t)(v >> 24));
    aml_byte(a, (uint8_t)(v >> 16));
    aml_byte(a, (uint8_t)(v >> 8));
    aml_byte(a, (uint8_t)v);
}

void aml_name(struct aml *a, const char *name)
{
    aml_byte(a, AML_NAME_OP);
    aml_name_string(a, name);
}

unsigned aml_pkglength(size_t body_len, uint8_t out[4])
{
    /* The encoded length counts the PkgLength bytes themselves. */
    for (unsigned n = 1; n <= 4; n++) {
        size_t total = body_len + n;
        size_t limit = n == 1 ? 64 : (size_t)1 << (4 + 8 * (n - 1));
        if (total >= limit)
            continue;
        if (total >= AML_MAX_PKGLEN)
            return 0;
        if (n == 1) {
            out[0] = (uint8_t)total;
        } else {
            out[0] = (uint8_t)(((n - 1) << 6) | (total & 0xF));
            for (unsigned i = 1; i < n; i++)
                out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
        }
        return n;
    }
    return 0;
}

static void open_construct(struct aml *a)
{
    if (a->depth >= AML_MAX_DEPTH) {
        log_error("aml: constructs nested too deeply");
        a->failed = true;
        return;
    }
    a->open[a->depth++] = a->len;
}

void aml_end(struct aml *a)
{
    if (a->failed)
        return;
    if (a->depth == 0) {
        log_error("aml: aml_end without an open construct");
        a->failed = true;
        return;
    }
    size_t start = a->open[--a->depth];
    uint8_t pl[4];
    unsigned n = aml_pkglength(a->len - start, pl);
    if (n == 0 || !reserve(a, n)) {
        a->failed = true;
        return;
    }
    memmove(a->buf + start + n, a->buf + start, a->len - start);
    memcpy(a->buf + start, pl, n);
    a->len += n;
}

void aml_scope(struct aml *a, const char *name)
{
    aml_byte(a, AML_SCOPE_OP);
    open_construct(a);
    aml_name_string(a, name);
}

void aml_device(struct aml *a, const char *name)
{
    aml_byte(a, AML_EXT_OP);
    aml_byte(a, AML_DEVICE_OP);
    open_construct(a);
    aml_name_string(a, name);
}

void aml_method(struct aml *a, const char *name, unsigned nargs, bool serialized)
{
    aml_byte(a, AML_METHOD_OP);
    open_construct(a);
    aml_name_string(a, name);
    aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 8 : 0)));
}

void aml_package(struct aml *a, unsigned nelems)
{
    aml_byte(a, AML_PACKAGE_OP);
    open_construct(a);
    aml_byte(a, (uint8_t)nelems);
}

void aml_buffer(struct aml *a, const void *data, size_t n)
{
    aml_byte(a, AML_BUFFER_OP);
    open_construct(a);
    aml_integer(a, n);
    aml_bytes(a, data, n);
    aml_end(a);
}

void aml_return(struct aml *a)
{
    aml_byte(a, AML_RETURN_OP);
}

/* ---- resource descriptors ---- */

#define RES_IRQ_NOFLAGS 0x22
#define RES_IO          0x47
#define RES_END         0x79
#define RES_MEM32_FIXED 0x86
#define RES_DWORD_ADDR  0x87
#define RES_WORD_ADDR   0x88
#define ADDR_TYPE_MEM   0
#define ADDR_TYPE_IO    1
#define ADDR_TYPE_BUS   2
/* General flags: producer (bit 0 clear), min and max fixed. */
#define ADDR_FLAGS_WINDOW 0x0C

void aml_res_io(struct aml *r, uint16_t base, uint8_t len)
{
    aml_byte(r, RES_IO);
    aml_byte(r, 1); /* 16-bit decode */
    le(r, base, 2);
    le(r, base, 2);
    aml_byte(r, 1); /* alignment */
    aml_byte(r, len);
}

void aml_res_irq(struct aml *r, unsigned irq)
{
    aml_byte(r, RES_IRQ_NOFLAGS);
    le(r, irq < 16 ? 1u << irq : 0, 2);
}

static void word_addr(struct aml *r, uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max)
{
    aml_byte(r, RES_WORD_ADDR);
    le(r, 13, 2);
    aml_byte(r, type);
    aml_byte(r, ADDR_FLAGS_WINDOW);
    aml_byte(r, type_flags);
    le(r, 0, 2); /* granularity */
    le(r, min, 2);
    le(r, max, 2);
    le(r, 0, 2); /* translation */
    le(r, (uint32_t)(max - min) + 1, 2);
}

void aml_res_word_bus(struct aml *r, uint16_t min, uint16_t max)
{
    word_addr(r, ADDR_TYPE_BUS, 0, min, max);
}

void aml_res_word_io(struct aml *r, uint16_t min, uint16_t max)
{
    word_addr(r, ADDR_TYPE_IO, 3 /* ISA and non-ISA ranges */, min, max);
}

void aml_res_dword_mem(struct aml *r, uint32_t min, uint32_t max)
{
    aml_byte(r, RES_DWORD_ADDR);
    le(r, 23, 2);
    aml_byte(r, ADDR_TYPE_MEM);
    aml_byte(r, ADDR_FLAGS_WINDOW);
    aml_byte(r, 0x01); /* read-write, non-cacheable */
    le(r, 0, 4);
    le(r, min, 4);
    le(r, max, 4);
    le(r, 0, 4);
    le(r, (uint64_t)max - min + 1, 4);
}

void aml_res_mem32_fixed(struct aml *r, uint32_t base, uint32_t len)
{
    aml_byte(r, RES_MEM32_FIXED);
    le(r, 9, 2);
    aml_byte(r, 1); /* read-write */
    le(r, base, 4);
    le(r, len, 4);
}

void aml_res_end(struct aml *r)
{
    aml_byte(r, RES_END);
    aml_byte(r, 0);
}
