/* `ember img`: create, info, check, snapshot, convert, resize and commit disk images. */
#ifndef EMBER_CLI_CMD_IMG_H
#define EMBER_CLI_CMD_IMG_H

/* argv[0] is "img". Returns the process exit status (0 ok, 1 error, 2 usage; check: 2 when
 * corruption was found, 3 when only leaks were found). */
int cmd_img(int argc, char **argv);

#endif
