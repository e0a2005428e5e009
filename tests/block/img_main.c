/* Test-only driver: runs `ember img` (cmd_img) as a standalone program until src/cli/main.c
 * dispatches to it. Usage: ember-img img COMMAND ... */
#include "cli/cmd_img.h"

int main(int argc, char **argv)
{
    return cmd_img(argc - 1, argv + 1);
}
