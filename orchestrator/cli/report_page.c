/* report_page: the HTML page of `vaesearch report` (report_page.h). */
#include "report_page.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_plots.h"
#include "results_cli.h"
#include "svg_plot.h"
#include "top_table.h"
#include "common/json_exact.h"

/* One style sheet for every mark: a mark's class says what it is (pt a dot series, ln a
 * line) and whose colour it takes (c-STATE sets --c); each chart sets how opaque and
 * large its marks are (--o, --po, --d). Okabe-Ito colours, told apart by colour-blind
 * readers too. */
static const char style_sheet[] =
    "*{box-sizing:border-box}"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:#1d2329;"
    "background:#fff;margin:0 auto;max-width:1080px;padding:20px 28px 40px}"
    "h1{font-size:26px;margin:0;font-weight:650}"
    "h2{font-size:18px;margin:34px 0 4px;padding-bottom:4px;border-bottom:1px solid #e3e6ea;font-weight:600}"
    "h3{font-size:14px;margin:0 0 2px;font-weight:600}"
    "p{margin:4px 0}"
    "code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f3f5f7;padding:1px 4px;"
    "border-radius:3px}"
    ".sub{color:#5b6670;margin:2px 0 0}"
    ".note{color:#5b6670;font-size:13px;max-width:760px}"
    ".top{display:grid;grid-template-columns:minmax(0,1.15fr) minmax(0,1fr);gap:28px;margin-top:18px}"
    "@media (max-width:820px){.top{grid-template-columns:1fr}}"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:5px 16px;margin:0}"
    "dl.facts dt{color:#5b6670}dl.facts dd{margin:0}"
    "ul.space{margin:0;padding:0;list-style:none}"
    ".card{border:1px solid #d9dee3;border-radius:8px;padding:14px 18px;background:#fbfcfd}"
    ".big{font-size:30px;font-weight:650;letter-spacing:-.5px}"
    ".big small{font-size:14px;font-weight:400;color:#5b6670;letter-spacing:0}"
    "table{border-collapse:collapse;font-variant-numeric:tabular-nums}"
    "th,td{padding:3px 8px;text-align:left;border-bottom:1px solid #eceff2;white-space:nowrap}"
    "#top{font-size:13px}#best-metrics{width:100%;margin-top:10px}"
    "th{font-weight:600;color:#3c4650;border-bottom:1px solid #cfd5db}"
    "td.n,th.n{text-align:right}"
    "tr.pop td{color:#5b6670}"
    "#best-params{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:10px 0 0}"
    "#best-params dt{color:#5b6670}#best-params dd{margin:0;font-variant-numeric:tabular-nums}"
    ".scroll{overflow-x:auto}"
    ".legend{font-size:13px;color:#3c4650;margin:6px 0 2px}.st{white-space:nowrap;margin-right:8px}"
    ".legend span{margin-right:14px;white-space:nowrap}"
    ".sw{display:inline-block;width:10px;height:10px;border-radius:50%;background:var(--c);margin-right:5px;"
    "vertical-align:-1px}"
    ".sw.line{width:18px;height:3px;border-radius:1px;vertical-align:3px}"
    ".sw.ring{background:none;border:2px solid #000;width:12px;height:12px}"
    ".slices{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:8px 20px;margin-top:6px}"
    "svg.plot{display:block;width:100%;height:auto;max-width:900px;margin-top:4px}"
    ".slices svg.plot{max-width:480px}"
    ".plot text{font-size:11px;fill:#4a545e}"
    ".plot .at,.plot .ah{fill:#1d2329;font-size:12px}"
    ".tx,.at,.ah{text-anchor:middle}.ty{text-anchor:end}"
    ".fr{fill:#fafbfc;stroke:#d5dadf}.gd{fill:none;stroke:#eaedf0}.ax{fill:none;stroke:#8a949e}"
    ".pt{fill:none;stroke:var(--c);stroke-width:var(--d,6);stroke-linecap:round;stroke-opacity:var(--po,.85)}"
    ".ln{fill:none;stroke:var(--c);stroke-width:1.3;stroke-linejoin:round;stroke-linecap:round;"
    "stroke-opacity:var(--o,.8)}"
    ".ln.c-best{stroke-width:2.6;stroke-opacity:1}.ln.c-bsf{stroke-width:1.8;stroke-opacity:.9}"
    ".ln.c-front{stroke-width:1.6;stroke-opacity:.9}.pt.c-front{stroke-width:9;stroke-opacity:1}"
    ".pt.c-cut{stroke-opacity:1}.pt.c-fail{stroke-opacity:1}"
    "#parallel .ln{stroke-width:1.6;stroke-opacity:.8}#parallel .ln.c-best{stroke-width:3;stroke-opacity:1}"
    ".ring{fill:none;stroke:#000;stroke-width:2}"
    ".c-complete{--c:#0072b2}.c-pruned{--c:#e69f00}.c-fail{--c:#d55e00}.c-waiting{--c:#999}.c-running{--c:#009e73}"
    ".c-cut{--c:#a66f00}.c-best{--c:#000}.c-bsf{--c:#1d2329}.c-front{--c:#cc79a7}"
    ".c-q1{--c:#08519c}.c-q2{--c:#3182bd}.c-q3{--c:#6baed6}.c-q4{--c:#b5cfe6}"
    "footer{margin-top:36px;color:#7a848e;font-size:12px}";

