/* Unit tests for the flat loader, the long-mode boot tables and entry state, and the kernel
 * format dispatcher boot_load_kernel (reading real files). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "boot/boot.h"
#include "boot/flat_loader.h"
#include "boot/long_mode.h"
#include "core/memmap.h"
#include "core/vm.h"

#define RAM_SIZE (16 * MiB)

static void test_flat_loads_at_kernel_base(void **state)
{
    struct guest_mem gm;
    assert_int_equal(guest_mem_init(&gm, RAM_SIZE), 0);
    const uint8_t img[] = {0xF4, 0xEB, 0xFD, 0x42};
    char why[128];
    uint64_t entry = 0;
    assert_int_equal(flat_loader_load(&gm, img, sizeof(img), &entry, why, sizeof(why)), 0);
    assert_int_equal(entry, MEMMAP_KERNEL_BASE);
    uint8_t back[sizeof(img)];
    assert_int_equal(guest_mem_read(&gm, MEMMAP_KERNEL_BASE, back, sizeof(back)), 0);
    assert_memory_equal(back, img, sizeof(img));
    guest_mem_destroy(&gm);
}

static void test_flat_rejects_empty_and_oversized(void **state)
{
    struct guest_mem gm;
    assert_int_equal(guest_mem_init(&gm, 2 * MiB), 0);
    char why[128];
    uint64_t entry = 0;
    uint8_t one = 0;
    assert_int_equal(flat_loader_load(&gm, &one, 0, &entry, why, sizeof(why)), -ENOEXEC);
    assert_non_null(strstr(why, "empty"));
    size_t big = MiB + 1; /* 1 MiB base + 1 MiB + 1 > 2 MiB of RAM */
    uint8_t *img = calloc(1, big);
    assert_non_null(img);
    assert_int_equal(flat_loader_load(&gm, img, big, &entry, why, sizeof(why)), -ENOMEM);
    assert_non_null(strstr(why, "does not fit"));
    assert_int_equal(flat_loader_load(&gm, img, big - 1, &entry, why, sizeof(why)), 0);
    free(img);
    guest_mem_destroy(&gm);
}

static uint64_t read_u64(struct guest_mem *gm, uint64_t gpa)
{
    uint64_t v = 0;
    assert_int_equal(guest_mem_read(gm, gpa, &v, sizeof(v)), 0);
    return v;
}

static void test_long_mode_tables(void **state)
{
    struct guest_mem gm;
    assert_int_equal(guest_mem_init(&gm, RAM_SIZE), 0);
    assert_int_equal(long_mode_write_tables(&gm), 0);
    /* PML4[0] -> PDPT; PDPT[0..3] -> the four PDs; PD entries are 2 MiB identity pages. */
    assert_int_equal(read_u64(&gm, MEMMAP_BOOT_PML4) & ~0xFFFULL, MEMMAP_BOOT_PDPT);
    assert_int_equal(read_u64(&gm, MEMMAP_BOOT_PML4) & 3, 3);
    assert_int_equal(read_u64(&gm, MEMMAP_BOOT_PML4 + 8), 0);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(read_u64(&gm, MEMMAP_BOOT_PDPT + 8 * i) & ~0xFFFULL,
                         MEMMAP_BOOT_PD + 4096 * i);
    assert_int_equal(read_u64(&gm, MEMMAP_BOOT_PDPT + 8 * 4), 0);
    for (uint64_t gpa = 0; gpa < LONG_MODE_IDENTITY_SIZE; gpa += 2 * MiB) {
        uint64_t e = read_u64(&gm, MEMMAP_BOOT_PD + (gpa / (2 * MiB)) * 8);
        assert_int_equal(e & ~0xFFFULL, gpa);
        assert_int_equal(e & 0x83, 0x83); /* P, RW, PS */
    }
    /* GDT: null, null, 64-bit code at 0x10, data at 0x18. */
    assert_int_equal(read_u64(&gm, MEMMAP_BOOT_GDT), 0);
    uint64_t cs = read_u64(&gm, MEMMAP_BOOT_GDT + LONG_MODE_SEL_CS);
    uint64_t ds = read_u64(&gm, MEMMAP_BOOT_GDT + LONG_MODE_SEL_DS);
    assert_true(cs & (1ULL << 53));  /* L */
    assert_false(cs & (1ULL << 54)); /* D must be 0 with L */
    assert_true(cs & (1ULL << 47));  /* P */
    assert_int_equal((cs >> 40) & 0xF, 0xB);
    assert_int_equal((ds >> 40) & 0xF, 0x3);
    assert_true(ds & (1ULL << 47));
    guest_mem_destroy(&gm);
}

