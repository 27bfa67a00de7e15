/* recommend: "which items will this new user most likely interact with?" — the model's
 * evaluation pass (normalised input, z = mu) on one user's items, ranked by the
 * softmax probability, the user's own items excluded. */
#ifndef VS_RECOMMEND_H
#define VS_RECOMMEND_H

#include <stdint.h>

#include "model_io.h"
#include "common/vs_error.h"

/* A model held ready to answer many users one after another (a service): the workspace
 * is allocated once and only grows. It borrows the model file, which must outlive it. */
typedef struct vs_recommender vs_recommender;

vs_recommender *vs_recommender_new(const vs_model_file *m);
void vs_recommender_free(vs_recommender *r);

/* items: indices of the user's items (any order, duplicates ignored). Writes the k
 * best item indices to out_idx (best first, -1 past the end of the catalogue) and
 * their probabilities to out_prob. */
int vs_recommender_query(vs_recommender *r, const int32_t *items, int n, int k, int32_t *out_idx, float *out_prob,
                         vs_error *err);

/* The same for one user, with a recommender made and freed for the call. */
int vs_recommend(const vs_model_file *m, const int32_t *items, int n, int k, int32_t *out_idx, float *out_prob,
                 vs_error *err);

#endif
