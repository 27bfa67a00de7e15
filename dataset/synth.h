/* synth: generated implicit-feedback data with real structure, so that a VAE
 * measurably beats a popularity ranking: items have power-law popularity and belong
 * to latent topics; each user mixes a few topics. The pairs then go through the same
 * protocol as real data (protocol.h). Presets: "small" (tests and the demo), and the
 * shapes of the paper's three datasets after its preparation: "ml20m" (MovieLens-20M),
 * "netflix" (the Netflix Prize), "msd" (the Million Song Dataset). */
#ifndef VS_SYNTH_H
#define VS_SYNTH_H

#include <stdint.h>

#include "ingest.h"
#include "protocol.h"
#include "common/vs_error.h"

typedef struct vs_synth_opts {
    int64_t users;            /* users generated (before the protocol's filter) */
    int64_t items;            /* item catalogue size */
    double mean_items;        /* mean items per user (log-normal, before clipping) */
    int64_t min_items;        /* least items per user (>= 5, the protocol's minimum) */
    int topics;               /* latent topics */
    int topics_per_user;      /* at most this many topics per user */
    double popularity_exponent; /* Zipf exponent of item popularity */
    double topic_affinity;    /* probability that an item is drawn from the user's topics */
    uint64_t seed;
    double heldout_users;     /* passed to the protocol */
} vs_synth_opts;

/* Fills o with a named preset ("small", "ml20m", "netflix", "msd"); error lists the
 * known names. */
int vs_synth_preset(const char *name, vs_synth_opts *o, vs_error *err);
/* Generates the interaction pairs (ids are decimal strings). out must be zeroed. */
int vs_synth_generate(const vs_synth_opts *o, vs_interactions *out, vs_error *err);
/* Generates o's pairs and splits them with the paper's protocol (o's held-out users and
 * seed) into *out, as `vaesearch synth` does; meta_json (or NULL) goes into the
 * dataset's metadata. */
int vs_synth_dataset(const vs_synth_opts *o, const char *meta_json, vs_dataset *out, vs_error *err);

#endif
