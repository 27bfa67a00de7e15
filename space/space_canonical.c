/* space_canonical: the canonical form of a search space: every key with its value or
 * its default, in a fixed order, numbers printed exactly. It is stored with the sweep,
 * and a space whose canonical form differs is a changed space (space_diff.c says how). */
#include "space_internal.h"
#include "common/strbuf.h"

/* Each kind's canonical name, by its enum value (space_params.c reads other spellings too). */
static const char *const kind_names[] = {"uniform", "log_uniform", "int", "categorical", "constant", NULL};
/* The samplers' and pruners' names, by their enum values: the only spellings read. */
const char *const space_sampler_names[] = {"grid", "random", "tpe", NULL};
const char *const space_pruner_names[] = {"none", "median", "asha", NULL};

static void canon_key(vs_strbuf *b, int *first, const char *key) {
    if (!*first) vs_sb_puts(b, ",");
    *first = 0;
    space_print_json_string(b, key);
    vs_sb_puts(b, ":");
}

static void canon_num(vs_strbuf *b, int *first, const char *key, double v) {
    char num[40];
    canon_key(b, first, key);
    space_format_exact(v, num);
    vs_sb_puts(b, num);
}

static void canon_str(vs_strbuf *b, int *first, const char *key, const char *v) {
    canon_key(b, first, key);
    space_print_json_string(b, v);
}

/* Starts member key as an object: its own members follow with *inner as their
 * first-member flag, and a "}" closes it. */
static void canon_open(vs_strbuf *b, int *first, const char *key, int *inner) {
    canon_key(b, first, key);
    vs_sb_puts(b, "{");
    *inner = 1;
}

static void canon_param(vs_strbuf *b, const vs_space *s, const vs_param *p) {
    int first = 1;
    vs_sb_puts(b, "{");
    canon_str(b, &first, "type", kind_names[p->kind]);
    switch (p->kind) {
    case VS_PARAM_UNIFORM:
    case VS_PARAM_LOG_UNIFORM:
        canon_num(b, &first, "low", p->low);
        canon_num(b, &first, "high", p->high);
        if (p->step > 0) canon_num(b, &first, "step", p->step);
        break;
    case VS_PARAM_INT:
        canon_num(b, &first, "low", p->low);
        canon_num(b, &first, "high", p->high);
        canon_num(b, &first, "step", p->step);
        canon_key(b, &first, "log");
        vs_sb_puts(b, p->log ? "true" : "false");
        break;
    case VS_PARAM_CATEGORICAL:
        canon_key(b, &first, "choices");
        vs_sb_puts(b, "[");
        for (int i = 0; i < p->n_choices; i++) {
            if (i) vs_sb_puts(b, ",");
            space_print_json_exact(b, p->choices[i]);
        }
        vs_sb_puts(b, "]");
        break;
    case VS_PARAM_CONSTANT:
        canon_key(b, &first, "value");
        space_print_json_exact(b, p->value);
        break;
    }
    /* Only when given: the canonical form of a space without conditions stays as it was. */
    if (p->n_when) {
        int inner;
        canon_open(b, &first, "when", &inner);
        for (int i = 0; i < p->n_when; i++) {
            const vs_cond *w = &p->when[i];
            const vs_param *parent = &s->params[w->parent];
            canon_key(b, &inner, parent->name);
            vs_sb_puts(b, "[");
            for (int j = 0; j < w->n_values; j++) {
                cJSON *v = vs_param_json_value(parent, w->values[j]);
                if (j) vs_sb_puts(b, ",");
                space_print_json_exact(b, v);
                cJSON_Delete(v);
            }
            vs_sb_puts(b, "]");
        }
        vs_sb_puts(b, "}");
    }
    if (p->otherwise) {
        canon_key(b, &first, "else");
        space_print_json_exact(b, p->otherwise);
    }
    vs_sb_puts(b, "}");
}

