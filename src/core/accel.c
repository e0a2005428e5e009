/* The accelerator registry: lookup by name and the "auto" choice. */
#include "core/accel.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct accel_ops *const accelerators[] = {
    &kvm_accel_ops,
    &soft_accel_ops,
};

const struct accel_ops *accel_find(const char *name)
{
    for (size_t i = 0; i < sizeof(accelerators) / sizeof(accelerators[0]); i++)
        if (strcmp(accelerators[i]->name, name) == 0)
            return accelerators[i];
    return NULL;
}

/* True if /proc/cpuinfo lists the vmx (Intel VT-x) or svm (AMD-V) flag. */
static bool host_has_hw_virt(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return false;
    char line[8192];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        for (char *tok = strtok(line, " \t\n"); tok; tok = strtok(NULL, " \t\n"))
            if (strcmp(tok, "vmx") == 0 || strcmp(tok, "svm") == 0)
                found = true;
        break; /* the first CPU's flags stand for all */
    }
    fclose(f);
    return found;
}

const struct accel_ops *accel_pick_auto(char *why, size_t whylen)
{
    if (!host_has_hw_virt()) {
        snprintf(why, whylen, "the host CPU flags show neither vmx nor svm");
        return &soft_accel_ops;
    }
    char kvm_why[256] = "";
    if (kvm_accel_ops.probe && kvm_accel_ops.probe(kvm_why, sizeof(kvm_why)) < 0) {
        snprintf(why, whylen, "kvm is unusable: %s", kvm_why);
        return &soft_accel_ops;
    }
    snprintf(why, whylen, "the host has hardware virtualization and /dev/kvm works");
    return &kvm_accel_ops;
}