static void put(vs_strbuf *b, const char *text) {
    svg_escape(b, text);
}

/* A metric for people, as top prints one: 4 decimals; "–" when there is none. */
static void put_metric(vs_strbuf *b, double v) {
    if (isnan(v)) vs_sb_puts(b, "&ndash;");
    else if (isinf(v)) vs_sb_puts(b, v > 0 ? "inf" : "-inf");
    else vs_sb_printf(b, "%.4f", v);
}

static void put_count(vs_strbuf *b, long long v) {
    char digits[32], out[48];
    int n = snprintf(digits, sizeof digits, "%lld", v < 0 ? -v : v), k = 0;
    if (v < 0) out[k++] = '-';
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = 0;
    vs_sb_puts(b, out);
}

static void put_json(vs_strbuf *b, const cJSON *v) {
    if (cJSON_IsString(v)) {
        put(b, v->valuestring);
        return;
    }
    char *s = vs_json_print_exact(v);
    put(b, s);
    free(s);
}

/* ---- the headline ---- */

static void put_param(vs_strbuf *b, const vs_param *q) {
    char lo[40], hi[40], step[40];
    vs_json_number(q->low, lo);
    vs_json_number(q->high, hi);
    vs_json_number(q->step, step);
    vs_sb_puts(b, "<li><code>");
    put(b, q->name);
    vs_sb_puts(b, "</code> ");
    switch (q->kind) {
    case VS_PARAM_UNIFORM:
        vs_sb_printf(b, "uniform %s to %s", lo, hi);
        if (q->step > 0) vs_sb_printf(b, ", step %s", step);
        break;
    case VS_PARAM_LOG_UNIFORM: vs_sb_printf(b, "log-uniform %s to %s", lo, hi); break;
    case VS_PARAM_INT:
        vs_sb_printf(b, "integer %s to %s%s", lo, hi, q->log ? ", log scale" : "");
        if (q->step > 1) vs_sb_printf(b, ", step %s", step);
        break;
    case VS_PARAM_CATEGORICAL:
        vs_sb_puts(b, "one of ");
        for (int c = 0; c < q->n_choices; c++) {
            if (c) vs_sb_puts(b, ", ");
            put_json(b, q->choices[c]);
        }
        break;
    case VS_PARAM_CONSTANT:
        vs_sb_puts(b, "always ");
        put_json(b, q->value);
        break;
    }
    vs_sb_puts(b, "</li>");
}

static void put_space(vs_strbuf *b, const report *r) {
    if (!r->has_space) return;
    const vs_space *s = &r->space;
    vs_sb_puts(b, "<dt>space</dt><dd><ul class=\"space\">");
    for (int i = 0; i < s->n_params; i++) put_param(b, &s->params[i]);
    vs_sb_puts(b, "</ul></dd><dt>fixed</dt><dd>");
    const cJSON *f;
    int first = 1;
    cJSON_ArrayForEach(f, s->fixed) {
        vs_sb_puts(b, first ? "" : ", ");
        put(b, f->string);
        vs_sb_puts(b, " ");
        put_json(b, f);
        first = 0;
    }
    vs_sb_puts(b, first ? "none</dd>" : "</dd>");
    vs_sb_puts(b, "<dt>sampler</dt><dd>");
    if (s->sampler == VS_SAMPLER_GRID) vs_sb_puts(b, "grid");
    else if (s->sampler == VS_SAMPLER_RANDOM) vs_sb_printf(b, "random, seed %llu", (unsigned long long)s->seed);
    else
        vs_sb_printf(b, "TPE, seed %llu, %d start-up trials, %d candidates", (unsigned long long)s->seed,
                     s->tpe_startup_trials, s->tpe_candidates);
    vs_sb_puts(b, "</dd><dt>pruner</dt><dd>");
    if (s->pruner == VS_PRUNER_MEDIAN)
        vs_sb_printf(b, "median, after %d finished trials and %d warm-up epochs", s->pruner_startup_trials,
                     s->pruner_warmup_epochs);
    else if (s->pruner == VS_PRUNER_ASHA)
        vs_sb_printf(b, "ASHA, first rung at epoch %d, reduction factor %d", s->asha_min_epochs,
                     s->asha_reduction_factor);
    else vs_sb_puts(b, "none");
    vs_sb_puts(b, "</dd>");
}

