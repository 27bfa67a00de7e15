/* results_confirm: a sweep and the sweep that confirms it (`vaesearch confirm`: the best
 * configurations of a sweep re-trained on fresh training seeds, docs/results-db.md,
 * "Confirming the winners"). The confirming sweep is a study like any other; the link is
 * its study system attribute vaesearch:confirm_of, {"sweep_id": the confirmed sweep's
 * uid, "sweep": its name}, so that it survives a rename of either; each of its trials
 * carries the user attributes confirm_of (the confirmed trial's number) and
 * confirm_seed_index (1, 2, ...: which fresh seed). */
#ifndef VS_RESULTS_CONFIRM_H
#define VS_RESULTS_CONFIRM_H

#include <cjson/cJSON.h>

#include "results_db.h"
#include "common/vs_error.h"
#include "space/space.h"

#define VS_CONFIRM_ATTR "vaesearch:confirm_of"

/* The sweep that confirms study_id: 1 with *confirm_id; 0 when there is none; -1 err. */
int vs_db_find_confirmation(vs_db *db, int study_id, int *confirm_id, vs_error *err);
/* The sweep that confirm_id confirms: 1 with *source_id; 0 when confirm_id confirms none
 * (or its sweep has been deleted); -1 err. */
int vs_db_confirmation_source(vs_db *db, int confirm_id, int *source_id, vs_error *err);
/* The sweep named name (vs_db_find_sweep); with name NULL, the only sweep of the file
 * that confirms none, the error listing them when there are several. */
int vs_db_find_sweep_to_confirm(vs_db *db, const char *name, int *study_id, vs_error *err);
/* Records that confirm_id confirms source_id (VS_CONFIRM_ATTR). The caller owns confirm_id
 * (vs_db_claim_sweep). */
int vs_db_link_confirmation(vs_db *db, int confirm_id, int source_id, vs_error *err);
/* A new WAITING trial with its parameters (vs_db_create_trial) and the user attributes
 * confirm_of = source_number and confirm_seed_index = seed_index, in one transaction, so
 * that no trial is ever recorded without saying what it confirms. The caller owns the
 * sweep. */
int vs_db_create_confirm_trial(vs_db *db, int study_id, const vs_space *s, const double *values, int source_number,
                               int seed_index, int *trial_id, int *number, vs_error *err);

#endif
