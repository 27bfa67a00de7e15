/* protocol: the paper's data preparation (Liang et al. 2018, section 4.1), from
 * interaction pairs to a vs_dataset:
 *   1. drop duplicate (user, item) pairs; keep users with >= min_user_items items;
 *   2. shuffle users with PCG32 (seed), split off `heldout` validation and `heldout`
 *      test users, the rest train;
 *   3. items = those seen in training; held-out users keep only those items;
 *   4. each held-out user with >= min_split_items items gives floor(target_fraction*n)
 *      random items as targets, the rest as fold-in input; users with fewer keep all
 *      items as fold-in (they have no targets and metrics skip them).
 * The exact orders and random draws are specified in docs/prepare.md. */
#ifndef VS_PROTOCOL_H
#define VS_PROTOCOL_H

#include <stdint.h>

#include "dataset.h"
#include "ingest.h"
#include "common/vs_error.h"

typedef struct vs_protocol_opts {
    int min_user_items;       /* 5 */
    double heldout_users;     /* >= 1: that many users each for validation and test;
                                 in (0, 1): that fraction of kept users each */
    double target_fraction;   /* 0.2 */
    int min_split_items;      /* 5 */
    uint64_t seed;            /* 98765 */
} vs_protocol_opts;

typedef struct vs_protocol_stats {
    int64_t input_users, input_items, input_interactions;  /* after the rating filter */
    int64_t duplicates;                                    /* duplicate pairs dropped */
    int64_t kept_users, kept_items, kept_interactions;     /* after the user filter */
    int64_t dropped_heldout_interactions;                  /* held-out items not in training */
} vs_protocol_stats;

void vs_protocol_opts_default(vs_protocol_opts *o);

/* Builds out (zeroed on entry; owns its memory; close with vs_dataset_close).
 * meta_extra, if not NULL, is a JSON object whose members are merged into the
 * dataset's metadata (e.g. {"source": "ratings.csv", "min_rating": 3.5}). */
int vs_protocol_split(const vs_interactions *in, const vs_protocol_opts *o,
                      const char *meta_extra, vs_dataset *out, vs_protocol_stats *st,
                      vs_error *err);

#endif
