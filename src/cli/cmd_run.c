/* `ember run`: parses the command line into a machine_config, checks it, builds the machine
 * and runs it. Every bad input ends with one message naming the problem and exit status 2
 * (usage) or 1 (setup failure). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/memmap.h"
#include "machine/machine.h"
#include "util/log.h"
#include "util/parse.h"

static void run_usage(FILE *out)
{
    fprintf(
        out,
        "Usage: ember run --kernel FILE [options]\n"
        "\n"
        "Boot a virtual machine.\n"
        "\n"
        "  --kernel FILE        guest kernel: Linux bzImage, ELF64 or flat binary (required)\n"
        "  --initrd FILE        initial ramdisk (Linux)\n"
        "  --cmdline STRING     kernel command line (Linux)\n"
        "  --memory SIZE        guest RAM; a bare number is MiB, or use K/M/G suffixes\n"
        "                       (default 512M)\n"
        "  --cpus N             number of vCPUs, 1 to %u (default 1)\n"
        "  --accel NAME         kvm, soft or auto (default auto: kvm when the host CPU has\n"
        "                       vmx/svm and /dev/kvm works, soft otherwise)\n"
        "  --console SPEC       serial console: stdio (default; Ctrl-A x quits on a terminal),\n"
        "                       file:PATH, socket:PATH (Unix socket server), none\n"
        "  --disk path=FILE[,readonly=on][,id=NAME][,format=raw|qcow2]\n"
        "                       virtio block device (repeatable)\n"
        "  --net tap=IFNAME[,mac=MAC] | user[,hostfwd=tcp::HOSTPORT-:GUESTPORT]\n"
        "                       virtio network device (repeatable)\n"
        "  --virtio-console stdio|file=PATH|pty\n"
        "                       second console on virtio (hvc0 in Linux guests)\n"
        "  --no-reboot          stop when the guest resets instead of rebooting it\n"
        "  --profile FILE       soft accelerator: write the guest instructions completed per\n"
        "                       block of guest code to FILE when the VM stops, and a snapshot\n"
        "                       on each SIGUSR1 (scripts/guest-profile.py reads it)\n"
        "  -v, --verbose        more messages (repeat for debug output)\n"
        "  -h, --help           this help\n"
        "\n"
        "Exit status: the guest's debug-exit value, 0 on guest power-off, 1 when ember\n"
        "fails, 2 on a bad command line, 128+N when stopped by signal N.\n",
        VM_MAX_VCPUS);
}

enum {
    OPT_KERNEL = 256,
    OPT_INITRD,
    OPT_CMDLINE,
    OPT_MEMORY,
    OPT_CPUS,
    OPT_ACCEL,
    OPT_CONSOLE,
    OPT_DISK,
    OPT_NET,
    OPT_NO_REBOOT,
    OPT_VIRTIO_CONSOLE,
    OPT_PROFILE,
};

static const struct option run_options[] = {
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"cmdline", required_argument, NULL, OPT_CMDLINE},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"accel", required_argument, NULL, OPT_ACCEL},
    {"console", required_argument, NULL, OPT_CONSOLE},
    {"disk", required_argument, NULL, OPT_DISK},
    {"net", required_argument, NULL, OPT_NET},
    {"no-reboot", no_argument, NULL, OPT_NO_REBOOT},
    {"virtio-console", required_argument, NULL, OPT_VIRTIO_CONSOLE},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "ember run: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see 'ember run --help')\n");
    return EMBER_EXIT_USAGE;
}

/* A readable regular file, or a message naming what is wrong with it. */
static int check_file(const char *flag, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "ember run: %s %s: %s\n", flag, path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "ember run: %s %s: not a regular file\n", flag, path);
        return -1;
    }
    if (access(path, R_OK) < 0) {
        fprintf(stderr, "ember run: %s %s: %s\n", flag, path, strerror(errno));
        return -1;
    }
    return 0;
}

static int parse_memory(const char *arg, uint64_t *out)
{
    uint64_t v;
    int r = parse_size(arg, MiB, &v);
    if (r < 0) {
        fprintf(stderr, "ember run: --memory %s: not a size (examples: 512, 512M, 2G)\n", arg);
        return -1;
    }
    if (v < MEMMAP_RAM_MIN || v > MEMMAP_RAM_MAX) {
        fprintf(stderr, "ember run: --memory %s: must be between 2 MiB and 1 TiB\n", arg);
        return -1;
    }
    if (v & 0xfff) {
        fprintf(stderr, "ember run: --memory %s: must be a multiple of 4 KiB\n", arg);
        return -1;
    }
    *out = v;
    return 0;
}