/* Every key with its value or default, in a fixed order; the dataset as written. */
char *space_canonical_text(const vs_space *s, const cJSON *dataset_as_written) {
    vs_strbuf b = {0};
    int top = 1, sec;
    vs_sb_puts(&b, "{");
    canon_str(&b, &top, "name", s->name);
    canon_key(&b, &top, "dataset");
    space_print_json_exact(&b, dataset_as_written);

    canon_open(&b, &top, "objective", &sec);
    canon_str(&b, &sec, "metric", s->metric);
    canon_str(&b, &sec, "direction", s->maximize ? "maximize" : "minimize");
    vs_sb_puts(&b, "}");

    canon_open(&b, &top, "sampler", &sec);
    canon_str(&b, &sec, "kind", space_sampler_names[s->sampler]);
    canon_num(&b, &sec, "seed", (double)s->seed);
    if (s->sampler == VS_SAMPLER_TPE) {
        canon_num(&b, &sec, "startup_trials", s->tpe_startup_trials);
        canon_num(&b, &sec, "candidates", s->tpe_candidates);
        /* A stored form without "multivariate" is an older, univariate sweep (space_diff.c),
         * and so is a space that keeps that (vs_space_keep_stored_defaults). */
        if (s->tpe_multivariate_kept) {
            /* left out, as the stored form has it */
        } else if (s->tpe_multivariate == VS_TPE_OPTUNA) {
            canon_str(&b, &sec, "multivariate", "optuna");
        } else {
            canon_key(&b, &sec, "multivariate");
            vs_sb_puts(&b, s->tpe_multivariate ? "true" : "false");
        }
    }
    vs_sb_puts(&b, "}");

    canon_open(&b, &top, "budget", &sec);
    canon_num(&b, &sec, "trials", s->n_trials);
    canon_num(&b, &sec, "max_seconds", s->max_seconds);
    vs_sb_puts(&b, "}");

    canon_open(&b, &top, "resources", &sec);
    canon_num(&b, &sec, "gpus_per_trial", s->gpus_per_trial);
    canon_num(&b, &sec, "trials_per_gpu", s->trials_per_gpu);
    canon_num(&b, &sec, "max_retries", s->max_retries);
    canon_num(&b, &sec, "trial_timeout", s->trial_timeout);
    canon_num(&b, &sec, "window", s->window);
    vs_sb_puts(&b, "}");

    canon_open(&b, &top, "pruner", &sec);
    canon_str(&b, &sec, "kind", space_pruner_names[s->pruner]);
    if (s->pruner == VS_PRUNER_MEDIAN) {
        canon_num(&b, &sec, "startup_trials", s->pruner_startup_trials);
        canon_num(&b, &sec, "warmup_epochs", s->pruner_warmup_epochs);
    } else if (s->pruner == VS_PRUNER_ASHA) {
        canon_num(&b, &sec, "min_epochs", s->asha_min_epochs);
        canon_num(&b, &sec, "reduction_factor", s->asha_reduction_factor);
    }
    vs_sb_puts(&b, "}");

    canon_key(&b, &top, "fixed");
    space_print_json_exact(&b, s->fixed);

    canon_open(&b, &top, "parameters", &sec);
    for (int i = 0; i < s->n_params; i++) {
        canon_key(&b, &sec, s->params[i].name);
        canon_param(&b, s, &s->params[i]);
    }
    vs_sb_puts(&b, "}");
    if (s->warm_start_db) {   /* only when given: the canonical form of older spaces stays as it was */
        canon_open(&b, &top, "warm_start", &sec);
        canon_str(&b, &sec, "db", s->warm_start_db);
        if (s->warm_start_sweep) canon_str(&b, &sec, "sweep", s->warm_start_sweep);
        if (s->warm_start_any_setup) canon_str(&b, &sec, "match", "parameters");   /* the default left out, as above */
        vs_sb_puts(&b, "}");
    }
    vs_sb_puts(&b, "}");
    return vs_sb_take(&b);
}
