/* commands: the vaesearch subcommands, one cmd_<verb> each (git's builtin/ style).
 * Each takes the arguments after the verb (argv[0] is the verb) and returns the
 * process exit status: 0 success, 1 failure, 2 bad usage or bad input. */
#ifndef VS_COMMANDS_H
#define VS_COMMANDS_H

int cmd_prepare(int argc, char **argv);
int cmd_dataset(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_recommend(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_confirm(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_rename(int argc, char **argv);
int cmd_slurm_script(int argc, char **argv);

/* True if argv has -h or --help; commands print their usage to stdout then. */
int vs_wants_help(int argc, char **argv);

#endif
