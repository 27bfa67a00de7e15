/* gen_paper_data: files of the real sizes and layouts of two of the paper's datasets, for
 * measuring `vaesearch prepare` on them (bench_prepare_paper.sh) without the real files.
 *
 *   gen_paper_data netflix DIR [--scale F] [--seed S]
 *       DIR/mv_0000001.txt .. mv_0017770.txt as the Netflix Prize's training_set/: a
 *       "MOVIEID:" line, then "CustomerID,Rating,YYYY-MM-DD" lines; 100,480,507 ratings
 *       by 480,189 customers (ids spread over 1..2,649,429, as the real ones are).
 *   gen_paper_data msd FILE [--scale F] [--seed S]
 *       FILE as the Million Song Dataset's train_triplets.txt: "user<TAB>song<TAB>plays",
 *       40-hex-digit user ids, 18-character song ids, grouped by user; 48,373,586
 *       triplets, 1,019,318 users, 384,546 songs (about 3 GB).
 *
 * --scale F (a quick, smaller run) multiplies the number of lines by F and the numbers of
 * users and items so that the density stays the real one (Netflix: both by sqrt(F);
 * MSD: users by F, songs by sqrt(F), so that users keep their real song counts). The
 * skew is the real data's in shape, not fitted: movie sizes log-normal with the real
 * median (561 ratings) and largest (232,944), customers' activity log-normal, ratings
 * 1-5 in the real proportions; users' song counts log-normal from 10 up (median 27),
 * song popularity log-normal (sigma 2: about 11% of the songs have 200 listeners or
 * more and hold three quarters of the plays, near what the paper's filter kept: 41,140
 * songs, 33.6 M of the 48.4 M triplets after both filters), play counts mostly 1 with
 * a long tail. Each movie's customers, and each user's songs, are distinct.
 * Deterministic in the seed. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/pcg.h"
#include "common/vs_error.h"

/* ---------------------------------------------------------------- sampling */

/* Walker's alias method: weighted draws in O(1). */
typedef struct alias_table {
    int64_t n;
    double *prob;
    int32_t *alias;
} alias_table;

static void alias_build(alias_table *t, const double *w, int64_t n) {
    t->n = n;
    t->prob = vs_xmalloc((size_t)n * sizeof *t->prob);
    t->alias = vs_xmalloc((size_t)n * sizeof *t->alias);
    int32_t *small = vs_xmalloc((size_t)n * sizeof *small), *large = vs_xmalloc((size_t)n * sizeof *large);
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += w[i];
    int64_t ns = 0, nl = 0;
    for (int64_t i = 0; i < n; i++) {
        t->prob[i] = w[i] * (double)n / sum;
        t->alias[i] = (int32_t)i;
        if (t->prob[i] < 1) small[ns++] = (int32_t)i;
        else large[nl++] = (int32_t)i;
    }
    while (ns > 0 && nl > 0) {
        int32_t s = small[--ns], l = large[nl - 1];
        t->alias[s] = l;
        t->prob[l] -= 1 - t->prob[s];
        if (t->prob[l] < 1) {
            nl--;
            small[ns++] = l;
        }
    }
    while (nl > 0) t->prob[large[--nl]] = 1;   /* rounding leftovers */
    while (ns > 0) t->prob[small[--ns]] = 1;
    free(small);
    free(large);
}

static int32_t alias_draw(const alias_table *t, vs_pcg32 *g) {
    int32_t i = (int32_t)vs_pcg32_bounded(g, (uint32_t)t->n);
    return vs_pcg32_unit_double(g) < t->prob[i] ? i : t->alias[i];
}

static void alias_free(alias_table *t) {
    free(t->prob);
    free(t->alias);
}

/* n log-normal sizes with the given median and spread, clipped to [lo, hi] and scaled
 * (a few rounds, as clipping moves the sum) so that they add up to total. */
static void lognormal_sizes(vs_pcg32 *g, int64_t *size, int64_t n, double median, double sigma, int64_t lo,
                            int64_t hi, int64_t total) {
    double *x = vs_xmalloc((size_t)n * sizeof *x);
    for (int64_t i = 0; i < n; i++) x[i] = median * exp(sigma * vs_pcg32_normal(g));
    double scale = 1;
    for (int round = 0; round < 30; round++) {
        double sum = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = fmin(fmax(x[i] * scale, (double)lo), (double)hi);
            sum += v;
        }
        scale *= (double)total / sum;
    }
    int64_t sum = 0, largest = 0;
    for (int64_t i = 0; i < n; i++) {
        size[i] = llround(fmin(fmax(x[i] * scale, (double)lo), (double)hi));
        sum += size[i];
        if (size[i] > size[largest]) largest = i;
    }
    /* The rounding's remainder goes to (or comes from) the spread of sizes below hi. */
    for (int64_t i = 0; sum != total && i < n; i++) {
        int64_t j = (largest + i) % n;
        int64_t room = sum < total ? hi - size[j] : size[j] - lo;
        int64_t move = llabs(total - sum) < room ? llabs(total - sum) : room;
        size[j] += sum < total ? move : -move;
        sum += sum < total ? move : -move;
    }
    free(x);
}

