/* Fuzz target: the bzImage header parser and, for headers it accepts, the loader's placement
 * logic on a small guest RAM (both treat the image as hostile). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "boot/linux/bzimage.h"
#include "boot/linux/linux_boot.h"
#include "core/memmap.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct guest_mem gm;
    static int ready;
    if (!ready) {
        log_set_level(LOG_ERROR);
        if (guest_mem_init(&gm, 32 * MiB) < 0)
            abort();
        ready = 1;
    }
    struct bzimage_info bz;
    char err[160];
    if (bzimage_parse(data, size, &bz, err, sizeof(err)) != 0)
        return 0;
    if (bz.kernel_offset + bz.kernel_size != size || bz.header_end > bz.setup_size)
        abort(); /* the parser's invariants */
    struct linux_boot_image bi = {
        .kernel = data, .kernel_size = size, .cmdline = "console=ttyS0", .name = "fuzz"};
    struct cpu_state st;
    struct linux_boot_layout lay;
    linux_boot_setup(&gm, &bi, &st, &lay);
    return 0;
}
