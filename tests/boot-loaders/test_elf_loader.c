/* Unit tests for the ELF64 loader: a crafted valid executable loads (segments, BSS zeroing,
 * entry point), and each bad header or program-header field is rejected with a reason. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "boot/elf_loader.h"
#include "core/guest_mem.h"
#include "core/memmap.h"

#define RAM_SIZE  (16 * MiB)
#define CODE_OFF  0x1000
#define CODE_SIZE 64
#define DATA_OFF  (CODE_OFF + CODE_SIZE)
#define DATA_SIZE 32
#define IMG_SIZE  (DATA_OFF + DATA_SIZE)
#define LOAD_ADDR 0x200000ULL
#define DATA_ADDR 0x300000ULL
#define BSS_SIZE  0x2000

/* A two-segment executable: code (R X) at LOAD_ADDR, data (R W) + BSS at DATA_ADDR. */
struct image {
    uint8_t bytes[IMG_SIZE];
};

static Elf64_Ehdr *ehdr(struct image *im)
{
    return (Elf64_Ehdr *)im->bytes;
}

static Elf64_Phdr *phdr(struct image *im, unsigned i)
{
    return (Elf64_Phdr *)(im->bytes + sizeof(Elf64_Ehdr)) + i;
}

static void make_image(struct image *im)
{
    memset(im, 0, sizeof(*im));
    Elf64_Ehdr *eh = ehdr(im);
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_EXEC;
    eh->e_machine = EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_entry = LOAD_ADDR + 0x10;
    eh->e_phoff = sizeof(Elf64_Ehdr);
    eh->e_ehsize = sizeof(Elf64_Ehdr);
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = 2;
    *phdr(im, 0) = (Elf64_Phdr){.p_type = PT_LOAD,
                                .p_flags = PF_R | PF_X,
                                .p_offset = CODE_OFF,
                                .p_vaddr = LOAD_ADDR,
                                .p_paddr = LOAD_ADDR,
                                .p_filesz = CODE_SIZE,
                                .p_memsz = CODE_SIZE};
    *phdr(im, 1) = (Elf64_Phdr){.p_type = PT_LOAD,
                                .p_flags = PF_R | PF_W,
                                .p_offset = DATA_OFF,
                                .p_vaddr = DATA_ADDR,
                                .p_paddr = DATA_ADDR,
                                .p_filesz = DATA_SIZE,
                                .p_memsz = DATA_SIZE + BSS_SIZE};
    for (unsigned i = 0; i < CODE_SIZE; i++)
        im->bytes[CODE_OFF + i] = (uint8_t)(0x90 + i);
    for (unsigned i = 0; i < DATA_SIZE; i++)
        im->bytes[DATA_OFF + i] = (uint8_t)(0x40 + i);
}

struct fixture {
    struct guest_mem gm;
    struct image im;
    char why[256];
    uint64_t entry;
};

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof(f));
    if (guest_mem_init(&f.gm, RAM_SIZE) < 0)
        return -1;
    make_image(&f.im);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    guest_mem_destroy(&f->gm);
    return 0;
}

static int load(struct fixture *f, size_t size)
{
    f->why[0] = 0;
    return elf_loader_load(&f->gm, f->im.bytes, size, &f->entry, f->why, sizeof(f->why));
}

/* The image is rejected with rc and a reason mentioning `phrase`. */
static void expect_reject(struct fixture *f, int rc, const char *phrase)
{
    assert_int_equal(load(f, sizeof(f->im.bytes)), rc);
    if (!strstr(f->why, phrase))
        fail_msg("reason \"%s\" does not mention \"%s\"", f->why, phrase);
}

