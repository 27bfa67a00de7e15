/* db_report: the study-wide reads behind `vaesearch report` (results_report.h): its
 * objectives with their directions and names, every trial's objective values and
 * intermediate values, and the study's user attributes, each in one query. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db_internal.h"
#include "results_report.h"

/* The objectives' names from study:metric_names, a JSON array of strings, or NULL. */
static cJSON *metric_names(vs_db *db, int study_id, vs_error *err, int *failed) {
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT value_json FROM study_system_attributes WHERE study_id = ? AND \"key\" = "
                                  "'study:metric_names'",
                                  "i", study_id);
    *failed = !st;
    if (!st) return NULL;
    int r = db_step(db, st, err);
    const char *text = r == 1 ? (const char *)sqlite3_column_text(st, 0) : NULL;
    cJSON *names = text ? cJSON_Parse(text) : NULL;
    db_release(db, st);
    *failed = r < 0;
    return names;
}

int vs_db_objectives(vs_db *db, int study_id, vs_db_objective **out, int *n, vs_error *err) {
    *out = NULL;
    *n = 0;
    int failed;
    cJSON *names = metric_names(db, study_id, err, &failed);
    if (failed) return -1;
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT objective, direction FROM study_directions WHERE study_id = ? ORDER BY objective",
                                  "i", study_id);
    if (!st) {
        cJSON_Delete(names);
        return -1;
    }
    int cap = 4, r;
    vs_db_objective *o = vs_xcalloc((size_t)cap, sizeof *o);
    while ((r = db_step(db, st, err)) == 1) {
        int k = sqlite3_column_int(st, 0);
        const char *dir = (const char *)sqlite3_column_text(st, 1);
        if (k != *n) {
            r = vs_errorf(err, "%s: study_directions of study %d: objective %d is missing", db->path, study_id, *n);
            break;
        }
        if (!dir || (strcmp(dir, "MAXIMIZE") && strcmp(dir, "MINIMIZE"))) {
            r = vs_errorf(err, "%s: study_directions of study %d: objective %d has direction '%s' (not MAXIMIZE or "
                               "MINIMIZE)", db->path, study_id, k, dir ? dir : "NULL");
            break;
        }
        if (*n == cap) o = vs_xrealloc(o, sizeof *o * (size_t)(cap *= 2));
        o[*n].maximize = !strcmp(dir, "MAXIMIZE");
        const cJSON *name = cJSON_GetArrayItem(names, k);
        if (cJSON_IsString(name)) snprintf(o[*n].name, sizeof o[*n].name, "%s", name->valuestring);
        else snprintf(o[*n].name, sizeof o[*n].name, "objective %d", k);
        (*n)++;
    }
    db_release(db, st);
    cJSON_Delete(names);
    if (r == 0 && *n == 0) r = vs_errorf(err, "%s: study %d has no direction (study_directions)", db->path, study_id);
    if (r < 0) {
        free(o);
        *n = 0;
        return -1;
    }
    *out = o;
    return 0;
}

static int by_number_index(const void *pa, const void *pb) {
    const vs_db_indexed_value *a = pa, *b = pb;
    if (a->number != b->number) return a->number < b->number ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* The rows of a query over (number, index, value, value_type), by number then index.
 * The queries ask for trial_id order, which their indexes give without sorting (SQLite
 * sorts half a million rows in a temporary B-tree otherwise, twice the query's time);
 * numbers follow trial_ids in a study as Optuna and vaesearch create trials, and where
 * they do not the rows are sorted here. */
static int indexed_values(vs_db *db, const char *sql, int study_id, vs_db_indexed_value **out, int64_t *n,
                          vs_error *err) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = db_prepare(db, err, sql, "i", study_id);
    if (!st) return -1;
    int64_t cap = 256;
    int r;
    vs_db_indexed_value *v = vs_xmalloc(sizeof *v * (size_t)cap);
    while ((r = db_step(db, st, err)) == 1) {
        if (*n == cap) v = vs_xrealloc(v, sizeof *v * (size_t)(cap *= 2));
        v[*n].number = sqlite3_column_int(st, 0);
        v[*n].index = sqlite3_column_int(st, 1);
        v[*n].value = db_value_from_type(st, 2, 3);
        (*n)++;
    }
    db_release(db, st);
    if (r < 0) {
        free(v);
        *n = 0;
        return -1;
    }
    for (int64_t i = 1; i < *n; i++)
        if (by_number_index(&v[i - 1], &v[i]) > 0) {
            qsort(v, (size_t)*n, sizeof *v, by_number_index);
            break;
        }
    *out = v;
    return 0;
}

int vs_db_study_values(vs_db *db, int study_id, vs_db_indexed_value **out, int64_t *n, vs_error *err) {
    return indexed_values(db,
                          "SELECT t.number, v.objective, v.value, v.value_type FROM trial_values v "
                          "JOIN trials t ON t.trial_id = v.trial_id WHERE t.study_id = ? ORDER BY t.trial_id, v.objective",
                          study_id, out, n, err);
}

int vs_db_study_intermediate_values(vs_db *db, int study_id, vs_db_indexed_value **out, int64_t *n, vs_error *err) {
    return indexed_values(db,
                          "SELECT t.number, v.step, v.intermediate_value, v.intermediate_value_type "
                          "FROM trial_intermediate_values v JOIN trials t ON t.trial_id = v.trial_id "
                          "WHERE t.study_id = ? ORDER BY t.trial_id, v.step",
                          study_id, out, n, err);
}

cJSON *vs_db_study_user_attrs(vs_db *db, int study_id, vs_error *err) {
    sqlite3_stmt *st = db_prepare(db, err,
                                  "SELECT \"key\", value_json FROM study_user_attributes WHERE study_id = ? "
                                  "ORDER BY study_user_attribute_id",
                                  "i", study_id);
    if (!st) return NULL;
    cJSON *attrs = cJSON_CreateObject();
    int r;
    while ((r = db_step(db, st, err)) == 1) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        const char *text = (const char *)sqlite3_column_text(st, 1);
        cJSON *value = text ? cJSON_Parse(text) : NULL;
        if (key) cJSON_AddItemToObject(attrs, key, value ? value : cJSON_CreateNull());
        else cJSON_Delete(value);
    }
    db_release(db, st);
    if (r < 0) {
        cJSON_Delete(attrs);
        return NULL;
    }
    return attrs;
}
