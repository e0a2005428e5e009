/* ELF64 executable loader (System V gABI ch. 4 "ELF Header", ch. 5 "Program Header"; x86-64
 * psABI). The image is untrusted: every header field is checked against the image size and
 * guest RAM before it is used, with overflow-safe arithmetic. */
#include "boot/elf_loader.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/memmap.h"

#define ELF_IDENTITY_LIMIT (4ULL << 30) /* the boot page tables map [0, 4 GiB) */
#define ZERO_CHUNK         4096
#define ELF_MAX_PHNUM      128 /* far more than any kernel or test guest has */

bool elf_loader_is_elf(const void *img, size_t size)
{
    return size >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0;
}

/* a + b <= limit without overflow. */
static bool fits(uint64_t a, uint64_t b, uint64_t limit)
{
    return a <= limit && b <= limit - a;
}

static int check_ident(const Elf64_Ehdr *eh, char *why, size_t whylen)
{
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) {
        snprintf(why, whylen, "not an ELF file (bad magic)");
        return -ENOEXEC;
    }
    if (eh->e_ident[EI_CLASS] != ELFCLASS64) {
        snprintf(why, whylen, "ELF class %u is not ELFCLASS64", eh->e_ident[EI_CLASS]);
        return -ENOEXEC;
    }
    if (eh->e_ident[EI_DATA] != ELFDATA2LSB) {
        snprintf(why, whylen, "ELF data encoding %u is not little-endian", eh->e_ident[EI_DATA]);
        return -ENOEXEC;
    }
    if (eh->e_ident[EI_VERSION] != EV_CURRENT) {
        snprintf(why, whylen, "ELF identification version %u is not EV_CURRENT",
                 eh->e_ident[EI_VERSION]);
        return -ENOEXEC;
    }
    return 0;
}

static int check_header(const Elf64_Ehdr *eh, size_t size, char *why, size_t whylen)
{
    int rc = check_ident(eh, why, whylen);
    if (rc < 0)
        return rc;
    if (eh->e_type != ET_EXEC) {
        snprintf(why, whylen, "ELF type %u is not ET_EXEC (only static executables boot)",
                 eh->e_type);
        return -ENOEXEC;
    }
    if (eh->e_machine != EM_X86_64) {
        snprintf(why, whylen, "ELF machine %u is not EM_X86_64", eh->e_machine);
        return -ENOEXEC;
    }
    if (eh->e_version != EV_CURRENT) {
        snprintf(why, whylen, "ELF version %u is not EV_CURRENT", eh->e_version);
        return -ENOEXEC;
    }
    if (eh->e_ehsize != sizeof(Elf64_Ehdr)) {
        snprintf(why, whylen, "ELF header size %u is not %zu", eh->e_ehsize, sizeof(Elf64_Ehdr));
        return -ENOEXEC;
    }
    if (eh->e_phentsize != sizeof(Elf64_Phdr)) {
        snprintf(why, whylen, "program header entry size %u is not %zu", eh->e_phentsize,
                 sizeof(Elf64_Phdr));
        return -ENOEXEC;
    }
    if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHNUM) {
        snprintf(why, whylen, "program header count %u is not in 1..%d", eh->e_phnum,
                 ELF_MAX_PHNUM);
        return -ENOEXEC;
    }
    if (!fits(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size)) {
        snprintf(why, whylen,
                 "program headers (offset %" PRIu64 ", %u entries) extend past the %zu-byte file",
                 (uint64_t)eh->e_phoff, eh->e_phnum, size);
        return -ENOEXEC;
    }
    return 0;
}

/* One PT_LOAD segment: in the file, in RAM, clear of ember's first-MiB boot structures. */
static int check_load_segment(const struct guest_mem *gm, const Elf64_Phdr *ph, unsigned idx,
                              size_t size, char *why, size_t whylen)
{
    if (ph->p_filesz > ph->p_memsz) {
        snprintf(why, whylen, "segment %u: file size %" PRIu64 " exceeds memory size %" PRIu64, idx,
                 (uint64_t)ph->p_filesz, (uint64_t)ph->p_memsz);
        return -ENOEXEC;
    }
    if (!fits(ph->p_offset, ph->p_filesz, size)) {
        snprintf(why, whylen,
                 "segment %u: file range (offset %" PRIu64 ", %" PRIu64
                 " bytes) extends past the %zu-byte file",
                 idx, (uint64_t)ph->p_offset, (uint64_t)ph->p_filesz, size);
        return -ENOEXEC;
    }
    if (!fits(ph->p_paddr, ph->p_memsz, UINT64_MAX) ||
        !fits(ph->p_vaddr, ph->p_memsz, UINT64_MAX)) {
        snprintf(why, whylen, "segment %u: address range wraps around", idx);
        return -ENOEXEC;
    }
    if (ph->p_paddr < MEMMAP_KERNEL_BASE) {
        snprintf(why, whylen,
                 "segment %u: physical address 0x%" PRIx64
                 " is below 0x%llx (the first MiB holds ember's boot structures)",
                 idx, (uint64_t)ph->p_paddr, (unsigned long long)MEMMAP_KERNEL_BASE);
        return -ENOEXEC;
    }
    if (ph->p_memsz > 0 && !guest_mem_is_ram(gm, ph->p_paddr, ph->p_memsz)) {
        snprintf(why, whylen,
                 "segment %u: [0x%" PRIx64 ", 0x%" PRIx64 ") is not inside guest RAM (%llu bytes)",
                 idx, (uint64_t)ph->p_paddr, (uint64_t)(ph->p_paddr + ph->p_memsz),
                 (unsigned long long)gm->ram_size);
        return -ENOMEM;
    }
    return 0;
}

