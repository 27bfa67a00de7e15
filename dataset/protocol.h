/* protocol: the paper's data preparation (Liang et al. 2018, section 4.1), from
 * interaction pairs to a vs_dataset:
 *   1. drop duplicate (user, item) pairs; keep items with >= min_item_users users, then
 *      users with >= min_user_items of the items kept (items first, once each, as the
 *      paper's own preparation did);
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
    int min_item_users;       /* 0: no item filter (the paper's MSD: 200) */
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
    int64_t item_filter_items;                             /* items with >= min_item_users users */
    int64_t item_filter_dropped;                           /* pairs dropped with the other items */
    int64_t kept_users, kept_items, kept_interactions;     /* after both filters */
    int64_t dropped_heldout_interactions;                  /* held-out items not in training */
} vs_protocol_stats;

void vs_protocol_opts_default(vs_protocol_opts *o);

/* The paper's settings for one of its datasets (Liang et al. 2018, section 4.1 and
 * Table 1), by name: how the value column is read and the split's options. */
typedef struct vs_protocol_preset {
    const char *name;          /* "ml-20m", "netflix", "msd" */
    const char *dataset;       /* the dataset it is for, in words */
    vs_values values;          /* RATING (rows with a value > min_rating kept) or COUNT (every row) */
    double min_rating;
    vs_protocol_opts split;    /* the defaults, with the paper's filters and held-out users */
} vs_protocol_preset;

/* Fills out with the preset named name; an unknown name is an error listing the known ones. */
int vs_protocol_preset_find(const char *name, vs_protocol_preset *out, vs_error *err);
/* The known names, ", "-separated ("ml-20m, netflix, msd"). */
const char *vs_protocol_preset_names(void);

/* Builds out (zeroed on entry; owns its memory; close with vs_dataset_close).
 * meta_extra, if not NULL, is a JSON object whose members are merged into the
 * dataset's metadata (e.g. {"source": "ratings.csv", "min_rating": 3.5}). */
int vs_protocol_split(const vs_interactions *in, const vs_protocol_opts *o,
                      const char *meta_extra, vs_dataset *out, vs_protocol_stats *st,
                      vs_error *err);

#endif
