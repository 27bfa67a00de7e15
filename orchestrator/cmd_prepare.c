/* cmd_prepare: (being written) */
#include "commands.h"
int cmd_prepare(int argc, char **argv) { (void)argc; (void)argv; return 1; }