static int pick_accel(const char *name, const struct accel_ops **out)
{
    char why[256] = "";
    if (strcmp(name, "auto") == 0) {
        *out = accel_pick_auto(why, sizeof(why));
        log_info("accelerator: %s (%s)", (*out)->name, why);
        return 0;
    }
    const struct accel_ops *a = accel_find(name);
    if (!a) {
        fprintf(stderr, "ember run: --accel %s: unknown accelerator (kvm, soft or auto)\n", name);
        return EMBER_EXIT_USAGE;
    }
    if (a->probe && a->probe(why, sizeof(why)) < 0) {
        fprintf(stderr, "ember run: the %s accelerator is unavailable: %s\n", name, why);
        return EMBER_EXIT_ERROR;
    }
    *out = a;
    return 0;
}

/* Parses argv into cfg. Returns 0, or the exit status to end with. */
static int parse_args(int argc, char **argv, struct machine_config *cfg, const char **accel,
                      bool *help)
{
    opterr = 0;
    optind = 1;
    int c, verbose = 0;
    while ((c = getopt_long(argc, argv, ":hv", run_options, NULL)) != -1) {
        uint64_t n;
        switch (c) {
        case OPT_KERNEL:
            cfg->kernel = optarg;
            break;
        case OPT_INITRD:
            cfg->initrd = optarg;
            break;
        case OPT_CMDLINE:
            cfg->cmdline = optarg;
            break;
        case OPT_MEMORY:
            if (parse_memory(optarg, &cfg->memory) < 0)
                return EMBER_EXIT_USAGE;
            break;
        case OPT_CPUS:
            if (parse_u64(optarg, 1, VM_MAX_VCPUS, &n) < 0) {
                fprintf(stderr, "ember run: --cpus %s: must be a number from 1 to %u\n", optarg,
                        VM_MAX_VCPUS);
                return EMBER_EXIT_USAGE;
            }
            cfg->cpus = (unsigned)n;
            break;
        case OPT_ACCEL:
            *accel = optarg;
            break;
        case OPT_CONSOLE:
            cfg->console = optarg;
            break;
        case OPT_DISK:
            if (cfg->ndisks == MACHINE_MAX_DISKS)
                return usage_error("at most %s --disk options", "16");
            cfg->disks[cfg->ndisks++] = optarg;
            break;
        case OPT_NET:
            if (cfg->nnets == MACHINE_MAX_NETS)
                return usage_error("at most %s --net options", "8");
            cfg->nets[cfg->nnets++] = optarg;
            break;
        case OPT_NO_REBOOT:
            cfg->no_reboot = true;
            break;
        case OPT_VIRTIO_CONSOLE:
            cfg->virtio_console = optarg;
            break;
        case OPT_PROFILE:
            if (!optarg[0])
                return usage_error("--profile needs a file name%s", "");
            cfg->profile = optarg;
            break;
        case 'v':
            verbose++;
            break;
        case 'h':
            *help = true;
            return 0;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (verbose)
        log_set_level(verbose == 1 ? LOG_INFO : LOG_DEBUG);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    struct machine_config cfg = {.memory = MACHINE_DEFAULT_MEMORY, .cpus = 1, .console = "stdio"};
    const char *accel_name = "auto";
    bool help = false;
    int r = parse_args(argc, argv, &cfg, &accel_name, &help);
    if (r != 0)
        return r;
    if (help) {
        run_usage(stdout);
        return 0;
    }
    if (!cfg.kernel) {
        fprintf(stderr, "ember run: --kernel FILE is required (see 'ember run --help')\n");
        return EMBER_EXIT_USAGE;
    }
    const char *serial = cfg.console ? cfg.console : "stdio";
    if (cfg.virtio_console && strcmp(cfg.virtio_console, "stdio") == 0 &&
        strcmp(serial, "stdio") == 0) {
        fprintf(stderr, "ember run: --virtio-console stdio needs --console other than stdio "
                        "(both would read standard input)\n");
        return EMBER_EXIT_USAGE;
    }
    if (check_file("--kernel", cfg.kernel) < 0 ||
        (cfg.initrd && check_file("--initrd", cfg.initrd) < 0))
        return EMBER_EXIT_ERROR;
    if ((r = pick_accel(accel_name, &cfg.accel)) != 0)
        return r;

    struct machine m;
    if (machine_create(&m, &cfg) < 0)
        return EMBER_EXIT_ERROR;
    int code = machine_run(&m);
    machine_destroy(&m);
    return code;
}