static void test_valid_image_loads(void **state)
{
    struct fixture *f = *state;
    /* Dirty the BSS first: the loader must zero it (as on a reset reload). */
    uint8_t junk[BSS_SIZE];
    memset(junk, 0xAA, sizeof(junk));
    assert_int_equal(guest_mem_write(&f->gm, DATA_ADDR + DATA_SIZE, junk, sizeof(junk)), 0);

    assert_int_equal(load(f, sizeof(f->im.bytes)), 0);
    assert_int_equal(f->entry, LOAD_ADDR + 0x10);
    uint8_t buf[CODE_SIZE];
    assert_int_equal(guest_mem_read(&f->gm, LOAD_ADDR, buf, CODE_SIZE), 0);
    assert_memory_equal(buf, f->im.bytes + CODE_OFF, CODE_SIZE);
    assert_int_equal(guest_mem_read(&f->gm, DATA_ADDR, buf, DATA_SIZE), 0);
    assert_memory_equal(buf, f->im.bytes + DATA_OFF, DATA_SIZE);
    uint8_t bss[BSS_SIZE], zeros[BSS_SIZE];
    memset(zeros, 0, sizeof(zeros));
    assert_int_equal(guest_mem_read(&f->gm, DATA_ADDR + DATA_SIZE, bss, BSS_SIZE), 0);
    assert_memory_equal(bss, zeros, BSS_SIZE);
}

static void test_entry_translated_by_paddr(void **state)
{
    struct fixture *f = *state;
    /* Linked high, loaded low: the entry is translated to its physical address. */
    phdr(&f->im, 0)->p_vaddr = 0xFFFFFFFF80000000ULL;
    ehdr(&f->im)->e_entry = 0xFFFFFFFF80000020ULL;
    assert_int_equal(load(f, sizeof(f->im.bytes)), 0);
    assert_int_equal(f->entry, LOAD_ADDR + 0x20);
}

static void test_is_elf(void **state)
{
    struct fixture *f = *state;
    assert_true(elf_loader_is_elf(f->im.bytes, sizeof(f->im.bytes)));
    assert_false(elf_loader_is_elf(f->im.bytes, 3));
    assert_false(elf_loader_is_elf("MZ\x90\x00", 4));
}

static void test_too_small(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, sizeof(Elf64_Ehdr) - 1), -ENOEXEC);
    assert_non_null(strstr(f->why, "too small"));
    assert_int_equal(load(f, 0), -ENOEXEC);
}

static void test_bad_ident(void **state)
{
    struct fixture *f = *state;
    ehdr(&f->im)->e_ident[EI_MAG1] = 'X';
    expect_reject(f, -ENOEXEC, "magic");
    make_image(&f->im);
    ehdr(&f->im)->e_ident[EI_CLASS] = ELFCLASS32;
    expect_reject(f, -ENOEXEC, "ELFCLASS64");
    make_image(&f->im);
    ehdr(&f->im)->e_ident[EI_DATA] = ELFDATA2MSB;
    expect_reject(f, -ENOEXEC, "little-endian");
    make_image(&f->im);
    ehdr(&f->im)->e_ident[EI_VERSION] = 0;
    expect_reject(f, -ENOEXEC, "identification version");
}

static void test_bad_header_fields(void **state)
{
    struct fixture *f = *state;
    ehdr(&f->im)->e_type = ET_DYN;
    expect_reject(f, -ENOEXEC, "ET_EXEC");
    make_image(&f->im);
    ehdr(&f->im)->e_machine = EM_386;
    expect_reject(f, -ENOEXEC, "EM_X86_64");
    make_image(&f->im);
    ehdr(&f->im)->e_version = 2;
    expect_reject(f, -ENOEXEC, "ELF version");
    make_image(&f->im);
    ehdr(&f->im)->e_ehsize = 52;
    expect_reject(f, -ENOEXEC, "header size");
    make_image(&f->im);
    ehdr(&f->im)->e_phentsize = 32;
    expect_reject(f, -ENOEXEC, "entry size");
    make_image(&f->im);
    ehdr(&f->im)->e_phnum = 0;
    expect_reject(f, -ENOEXEC, "count");
    make_image(&f->im);
    ehdr(&f->im)->e_phnum = 0xFFFF;
    expect_reject(f, -ENOEXEC, "count");
}