static void put_objectives(vs_strbuf *b, const report *r) {
    vs_sb_printf(b, "<dt>objective%s</dt><dd>", r->n_objectives > 1 ? "s" : "");
    for (int o = 0; o < r->n_objectives; o++) {
        vs_sb_puts(b, o ? ", " : "");
        vs_sb_printf(b, "%s <code>", r->objectives[o].maximize ? "maximize" : "minimize");
        put(b, r->objectives[o].name);
        vs_sb_puts(b, "</code>");
    }
    vs_sb_puts(b, "</dd>");
}

static void put_dataset(vs_strbuf *b, const report *r) {
    const char *d = results_string(r->study_attrs, "dataset");
    vs_sb_puts(b, "<dt>dataset</dt><dd><code>");
    put(b, d ? d : "?");
    vs_sb_puts(b, "</code>");
    const report_baseline *bl = &r->baseline;
    if (bl->known) {
        vs_sb_puts(b, ": ");
        put_count(b, bl->train_users);
        vs_sb_puts(b, " training users, ");
        put_count(b, bl->val_users);
        vs_sb_puts(b, " validation, ");
        put_count(b, bl->test_users);
        vs_sb_puts(b, " test; ");
        put_count(b, bl->items);
        vs_sb_puts(b, " items, ");
        put_count(b, bl->interactions);
        vs_sb_puts(b, " interactions");
    }
    vs_sb_puts(b, "</dd>");
}

static void put_states(vs_strbuf *b, const report *r) {
    static const char *const words[RS_COUNT] = {"complete", "pruned", "failed", "waiting", "running"};
    int budget = (int)results_number(cJSON_GetObjectItem(r->sweep, "n_trials"));
    vs_sb_puts(b, "<dt>budget</dt><dd>");
    put_count(b, budget);
    vs_sb_puts(b, " trials");
    if (r->has_space && r->space.max_seconds > 0) {
        char d[32];
        results_duration(r->space.max_seconds, d);
        vs_sb_printf(b, ", at most %s", d);
    }
    vs_sb_puts(b, "; ");
    put_count(b, r->counts[RS_COMPLETE] + r->counts[RS_PRUNED]);
    vs_sb_puts(b, " done</dd><dt>trials</dt><dd id=\"states\">");
    for (int s = 0; s < RS_COUNT; s++) {
        vs_sb_printf(b, "%s<span class=\"st\"><span class=\"sw %s\"></span><span data-state=\"%s\">", s ? " " : "",
                     report_state_classes[s], report_state_names[s]);
        put_count(b, r->counts[s]);
        vs_sb_printf(b, "</span> %s</span>", words[s]);
    }
    vs_sb_puts(b, "</dd>");
}

static void put_times(vs_strbuf *b, const report *r) {
    char wall[32], trainers[32];
    results_duration(r->wall_seconds, wall);
    results_duration(r->trainer_seconds, trainers);
    vs_sb_printf(b, "<dt>wall time</dt><dd>%s", wall);
    if (!isnan(r->wall_seconds)) {
        vs_sb_puts(b, " <span class=\"sub\">(UTC ");
        put(b, r->first_start);
        vs_sb_puts(b, " to ");
        put(b, r->last_end);
        vs_sb_puts(b, ")</span>");
    }
    vs_sb_printf(b, "; trainers %s in all</dd>", trainers);
}

