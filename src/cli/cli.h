/* ember's command-line subcommands. Each returns the process exit status. */
#ifndef EMBER_CLI_CLI_H
#define EMBER_CLI_CLI_H

#define EMBER_EXIT_USAGE 2 /* bad command line */
#define EMBER_EXIT_ERROR 1 /* the VM could not be set up or failed */

int cmd_run(int argc, char **argv);
void cli_print_usage(void);

#endif