/* ---------------------------------------------------------------- output */

typedef struct out_file {
    FILE *f;
    char *buf;
    size_t len, cap;
    int64_t bytes, lines;
} out_file;

static void out_flush(out_file *o) {
    if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len) {
        fprintf(stderr, "gen_paper_data: write failed: %s\n", strerror(errno));
        exit(1);
    }
    o->bytes += (int64_t)o->len;
    o->len = 0;
}

/* Room for one more line. */
static char *out_room(out_file *o, size_t need) {
    if (o->len + need > o->cap) out_flush(o);
    return o->buf + o->len;
}

static int put_uint(char *p, uint64_t v) {
    char tmp[24];
    int n = 0;
    do tmp[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
    for (int i = 0; i < n; i++) p[i] = tmp[n - 1 - i];
    return n;
}

static FILE *open_out(const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "gen_paper_data: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return f;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------------------------------------------------------- netflix */

static void gen_netflix(const char *dir, double scale, uint64_t seed) {
    const double root = sqrt(scale);
    const int64_t movies = llround(17770 * root), users = llround(480189 * root);
    const int64_t ratings = llround(100480507 * scale), largest = llround(232944 * root);
    /* the real shares of 1 to 5 stars */
    static const double stars[5] = {0.046, 0.101, 0.287, 0.336, 0.230};
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_paper_data: %s: %s\n", dir, strerror(errno));
        exit(1);
    }
    vs_pcg32 g = vs_stream(seed, VS_RNG_SYNTH, 1000, 0);
    int64_t *size = vs_xmalloc((size_t)movies * sizeof *size);
    lognormal_sizes(&g, size, movies, 561 * root, 2.15, 3, largest < users ? largest : users, ratings);
    double *activity = vs_xmalloc((size_t)users * sizeof *activity);
    for (int64_t u = 0; u < users; u++) activity[u] = exp(1.3 * vs_pcg32_normal(&g));
    alias_table pick;
    alias_build(&pick, activity, users);
    free(activity);

    int32_t *stamp = vs_xcalloc((size_t)users, sizeof *stamp);
    out_file o = {.cap = 1 << 20};
    o.buf = vs_xmalloc(o.cap);
    char path[4096];
    for (int64_t m = 1; m <= movies; m++) {
        snprintf(path, sizeof path, "%s/mv_%07lld.txt", dir, (long long)m);
        o.f = open_out(path);
        char *p = out_room(&o, 32);
        int n = put_uint(p, (uint64_t)m);
        p[n++] = ':';
        p[n++] = '\n';
        o.len += (size_t)n;
        o.lines++;
        vs_pcg32 mg = vs_stream(seed, VS_RNG_SYNTH, 1001, (uint64_t)m);
        int64_t got = 0, attempts = 0, next_free = 0;
        while (got < size[m - 1]) {
            int32_t u;
            if (attempts++ < 20 * size[m - 1]) {
                u = alias_draw(&pick, &mg);
                if (stamp[u] == m) continue;
            } else {   /* the movie wants most customers: take the ones left, in order */
                while (stamp[next_free] == m) next_free++;
                u = (int32_t)next_free;
            }
            stamp[u] = (int32_t)m;
            got++;
            double r = vs_pcg32_unit_double(&mg);
            int star = 0;
            while (star < 4 && r >= stars[star]) r -= stars[star++];
            uint32_t day = vs_pcg32_bounded(&mg, 7 * 365);   /* 1999 to 2005 */
            p = out_room(&o, 48);
            n = put_uint(p, 1 + (uint64_t)u * 2649429 / (uint64_t)users);
            n += sprintf(p + n, ",%d,%04u-%02u-%02u\n", star + 1, 1999 + day / 365, 1 + day % 365 / 31 % 12,
                         1 + day % 28);
            o.len += (size_t)n;
            o.lines++;
        }
        out_flush(&o);
        fclose(o.f);
    }
    printf("netflix: %lld files, %lld lines, %lld ratings, %lld customers, %.1f MB in %s\n", (long long)movies,
           (long long)o.lines, (long long)(o.lines - movies), (long long)users, (double)o.bytes / 1e6, dir);
    free(o.buf);
    free(stamp);
    free(size);
    alias_free(&pick);
}

/* ---------------------------------------------------------------- msd */

/* 40 hex digits: a user id as the Taste Profile writes them (unique: the first 16 digits
 * are a bijection of the index). */
static void user_id(uint64_t u, uint64_t seed, char *out) {
    static const char hex[] = "0123456789abcdef";
    uint64_t h[3] = {vs_mix64(u ^ seed), vs_mix64(u + 0x1234567ULL), vs_mix64(u * 3 + 7)};
    for (int i = 0; i < 40; i++) out[i] = hex[(h[i / 16] >> (4 * (i % 16))) & 15];
}

/* "SO" and 16 characters of [A-Z0-9] (unique: 64 bits of a bijection, in base 36). */
static void song_id(uint64_t s, uint64_t seed, char *out) {
    static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    uint64_t h = vs_mix64(s ^ vs_mix64(seed));
    out[0] = 'S', out[1] = 'O';
    for (int i = 17; i >= 2; i--) {
        out[i] = digits[h % 36];
        h /= 36;
    }
}

static void gen_msd(const char *path, double scale, uint64_t seed) {
    const int64_t users = llround(1019318 * scale), songs = llround(384546 * sqrt(scale));
    const int64_t triplets = llround(48373586 * scale);
    vs_pcg32 g = vs_stream(seed, VS_RNG_SYNTH, 2000, 0);
    int64_t *size = vs_xmalloc((size_t)users * sizeof *size);
    lognormal_sizes(&g, size, users, 27, 1.06, 10, songs / 2 < 4400 ? songs / 2 : 4400, triplets);
    double *weight = vs_xmalloc((size_t)songs * sizeof *weight);
    for (int64_t s = 0; s < songs; s++) weight[s] = exp(2.0 * vs_pcg32_normal(&g));
    alias_table pick;
    alias_build(&pick, weight, songs);
    free(weight);

    char *song_ids = vs_xmalloc((size_t)songs * 18);
    for (int64_t s = 0; s < songs; s++) song_id((uint64_t)s, seed, song_ids + 18 * s);
    int32_t *stamp = vs_xcalloc((size_t)songs, sizeof *stamp);
    out_file o = {.cap = 1 << 20, .f = open_out(path)};
    o.buf = vs_xmalloc(o.cap);
    for (int64_t u = 0; u < users; u++) {
        vs_pcg32 ug = vs_stream(seed, VS_RNG_SYNTH, 2001, (uint64_t)u);
        char uid[40];
        user_id((uint64_t)u, seed, uid);
        for (int64_t got = 0; got < size[u];) {
            int32_t s = alias_draw(&pick, &ug);
            if (stamp[s] == u + 1) continue;
            stamp[s] = (int32_t)(u + 1);
            got++;
            double plays = floor(pow(1 - vs_pcg32_unit_double(&ug), -0.7));   /* mostly 1, a long tail */
            char *p = out_room(&o, 80);
            memcpy(p, uid, 40);
            p[40] = '\t';
            memcpy(p + 41, song_ids + 18 * s, 18);
            p[59] = '\t';
            int n = 60 + put_uint(p + 60, (uint64_t)fmin(plays, 9667));
            p[n++] = '\n';
            o.len += (size_t)n;
            o.lines++;
        }
    }
    out_flush(&o);
    fclose(o.f);
    printf("msd: %lld triplets, %lld users, %lld songs, %.1f MB in %s\n", (long long)o.lines, (long long)users,
           (long long)songs, (double)o.bytes / 1e6, path);
    free(o.buf);
    free(stamp);
    free(song_ids);
    free(size);
    alias_free(&pick);
}

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[1], "netflix") && strcmp(argv[1], "msd"))) {
        fprintf(stderr, "usage: gen_paper_data netflix DIR | msd FILE [--scale F] [--seed S]\n");
        return 2;
    }
    double scale = 1;
    uint64_t seed = 1;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--scale")) scale = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed")) seed = strtoull(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "gen_paper_data: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!(scale > 0 && scale <= 1)) {
        fprintf(stderr, "gen_paper_data: --scale must be in (0, 1]\n");
        return 2;
    }
    double t0 = now();
    if (!strcmp(argv[1], "netflix")) gen_netflix(argv[2], scale, seed);
    else gen_msd(argv[2], scale, seed);
    printf("generated in %.1f s\n", now() - t0);
    return 0;
}