/* validation, test and popularity rows of ndcg@100, recall@20, recall@50 */
static void put_best_metrics(vs_strbuf *b, const report *r, const cJSON *best) {
    static const char *const metrics[] = {"ndcg@100", "recall@20", "recall@50"};
    vs_sb_puts(b, "<table id=\"best-metrics\"><thead><tr><th></th>");
    for (int m = 0; m < 3; m++) vs_sb_printf(b, "<th class=\"n\">%s</th>", metrics[m]);
    vs_sb_puts(b, "</tr></thead><tbody>");
    static const char *const sets[] = {"val_", "test_"}, *const names[] = {"validation", "test"},
                             *const short_names[] = {"val.", "test"};
    for (int s = 0; s < 2; s++) {
        vs_sb_printf(b, "<tr data-row=\"%s\"><td>%s</td>", names[s], names[s]);
        for (int m = 0; m < 3; m++) {
            char key[32];
            snprintf(key, sizeof key, "%s%s", sets[s], metrics[m]);
            vs_sb_puts(b, "<td class=\"n\">");
            put_metric(b, top_attr_of(best, key));
            vs_sb_puts(b, "</td>");
        }
        vs_sb_puts(b, "</tr>");
    }
    const report_baseline *bl = &r->baseline;
    if (bl->known) {
        const vs_metrics *pm[2] = {&bl->val, &bl->test};
        for (int s = 0; s < 2; s++) {
            vs_sb_printf(b, "<tr class=\"pop\" data-row=\"popularity %s\"><td>popularity: %s</td>", names[s],
                         short_names[s]);
            double v[3] = {pm[s]->ndcg100, pm[s]->recall20, pm[s]->recall50};
            for (int m = 0; m < 3; m++) {
                vs_sb_puts(b, "<td class=\"n\">");
                put_metric(b, v[m]);
                vs_sb_puts(b, "</td>");
            }
            vs_sb_puts(b, "</tr>");
        }
    }
    vs_sb_puts(b, "</tbody></table>");
}

/* The parameters, best epoch and speed of the best trial, formatted as top's columns. */
static void put_best_params(vs_strbuf *b, const report *r, const cJSON *best) {
    const char *metric = report_metric(r);
    const char *attr = top_metric_attr(metric);
    top_column cols[64];
    top_ranked one = {best, 0};
    int n = top_make_columns(cols, 64, report_space_params(r), &one, 1, attr ? attr : "val_ndcg@100", metric);
    vs_sb_puts(b, "<dl id=\"best-params\">");
    for (int c = 0; c < n; c++) {
        if (!cols[c].param && strcmp(cols[c].header, "best_epoch") && strcmp(cols[c].header, "users_per_s")) continue;
        char *text = top_cell_text(&cols[c], best, 0);
        vs_sb_puts(b, "<dt>");
        put(b, cols[c].header);
        vs_sb_printf(b, "</dt><dd data-col=\"%s\">", cols[c].param ? "param" : cols[c].header);
        put(b, text);
        vs_sb_puts(b, "</dd>");
        free(text);
    }
    char took[32];
    results_duration(results_number(cJSON_GetObjectItem(best, "seconds")), took);
    vs_sb_printf(b, "<dt>time</dt><dd>%s</dd></dl>", took);
}

static void put_best(vs_strbuf *b, const report *r) {
    const cJSON *best = report_best_json(r);
    vs_sb_puts(b, "<div class=\"card\" id=\"best\">");
    if (best) {
        const report_trial *t = &r->t[r->best];
        vs_sb_printf(b, "<h3>Best trial: <span id=\"best-number\">%d</span></h3><div class=\"big\">"
                        "<span id=\"best-value\">", t->number);
        put_metric(b, t->values[0]);
        vs_sb_puts(b, "</span> <small>");
        put(b, r->objectives[0].name);
        if (r->n_objectives > 1) vs_sb_puts(b, " (the first objective)");
        vs_sb_puts(b, "</small></div>");
    } else {
        vs_sb_puts(b, "<h3>Best trial</h3><p>No COMPLETE trial yet.</p>");
    }
    if (best || r->baseline.known) put_best_metrics(b, r, best);
    if (best && r->baseline.known) {
        double ratio = top_attr_of(best, "val_ndcg@100") / r->baseline.val.ndcg100;
        if (isfinite(ratio))
            vs_sb_printf(b, "<p class=\"note\">Validation NDCG@100 %.2f&times; the popularity ranking's.</p>", ratio);
    }
    if (!r->baseline.known) {
        vs_sb_puts(b, "<p class=\"note\">No popularity baseline: ");
        put(b, r->baseline.note);
        vs_sb_puts(b, "</p>");
    }
    if (best) put_best_params(b, r, best);
    vs_sb_puts(b, "</div>");
}

