/* run_options: the options that say how a sweep's trials run (database, GPUs, CPU slots,
 * device, threads, timeout, trainer, run folders, launcher, failures, states, progress),
 * taken the same way by `vaesearch run` and `vaesearch confirm`, whose trials run as any
 * sweep's do. */
#ifndef VS_RUN_OPTIONS_H
#define VS_RUN_OPTIONS_H

#include <getopt.h>

#include "orchestrator/scheduler.h"

/* The long options, ending with a zero entry; their values are letters (d g j D t T x r n
 * L R F K N), which a command's own options must not reuse. */
extern const struct option run_long_options[];
#define RUN_N_LONG_OPTIONS 14

/* The usage lines of those options. */
#define RUN_OPTIONS_HELP                                                                                     \
    "  --db FILE            results database (default results.db)\n"                                       \
    "  --gpus LIST          GPUs to use, e.g. 0,1,2,3 (default: every GPU found)\n"                        \
    "  --jobs N             trials at once on the CPU when there is no GPU (default 1;\n"                  \
    "                       under Slurm, one a node)\n"                                                    \
    "  --device D           the trainers' device (default: cuda with GPUs, else cpu)\n"                    \
    "  --threads N          CPU threads a trial (default: cores / slots)\n"                                \
    "  --trial-timeout S    fail a trial that runs longer (default: the space's)\n"                        \
    "  --trainer PATH       the trainer program (default: vaecf-train beside vaesearch)\n"                 \
    "  --runs-dir DIR       where a new sweep's run folder goes (default: runs/ beside the\n"              \
    "                       database): DIR/NAME, or DIR/NAME-2... when that is another\n"                  \
    "                       sweep's; a sweep keeps the folder its first run chose\n"                       \
    "  --launcher L         local: trainers run here (default); slurm: each trial is a\n"                  \
    "                       job step of the Slurm allocation this runs in (sbatch or\n"                    \
    "                       salloc), its slots from the allocation (docs/slurm.md)\n"                      \
    "  --nodes-per-trial K  under Slurm, each trial spans K nodes, its ranks one step\n"                  \
    "                       (default: 1, or as many as resources.gpus_per_trial needs)\n"                 \
    "  --retry-failed       run the parameters of every FAILed trial again (as new trials)\n"              \
    "  --max-consecutive-failures N\n"                                                                     \
    "                       stop when N trials in a row fail for the same reason\n"                        \
    "                       (default 3; 0: never)\n"                                                       \
    "  --keep-states        keep each trial's resumable state (state.safetensors, about\n"                 \
    "                       4x its model) after it ends; by default it is removed once\n"                  \
    "                       the trial is COMPLETE, PRUNED or FAIL (it never resumes)\n"                    \
    "  --no-progress        a line per event, even on a terminal\n"

/* The defaults: results.db, one CPU slot, progress to out (live on a terminal), a stop
 * after 3 failures in a row. */
void run_options_init(vs_run_opts *o, FILE *out);
/* Takes option c, as getopt_long returned it for run_long_options, with its value: 0
 * taken; 1 not one of them; 2 after the message, for a bad value. */
int run_options_take(const char *verb, int c, const char *value, vs_run_opts *o);
/* Once every option is read: under Slurm, one trial a node unless --jobs said otherwise;
 * --nodes-per-trial only with Slurm. 0, or 2 after the message. */
int run_options_finish(const char *verb, vs_run_opts *o);

#endif
