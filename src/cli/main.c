/* ember's entry point: dispatches to the subcommands (run, img). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_img.h"
#include "util/log.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "unknown"
#endif

void cli_print_usage(void)
{
    printf("Usage: ember COMMAND [options]\n"
           "\n"
           "ember is a virtual machine monitor: it runs guest operating systems with virtio\n"
           "devices on KVM (hardware virtualization) or on its own software x86-64 CPU.\n"
           "\n"
           "Commands:\n"
           "  run     boot a virtual machine (ember run --help)\n"
           "  img     create, inspect, check, convert and snapshot disk images (ember img --help)\n"
           "\n"
           "Options:\n"
           "  -h, --help      this help\n"
           "  -V, --version   print the version\n"
           "\n"
           "Environment: EMBER_LOG=error|warn|info|debug|trace sets the message level.\n");
}

int main(int argc, char **argv)
{
    log_init_from_env();
    /* A console socket client that goes away must not kill the VMM. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        cli_print_usage();
        return EMBER_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        cli_print_usage();
        return 0;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("ember %s\n", EMBER_VERSION);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "img") == 0)
        return cmd_img(argc - 1, argv + 1);
    fprintf(stderr, "ember: unknown command '%s' (see 'ember --help')\n", cmd);
    return EMBER_EXIT_USAGE;
}