/* Physical entry point: e_entry (virtual) inside an executable PT_LOAD segment. */
static int find_entry(const Elf64_Ehdr *eh, const Elf64_Phdr *phs, uint64_t *entry, char *why,
                      size_t whylen)
{
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = &phs[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        if (eh->e_entry >= ph->p_vaddr && eh->e_entry - ph->p_vaddr < ph->p_memsz) {
            uint64_t phys = ph->p_paddr + (eh->e_entry - ph->p_vaddr);
            if (phys >= ELF_IDENTITY_LIMIT) {
                snprintf(why, whylen, "entry point 0x%" PRIx64 " is above 4 GiB", phys);
                return -ENOEXEC;
            }
            *entry = phys;
            return 0;
        }
    }
    snprintf(why, whylen, "entry point 0x%" PRIx64 " is not inside an executable segment",
             (uint64_t)eh->e_entry);
    return -ENOEXEC;
}

static int zero_guest(struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
    static const uint8_t zeros[ZERO_CHUNK];
    while (len > 0) {
        size_t n = len < ZERO_CHUNK ? (size_t)len : ZERO_CHUNK;
        int rc = guest_mem_write(gm, gpa, zeros, n);
        if (rc < 0)
            return rc;
        gpa += n;
        len -= n;
    }
    return 0;
}

static int load_segment(struct guest_mem *gm, const uint8_t *img, const Elf64_Phdr *ph, char *why,
                        size_t whylen)
{
    int rc = guest_mem_write(gm, ph->p_paddr, img + ph->p_offset, ph->p_filesz);
    if (rc == 0)
        rc = zero_guest(gm, ph->p_paddr + ph->p_filesz, ph->p_memsz - ph->p_filesz);
    if (rc < 0)
        snprintf(why, whylen, "writing a segment to guest RAM at 0x%" PRIx64 " failed",
                 (uint64_t)ph->p_paddr);
    return rc;
}

int elf_loader_load(struct guest_mem *gm, const void *img, size_t size, uint64_t *entry, char *why,
                    size_t whylen)
{
    Elf64_Ehdr eh;
    if (size < sizeof(eh)) {
        snprintf(why, whylen, "file too small for an ELF64 header (%zu bytes)", size);
        return -ENOEXEC;
    }
    memcpy(&eh, img, sizeof(eh));
    int rc = check_header(&eh, size, why, whylen);
    if (rc < 0)
        return rc;

    /* Copy the program headers out: the image need not be aligned. */
    Elf64_Phdr phs[ELF_MAX_PHNUM];
    memcpy(phs, (const uint8_t *)img + eh.e_phoff, (size_t)eh.e_phnum * sizeof(Elf64_Phdr));

    unsigned nload = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        if (phs[i].p_type == PT_INTERP || phs[i].p_type == PT_DYNAMIC) {
            snprintf(why, whylen, "dynamically linked executables cannot boot");
            return -ENOEXEC;
        }
        if (phs[i].p_type != PT_LOAD)
            continue;
        rc = check_load_segment(gm, &phs[i], i, size, why, whylen);
        if (rc < 0)
            return rc;
        nload++;
    }
    if (nload == 0) {
        snprintf(why, whylen, "no PT_LOAD segment");
        return -ENOEXEC;
    }
    rc = find_entry(&eh, phs, entry, why, whylen);
    if (rc < 0)
        return rc;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        if (phs[i].p_type != PT_LOAD)
            continue;
        rc = load_segment(gm, img, &phs[i], why, whylen);
        if (rc < 0)
            return rc;
    }
    return 0;
}