static void test_long_mode_state(void **state)
{
    struct cpu_state st;
    memset(&st, 0xCC, sizeof(st));
    long_mode_init_state(&st, 0x123456, 0x8F000);
    assert_int_equal(st.rip, 0x123456);
    assert_int_equal(st.gpr[GPR_RSP], 0x8F000);
    assert_int_equal(st.gpr[GPR_RAX], 0);
    assert_int_equal(st.rflags, RFLAGS_FIXED1); /* interrupts off */
    assert_true(st.cr0 & CR0_PE);
    assert_true(st.cr0 & CR0_PG);
    assert_true(st.cr4 & CR4_PAE);
    assert_int_equal(st.efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
    assert_int_equal(st.cr3, MEMMAP_BOOT_PML4);
    assert_int_equal(st.seg[SEG_CS].selector, LONG_MODE_SEL_CS);
    assert_int_equal(st.seg[SEG_CS].l, 1);
    assert_int_equal(st.seg[SEG_CS].db, 0);
    for (int s = 0; s < SEG_COUNT; s++) {
        assert_int_equal(st.seg[s].present, 1);
        assert_int_equal(st.seg[s].base, 0);
        if (s != SEG_CS)
            assert_int_equal(st.seg[s].selector, LONG_MODE_SEL_DS);
    }
    assert_int_equal(st.tr.type, 0xB); /* busy 64-bit TSS: VM entry requires it */
    assert_int_equal(st.tr.present, 1);
    assert_int_equal(st.ldt.unusable, 1);
    assert_int_equal(st.gdt.base, MEMMAP_BOOT_GDT);
    assert_int_equal(st.gdt.limit, 31);
    assert_int_equal(st.idt.limit, 0);
    assert_true(st.apic_base & APIC_BASE_BSP);
    assert_int_equal(st.apic_base & ~0xFFFULL, MEMMAP_LAPIC_BASE);
}

/* A VM with just RAM and vCPU records: all boot_load_kernel touches. */
struct mini_vm {
    struct vm vm;
    struct vcpu vcpus[2];
    char path[64];
};

static int vm_setup(void **state)
{
    struct mini_vm *m = calloc(1, sizeof(*m));
    if (!m || guest_mem_init(&m->vm.mem, RAM_SIZE) < 0)
        return -1;
    m->vm.ncpus = 2;
    m->vm.vcpus = m->vcpus;
    snprintf(m->path, sizeof(m->path), "/tmp/ember-boot-test-XXXXXX");
    int fd = mkstemp(m->path);
    if (fd < 0)
        return -1;
    close(fd);
    *state = m;
    return 0;
}

static int vm_teardown(void **state)
{
    struct mini_vm *m = *state;
    unlink(m->path);
    guest_mem_destroy(&m->vm.mem);
    free(m);
    return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_dispatch_flat(void **state)
{
    struct mini_vm *m = *state;
    const uint8_t code[] = {0xF4};
    write_file(m->path, code, sizeof(code));
    m->vcpus[1].has_boot_state = true;
    assert_int_equal(boot_load_kernel(&m->vm, m->path, NULL, NULL), 0);
    assert_true(m->vcpus[0].has_boot_state);
    assert_false(m->vcpus[1].has_boot_state); /* APs wait for INIT/SIPI */
    assert_int_equal(m->vcpus[0].boot_state.rip, MEMMAP_KERNEL_BASE);
    assert_int_equal(m->vcpus[0].boot_state.cr3, MEMMAP_BOOT_PML4);
    assert_int_equal(read_u64(&m->vm.mem, MEMMAP_BOOT_PD + 8) & ~0xFFFULL, 2 * MiB);
}

static void test_dispatch_elf(void **state)
{
    struct mini_vm *m = *state;
    struct {
        Elf64_Ehdr eh;
        Elf64_Phdr ph;
        uint8_t code[16];
    } img;
    memset(&img, 0, sizeof(img));
    memcpy(img.eh.e_ident, ELFMAG, SELFMAG);
    img.eh.e_ident[EI_CLASS] = ELFCLASS64;
    img.eh.e_ident[EI_DATA] = ELFDATA2LSB;
    img.eh.e_ident[EI_VERSION] = EV_CURRENT;
    img.eh.e_type = ET_EXEC;
    img.eh.e_machine = EM_X86_64;
    img.eh.e_version = EV_CURRENT;
    img.eh.e_entry = 0x400004;
    img.eh.e_phoff = sizeof(Elf64_Ehdr);
    img.eh.e_ehsize = sizeof(Elf64_Ehdr);
    img.eh.e_phentsize = sizeof(Elf64_Phdr);
    img.eh.e_phnum = 1;
    img.ph = (Elf64_Phdr){.p_type = PT_LOAD,
                          .p_flags = PF_R | PF_X,
                          .p_offset = offsetof(__typeof__(img), code),
                          .p_vaddr = 0x400000,
                          .p_paddr = 0x400000,
                          .p_filesz = sizeof(img.code),
                          .p_memsz = sizeof(img.code)};
    memset(img.code, 0xF4, sizeof(img.code));
    write_file(m->path, &img, sizeof(img));
    assert_int_equal(boot_load_kernel(&m->vm, m->path, NULL, "ignored"), 0);
    assert_int_equal(m->vcpus[0].boot_state.rip, 0x400004);
    assert_int_equal(m->vcpus[0].boot_state.gpr[GPR_RSP], MEMMAP_BOOT_STACK);

    img.eh.e_machine = EM_AARCH64; /* a bad ELF is not retried as flat */
    write_file(m->path, &img, sizeof(img));
    assert_int_equal(boot_load_kernel(&m->vm, m->path, NULL, NULL), -ENOEXEC);
}

static void test_dispatch_file_errors(void **state)
{
    struct mini_vm *m = *state;
    assert_int_equal(boot_load_kernel(&m->vm, "/nonexistent/ember-kernel", NULL, NULL), -ENOENT);
    assert_int_equal(boot_load_kernel(&m->vm, "/tmp", NULL, NULL), -EINVAL);
    assert_int_equal(boot_load_kernel(&m->vm, NULL, NULL, NULL), -EINVAL);
    write_file(m->path, "", 0);
    assert_int_equal(boot_load_kernel(&m->vm, m->path, NULL, NULL), -ENOEXEC);
    /* A bzImage signature goes to the Linux loader (or is refused), never to the flat one. */
    uint8_t bz[0x400];
    memset(bz, 0, sizeof(bz));
    memcpy(bz + 0x202, "HdrS", 4);
    write_file(m->path, bz, sizeof(bz));
    m->vcpus[0].has_boot_state = false;
    assert_true(boot_load_kernel(&m->vm, m->path, NULL, NULL) < 0);
    assert_false(m->vcpus[0].has_boot_state);
    /* Larger than guest RAM. */
    assert_int_equal(truncate(m->path, RAM_SIZE + 1), 0);
    assert_int_equal(boot_load_kernel(&m->vm, m->path, NULL, NULL), -EFBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat_loads_at_kernel_base),
        cmocka_unit_test(test_flat_rejects_empty_and_oversized),
        cmocka_unit_test(test_long_mode_tables),
        cmocka_unit_test(test_long_mode_state),
        cmocka_unit_test_setup_teardown(test_dispatch_flat, vm_setup, vm_teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_elf, vm_setup, vm_teardown),
        cmocka_unit_test_setup_teardown(test_dispatch_file_errors, vm_setup, vm_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
