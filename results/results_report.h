/* results_report: what `vaesearch report` reads from results.db beyond what top, status
 * and show read (results_db.h): the study's objectives, as Optuna records one direction
 * per objective, every trial's value of each objective and every intermediate value, and
 * the study's user attributes. Plain data; each call is one query over the whole study
 * (not one a trial), and runs beside a live `vaesearch run`. */
#ifndef VS_RESULTS_REPORT_H
#define VS_RESULTS_REPORT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "results_db.h"

/* One objective of a study: study_directions' direction, and its name from the system
 * attribute study:metric_names (what Optuna's set_metric_names writes), or
 * "objective K" when the study has none for it. */
typedef struct vs_db_objective {
    int maximize;      /* 1 MAXIMIZE, 0 MINIMIZE */
    char name[96];
} vs_db_objective;

/* The study's objectives in their order (objective 0, 1, ...); an error names the
 * database when there is none, a direction Optuna does not write, or a gap in their
 * numbers. The caller frees *out. */
int vs_db_objectives(vs_db *db, int study_id, vs_db_objective **out, int *n, vs_error *err);

/* A number recorded for a trial (by number) at an index: an objective's value (index =
 * objective) or an intermediate value (index = step); infinities as +-INFINITY, as
 * Optuna stores INF_POS and INF_NEG, and its NAN as NaN. */
typedef struct vs_db_indexed_value {
    int number, index;
    double value;
} vs_db_indexed_value;

/* Every trial_values row of the study, by trial number then objective. The caller frees
 * *out. */
int vs_db_study_values(vs_db *db, int study_id, vs_db_indexed_value **out, int64_t *n, vs_error *err);
/* Every trial_intermediate_values row of the study (every trial's curve, in one query),
 * by trial number then step. The caller frees *out. */
int vs_db_study_intermediate_values(vs_db *db, int study_id, vs_db_indexed_value **out, int64_t *n, vs_error *err);

/* The study's user attributes as a JSON object, key -> the parsed value (null where the
 * stored text is not JSON): `dataset`, `description` for a vaesearch sweep. NULL with
 * err on failure; the caller deletes it. */
cJSON *vs_db_study_user_attrs(vs_db *db, int study_id, vs_error *err);

#endif