static void put_headline(vs_strbuf *b, const report *r, const char *generated_at) {
    const char *name = results_string(r->sweep, "name");
    const char *description = results_string(r->study_attrs, "description");
    vs_sb_puts(b, "<header><h1>");
    put(b, name ? name : "?");
    vs_sb_puts(b, "</h1>");
    if (description) {
        vs_sb_puts(b, "<p class=\"sub\">");
        put(b, description);
        vs_sb_puts(b, "</p>");
    }
    vs_sb_puts(b, "<p class=\"sub\">vaesearch sweep report of <code>");
    put(b, r->db_path);
    vs_sb_printf(b, "</code>, made %s UTC</p></header>", generated_at);
    vs_sb_puts(b, "<section class=\"top\" id=\"summary\"><dl class=\"facts\">");
    put_dataset(b, r);
    put_objectives(b, r);
    put_space(b, r);
    put_states(b, r);
    put_times(b, r);
    vs_sb_puts(b, "</dl>");
    put_best(b, r);
    vs_sb_puts(b, "</section>");
}

/* ---- the charts ---- */

static void legend_item(vs_strbuf *b, const char *swatch, const char *text) {
    vs_sb_printf(b, "<span><span class=\"sw %s\"></span>%s</span>", swatch, text);
}

static void put_history(vs_strbuf *b, const report *r) {
    vs_sb_puts(b, "<h2>Optimisation history</h2><p class=\"legend\">");
    legend_item(b, "c-complete", "complete");
    legend_item(b, "c-pruned", "pruned (last validated value)");
    legend_item(b, "c-fail", "failed (no value)");
    legend_item(b, "line c-bsf", "best so far");
    legend_item(b, "ring", "best trial");
    vs_sb_puts(b, "</p>");
    report_plot_history(b, r);
}

/* Whether a trial in state has a curve (and so a line in the learning curves). */
static int any_curve(const report *r, int state) {
    for (int i = 0; i < r->n; i++)
        if (r->t[i].state == state && r->t[i].curve && i != r->best) return 1;
    return 0;
}

static void put_curves(vs_strbuf *b, const report *r) {
    vs_sb_puts(b, "<h2>Learning curves</h2><p class=\"legend\">");
    if (any_curve(r, RS_COMPLETE)) legend_item(b, "line c-complete", "complete");
    if (any_curve(r, RS_PRUNED)) {
        legend_item(b, "line c-pruned", "pruned");
        legend_item(b, "c-cut", "where pruned");
    }
    if (any_curve(r, RS_RUNNING)) legend_item(b, "line c-running", "running");
    if (any_curve(r, RS_WAITING)) legend_item(b, "line c-waiting", "waiting");
    if (any_curve(r, RS_FAIL)) legend_item(b, "line c-fail", "failed");
    if (r->best >= 0 && r->t[r->best].curve) legend_item(b, "line c-best", "best trial");
    vs_sb_puts(b, "</p>");
    report_plot_curves(b, r);
    vs_sb_puts(b, "<p class=\"note\">The validation metric of every validated epoch (the trials' intermediate "
                  "values). A pruned trial's curve stops where the pruner stopped it.</p>");
}

static void put_slices(vs_strbuf *b, const report *r) {
    if (!r->has_space) return;
    vs_sb_puts(b, "<h2>Parameters</h2><p class=\"note\">Each complete trial's objective against each parameter, "
                  "over the parameter's whole range in the space (log axis for a log parameter; a band per choice of "
                  "a categorical, the dots spread across it); the best trial ringed. A conditional parameter's slice "
                  "has the trials that have it.</p><div class=\"slices\">");
    for (int i = 0; i < r->space.n_params; i++) {
        if (r->space.params[i].kind == VS_PARAM_CONSTANT) continue;
        vs_sb_puts(b, "<div>");
        report_plot_slice(b, r, i);
        vs_sb_puts(b, "</div>");
    }
    vs_sb_puts(b, "</div>");
    int k = report_parallel_count(r);
    vs_sb_printf(b, "<h2>The best %d trials across parameters</h2><p class=\"legend\">", k);
    legend_item(b, "line c-best", "best");
    legend_item(b, "line c-q1", "top quarter");
    legend_item(b, "line c-q2", "second");
    legend_item(b, "line c-q3", "third");
    legend_item(b, "line c-q4", "fourth");
    vs_sb_puts(b, "</p>");
    report_plot_parallel(b, r);
    vs_sb_puts(b, "<p class=\"note\">Parallel coordinates: a line per trial through its value of each parameter "
                  "(each axis the parameter's range in the space) to its objective; a gap where the trial does not "
                  "have a parameter (its conditions left it out).</p>");
}

