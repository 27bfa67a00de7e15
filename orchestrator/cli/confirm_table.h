/* confirm_table: a confirmation as the commands show it (`vaesearch confirm`, `top
 * --confirmed`, `show`): the confirmed sweep and its confirmation read from results.db
 * whichever of the two was named, summarised (orchestrator/confirm.h), and printed as a
 * table, CSV or JSON, with the verdict on the first two; and one trial's part in it. */
#ifndef VS_CONFIRM_TABLE_H
#define VS_CONFIRM_TABLE_H

#include <cjson/cJSON.h>

#include "orchestrator/confirm.h"

typedef struct confirm_view {
    cJSON *source_sweep, *source_trials;   /* the confirmed sweep and its trials */
    cJSON *sweep, *trials;                 /* the confirmation and its trials */
    vs_confirm_summary summary;
} confirm_view;

/* Reads the confirmation of the sweep named sweep (NULL: the only one that is no
 * confirmation), or the sweep itself when it is a confirmation, ranked by metric (a user
 * attribute such as "val_recall@20"; NULL: the objective). 0 read; -1 the sweep has no
 * confirmation (nothing printed); else the exit status after the message (2 a missing
 * database or sweep, 1 one that cannot be read). */
int confirm_view_load(const char *verb, const char *db_path, const char *sweep, const char *metric, confirm_view *v);
void confirm_view_free(confirm_view *v);

/* The first limit configurations (all when limit <= 0), with the verdict. */
void confirm_print_text(const confirm_view *v, int limit);
void confirm_print_csv(const confirm_view *v, int limit);
cJSON *confirm_json(const confirm_view *v, int limit);

/* Trial number's part in the confirmation: in_confirmation 0, a trial of the confirmed
 * sweep (its configuration's summary); 1, a trial of the confirmation (what it confirms).
 * NULL (nothing printed) when it has none. */
cJSON *confirm_trial_json(const confirm_view *v, int number, int in_confirmation);
void confirm_print_trial(const confirm_view *v, int number, int in_confirmation);

#endif
