/* cmd_dataset: (being written) */
#include "commands.h"
int cmd_dataset(int argc, char **argv) { (void)argc; (void)argv; return 1; }