static void test_bad_phoff(void **state)
{
    struct fixture *f = *state;
    ehdr(&f->im)->e_phoff = IMG_SIZE - sizeof(Elf64_Phdr); /* second entry past the end */
    expect_reject(f, -ENOEXEC, "extend past");
    make_image(&f->im);
    ehdr(&f->im)->e_phoff = UINT64_MAX - 8; /* offset + size would wrap */
    expect_reject(f, -ENOEXEC, "extend past");
    make_image(&f->im);
    ehdr(&f->im)->e_phnum = 100; /* within the limit, but not in the file */
    expect_reject(f, -ENOEXEC, "extend past");
}

static void test_bad_segment_file_range(void **state)
{
    struct fixture *f = *state;
    phdr(&f->im, 0)->p_filesz = CODE_SIZE + 1;
    expect_reject(f, -ENOEXEC, "exceeds memory size");
    make_image(&f->im);
    phdr(&f->im, 1)->p_offset = IMG_SIZE - DATA_SIZE + 1;
    expect_reject(f, -ENOEXEC, "past the");
    make_image(&f->im);
    phdr(&f->im, 1)->p_offset = UINT64_MAX - 4;
    expect_reject(f, -ENOEXEC, "past the");
}

static void test_bad_segment_addresses(void **state)
{
    struct fixture *f = *state;
    phdr(&f->im, 0)->p_paddr = 0x8000; /* over the boot page tables */
    expect_reject(f, -ENOEXEC, "boot structures");
    make_image(&f->im);
    phdr(&f->im, 1)->p_paddr = RAM_SIZE - 16; /* BSS runs past the end of RAM */
    expect_reject(f, -ENOMEM, "not inside guest RAM");
    make_image(&f->im);
    phdr(&f->im, 1)->p_paddr = MEMMAP_LAPIC_BASE; /* MMIO hole */
    expect_reject(f, -ENOMEM, "not inside guest RAM");
    make_image(&f->im);
    phdr(&f->im, 1)->p_paddr = UINT64_MAX - 8;
    expect_reject(f, -ENOEXEC, "wraps");
    make_image(&f->im);
    phdr(&f->im, 1)->p_vaddr = UINT64_MAX - 8;
    expect_reject(f, -ENOEXEC, "wraps");
}

static void test_bad_entry(void **state)
{
    struct fixture *f = *state;
    ehdr(&f->im)->e_entry = LOAD_ADDR + CODE_SIZE; /* one past the code */
    expect_reject(f, -ENOEXEC, "entry point");
    make_image(&f->im);
    ehdr(&f->im)->e_entry = DATA_ADDR; /* in a non-executable segment */
    expect_reject(f, -ENOEXEC, "executable segment");
}

static void test_other_segment_types(void **state)
{
    struct fixture *f = *state;
    phdr(&f->im, 1)->p_type = PT_INTERP;
    expect_reject(f, -ENOEXEC, "dynamically linked");
    make_image(&f->im);
    phdr(&f->im, 1)->p_type = PT_DYNAMIC;
    expect_reject(f, -ENOEXEC, "dynamically linked");
    make_image(&f->im);
    phdr(&f->im, 0)->p_type = PT_NOTE;
    phdr(&f->im, 1)->p_type = PT_GNU_STACK;
    expect_reject(f, -ENOEXEC, "no PT_LOAD");
    make_image(&f->im);
    /* Non-load segments with nonsense fields are ignored. */
    phdr(&f->im, 1)->p_type = PT_NOTE;
    phdr(&f->im, 1)->p_offset = UINT64_MAX;
    assert_int_equal(load(f, sizeof(f->im.bytes)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_image_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_translated_by_paddr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_elf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_ident, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_header_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_phoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_segment_file_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_segment_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_segment_types, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