static void put_throughput(vs_strbuf *b, const report *r) {
    vs_sb_puts(b, "<h2>Throughput</h2><p class=\"legend\">");
    legend_item(b, "c-complete", "complete trial");
    legend_item(b, "ring", "best trial");
    vs_sb_puts(b, "</p>");
    report_plot_throughput(b, r);
    vs_sb_puts(b, "<p class=\"note\">Training users per second of each complete trial (the trainer's own figure) "
                  "against its objective: what a better score costs in speed.</p>");
}

static void put_pareto(vs_strbuf *b, const report *r) {
    if (r->n_objectives < 2) return;
    vs_sb_printf(b, "<h2>Pareto front</h2><p class=\"note\"><span id=\"front-size\">%d</span> of the complete trials "
                    "are on the front of the %d objectives: no other trial is as good in all of them and better in "
                    "one.</p><p class=\"legend\">", r->n_front, r->n_objectives);
    legend_item(b, "c-complete", "complete trial");
    legend_item(b, "c-front", "on the front");
    vs_sb_puts(b, "</p>");
    int n = r->n_objectives < 3 ? r->n_objectives : 3;
    for (int a = 0; a < n; a++)
        for (int c = a + 1; c < n; c++) report_plot_pareto(b, r, a, c);
}

/* ---- top's table ---- */

static void put_top(vs_strbuf *b, const report *r, int top_n) {
    const char *metric = report_metric(r);
    const char *attr = top_metric_attr(metric);
    top_ranked *ranked = vs_xcalloc((size_t)r->n + 1, sizeof *ranked);
    int n = attr ? top_rank_trials(r->trials, attr, 1, r->objectives[0].maximize, ranked) : 0;
    vs_sb_printf(b, "<h2>Top trials</h2><p class=\"note\">As <code>vaesearch top -n %d</code> prints them: the "
                    "complete trials by the objective, best first.</p>", top_n);
    if (n == 0) {
        vs_sb_puts(b, "<p>No COMPLETE trial yet.</p>");
        free(ranked);
        return;
    }
    if (n > top_n) n = top_n;
    top_column cols[64];
    int n_cols = top_make_columns(cols, 64, report_space_params(r), ranked, n, attr, metric);
    vs_sb_puts(b, "<div class=\"scroll\"><table id=\"top\"><thead><tr>");
    for (int c = 0; c < n_cols; c++) {
        vs_sb_printf(b, "<th%s>", cols[c].is_number ? " class=\"n\"" : "");
        put(b, cols[c].header);
        vs_sb_puts(b, "</th>");
    }
    vs_sb_puts(b, "</tr></thead><tbody>");
    for (int i = 0; i < n; i++) {
        vs_sb_puts(b, "<tr>");
        for (int c = 0; c < n_cols; c++) {
            char *text = top_cell_text(&cols[c], ranked[i].trial, 0);
            vs_sb_printf(b, "<td%s>", cols[c].is_number ? " class=\"n\"" : "");
            put(b, text);
            vs_sb_puts(b, "</td>");
            free(text);
        }
        vs_sb_puts(b, "</tr>");
    }
    vs_sb_puts(b, "</tbody></table></div>");
    free(ranked);
}

void report_page_write(vs_strbuf *b, const report *r, int top_n, const char *generated_at) {
    const char *name = results_string(r->sweep, "name");
    vs_sb_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>");
    put(b, name ? name : "?");
    vs_sb_puts(b, ": vaesearch report</title><style>");
    vs_sb_puts(b, style_sheet);
    vs_sb_puts(b, "</style></head>\n<body>\n");
    put_headline(b, r, generated_at);
    vs_sb_puts(b, "\n");
    if (r->n == 0) {
        vs_sb_puts(b, "<p>No trials yet.</p>");
    } else {
        put_history(b, r);
        put_curves(b, r);
        if (r->best >= 0) {   /* these draw COMPLETE trials only */
            put_slices(b, r);
            put_throughput(b, r);
            put_pareto(b, r);
        } else {
            vs_sb_puts(b, "<h2>Parameters, throughput</h2><p>No COMPLETE trial yet.</p>");
        }
        put_top(b, r, top_n);
    }
    vs_sb_puts(b, "\n<footer>Made by <code>vaesearch report</code>. Numbers as <code>vaesearch top</code> prints "
                  "them; charts drawn from the database's values rounded to the drawing's resolution. The popularity "
                  "baseline ranks items by their number of training users.</footer>\n</body></html>\n");
}
