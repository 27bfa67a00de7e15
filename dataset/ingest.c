/* ingest: reads interaction files (MovieLens ratings.csv / ratings.dat / u.data, files
 * laid out the same with a count or weight such as the Million Song Dataset's
 * triplets, the Netflix Prize's per-movie files, or plain "user item" pairs) into
 * interned (user, item) index pairs. Several files, and folders of files, are read
 * one after another into the same pairs.
 *
 * The reader is built for files of the real sizes (MovieLens-20M's 500 MB
 * ratings.csv, Netflix's 100 M lines, MSD's 3 GB): files are streamed in large
 * blocks through one buffer, lines are split by hand (no sscanf), values are parsed by
 * a small decimal parser with an exact fast path, and ids are interned in an
 * open-addressing hash table, so memory grows with the distinct ids and the kept
 * pairs, never with the text. The accepted syntax is specified in docs/prepare.md. */
#define _POSIX_C_SOURCE 200809L

#include "ingest.h"
#include "input_files.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --------------------------------------------------------------- formats */

static const char *const format_names[] = {"auto", "csv", "dat", "tsv", "pairs", "netflix"};

const char *vs_format_name(vs_format f) {
    if ((int)f < 0 || (size_t)f >= sizeof format_names / sizeof format_names[0]) return "?";
    return format_names[f];
}

int vs_format_parse(const char *name, vs_format *out) {
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *out = (vs_format)i;
            return 0;
        }
    }
    return -1;
}

const char *vs_values_name(vs_values v) {
    switch (v) {
    case VS_VALUES_AUTO: return "auto";
    case VS_VALUES_RATING: return "rating";
    case VS_VALUES_COUNT: return "count";
    }
    return "?";
}

void vs_ingest_opts_default(vs_ingest_opts *o) {
    o->format = VS_FORMAT_AUTO;
    o->values = VS_VALUES_AUTO;
    o->min_rating = 3.5;
}

static int compare_doubles(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

vs_values vs_values_detect(double *v, int64_t n, char *reason, size_t reason_size) {
    char unused[8];
    if (!reason) reason = unused, reason_size = sizeof unused;
    if (n <= 0) {
        snprintf(reason, reason_size, "no values");
        return VS_VALUES_RATING;
    }
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    double lo = v[0], hi = v[n - 1], median = v[(n - 1) / 2];
    int whole = 1;
    for (int64_t i = 0; i < n && whole; i++) whole = v[i] == floor(v[i]);
    if (hi > VS_RATING_SCALE_MAX) {
        snprintf(reason, reason_size, "from the first %lld records: values up to %.10g, beyond a rating scale (0.5 to %g)",
                 (long long)n, hi, VS_RATING_SCALE_MAX);
        return VS_VALUES_COUNT;
    }
    if (whole && lo >= 0 && median >= 1 && hi >= 5 * median) {
        snprintf(reason, reason_size, "from the first %lld records: whole numbers %.10g to %.10g with median %.10g, a long tail",
                 (long long)n, lo, hi, median);
        return VS_VALUES_COUNT;
    }
    snprintf(reason, reason_size, "from the first %lld records: %s %.10g to %.10g with median %.10g, a rating scale",
             (long long)n, whole ? "whole numbers" : "values", lo, hi, median);
    return VS_VALUES_RATING;
}

/* ---------------------------------------------------------- line reader */

#define READ_BLOCK (4u << 20)

typedef struct line_reader {
    int fd;
    char *buf;
    size_t cap, start, end;   /* unread bytes are buf[start..end) */
    int eof;
} line_reader;

/* Fetches more bytes, keeping the unfinished line. 0 ok, -1 read error. */
static int reader_fill(line_reader *r) {
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end == r->cap) {   /* a line longer than the buffer */
        r->cap *= 2;
        r->buf = vs_xrealloc(r->buf, r->cap);
    }
    for (;;) {
        ssize_t got = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return -1;
        if (got == 0) r->eof = 1;
        r->end += (size_t)got;
        return 0;
    }
}

/* Next line without its "\n" or "\r\n". 1: a line, 0: end of file, -1: read error. */
static int reader_next(line_reader *r, const char **line, size_t *len) {
    for (;;) {
        char *p = r->start < r->end ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
        size_t stop;
        if (p) {
            stop = (size_t)(p - r->buf);
        } else if (r->eof) {
            if (r->start == r->end) return 0;
            stop = r->end;   /* last line without a final newline */
        } else {
            if (reader_fill(r) < 0) return -1;
            continue;
        }
        *line = r->buf + r->start;
        *len = stop - r->start;
        if (*len > 0 && (*line)[*len - 1] == '\r') (*len)--;
        r->start = p ? stop + 1 : stop;
        return 1;
    }
}

/* --------------------------------------------------------- line parsing */

#define MAX_FIELDS 5   /* we keep up to 5 field views; more are only counted */

typedef struct fields {
    int n;
    const char *s[MAX_FIELDS];
    size_t len[MAX_FIELDS];
} fields;

static int is_blank_char(char c) { return c == ' ' || c == '\t'; }

static void trim(const char **s, size_t *len) {
    while (*len && is_blank_char(**s)) (*s)++, (*len)--;
    while (*len && is_blank_char((*s)[*len - 1])) (*len)--;
}

static int is_blank_line(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (!is_blank_char(s[i])) return 0;
    return 1;
}

/* Finds sep in s; NULL if absent. */
static const char *find_sep(const char *s, size_t len, const char *sep, size_t seplen) {
    if (seplen == 1) return memchr(s, sep[0], len);
    for (size_t i = 0; i + seplen <= len; i++)
        if (s[i] == sep[0] && memcmp(s + i, sep, seplen) == 0) return s + i;
    return NULL;
}

/* Splits on sep, trimming spaces and tabs around each field (a tab separator
 * trims only spaces, as tabs delimit there). */
static void split_on(const char *s, size_t len, const char *sep, fields *f) {
    size_t seplen = strlen(sep);
    f->n = 0;
    for (;;) {
        const char *hit = find_sep(s, len, sep, seplen);
        size_t flen = hit ? (size_t)(hit - s) : len;
        if (f->n < MAX_FIELDS) {
            const char *fs = s;
            size_t fl = flen;
            trim(&fs, &fl);
            f->s[f->n] = fs;
            f->len[f->n] = fl;
        }
        f->n++;
        if (!hit) return;
        s = hit + seplen;
        len -= flen + seplen;
    }
}

/* Splits on runs of spaces and tabs. */
static void split_whitespace(const char *s, size_t len, fields *f) {
    size_t i = 0;
    f->n = 0;
    for (;;) {
        while (i < len && is_blank_char(s[i])) i++;
        if (i == len) return;
        size_t begin = i;
        while (i < len && !is_blank_char(s[i])) i++;
        if (f->n < MAX_FIELDS) {
            f->s[f->n] = s + begin;
            f->len[f->n] = i - begin;
        }
        f->n++;
    }
}

static const char *format_separator(vs_format f) {
    switch (f) {
    case VS_FORMAT_CSV:
    case VS_FORMAT_NETFLIX: return ",";
    case VS_FORMAT_DAT: return "::";
    case VS_FORMAT_TSV: return "\t";
    default: return NULL;
    }
}

static void split_line(vs_format fmt, const char *s, size_t len, fields *f) {
    if (fmt == VS_FORMAT_PAIRS) {
        /* A comma anywhere makes it a comma pair; otherwise whitespace. */
        if (memchr(s, ',', len)) split_on(s, len, ",", f);
        else split_whitespace(s, len, f);
    } else {
        split_on(s, len, format_separator(fmt), f);
    }
}

/* Which columns of a record hold what, by format: the item column is -1 in Netflix
 * files, where the item is the movie of the last 'MOVIEID:' line; the value column is
 * -1 for pairs. */
typedef struct layout {
    int min_fields, max_fields;   /* fields a record may have (max -1: any number) */
    int user, item, value;
} layout;

static layout format_layout(vs_format f) {
    switch (f) {
    case VS_FORMAT_PAIRS: return (layout){2, -1, 0, 1, -1};
    case VS_FORMAT_NETFLIX: return (layout){2, 3, 0, -1, 1};
    default: return (layout){3, 4, 0, 1, 2};
    }
}

/* A Netflix 'MOVIEID:' line: an id, then a colon that ends the line (spaces and tabs
 * around it aside), and no comma. Sets the id (trimmed; possibly empty). */
static int is_movie_line(const char *s, size_t len, const char **id, size_t *id_len) {
    trim(&s, &len);
    if (len == 0 || s[len - 1] != ':' || memchr(s, ',', len)) return 0;
    *id = s;
    *id_len = len - 1;
    trim(id, id_len);
    return 1;
}

/* AUTO: decided by the first non-blank line (docs/prepare.md). */
static vs_format detect_format(const char *s, size_t len) {
    fields f;
    const char *id;
    size_t id_len;
    /* "1:" (not "1::", which a dat line could end with) */
    if (is_movie_line(s, len, &id, &id_len) && id_len > 0 && id[id_len - 1] != ':') return VS_FORMAT_NETFLIX;
    if (find_sep(s, len, "::", 2)) return VS_FORMAT_DAT;
    if (memchr(s, '\t', len)) {
        split_on(s, len, "\t", &f);
        return f.n >= 3 ? VS_FORMAT_TSV : VS_FORMAT_PAIRS;
    }
    if (memchr(s, ',', len)) {
        split_on(s, len, ",", &f);
        return f.n >= 3 ? VS_FORMAT_CSV : VS_FORMAT_PAIRS;
    }
    return VS_FORMAT_PAIRS;
}

/* Powers of ten that doubles hold exactly, for the exact fast path below. */
static const double exact_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Parses a decimal number: [+-] digits [. digits] [(e|E) [+-] digits], at least
 * one mantissa digit, nothing else (no "nan", "inf" or hex). 0 ok, -1 not a number.
 * The result is correctly rounded: exactly via one multiply/divide when the mantissa
 * has <= 15 digits and the power of ten is <= 22, else by strtod. */
static int parse_decimal(const char *s, size_t len, double *out) {
    size_t i = 0;
    int negative = 0, digits = 0, frac_digits = 0, sig_digits = 0;
    uint64_t mant = 0;
    if (i < len && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        if (mant || s[i] != '0') sig_digits++;
        if (sig_digits <= 19) mant = mant * 10 + (uint64_t)(s[i] - '0');
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++, frac_digits++) {
            if (mant || s[i] != '0') sig_digits++;
            if (sig_digits <= 19) mant = mant * 10 + (uint64_t)(s[i] - '0');
        }
    }
    if (digits == 0) return -1;
    long exp10 = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        int exp_negative = 0, exp_digits = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) exp_negative = s[i++] == '-';
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, exp_digits++)
            if (exp10 < 100000) exp10 = exp10 * 10 + (s[i] - '0');
        if (exp_digits == 0) return -1;
        if (exp_negative) exp10 = -exp10;
    }
    if (i != len) return -1;
    long scale = exp10 - frac_digits;
    double v;
    if (sig_digits <= 15 && scale >= -22 && scale <= 22) {
        v = (double)mant;
        v = scale < 0 ? v / exact_pow10[-scale] : v * exact_pow10[scale];
    } else {
        char tmp[128];
        char *copy = len < sizeof tmp ? tmp : vs_xmalloc(len + 1);
        memcpy(copy, s, len);
        copy[len] = '\0';
        v = strtod(copy, NULL);
        if (copy != tmp) free(copy);
        negative = 0;   /* strtod saw the sign */
    }
    *out = negative ? -v : v;
    return 0;
}

/* ---------------------------------------------------------------- ingest */

typedef struct ingest_state {
    const vs_ingest_opts *opts;
    vs_format fmt;
    vs_values values;        /* RATING or COUNT once decided; AUTO while sampling */
    vs_interactions *out;
    vs_ingest_stats *st;
    double *sample;          /* sampling pass: the first records' values, nothing interned */
    int64_t n_sample;
    line_reader reader;      /* one buffer for every file */
    /* The file being read. */
    const char *path;
    int64_t line;            /* its line number */
    int seen_data_line;      /* a non-blank line was seen (header only before it) */
    char *pending;           /* pairs: the first non-blank line, until the next tells if it is a header */
    size_t pending_len;
    int64_t pending_line;
    /* Netflix: the movie of the last 'MOVIEID:' line of this file, interned at its
     * first kept record (ids of dropped records are never interned). */
    int has_movie;
    char *movie;
    size_t movie_len, movie_cap;
    int32_t movie_idx;       /* -1 until interned */
    /* MovieLens and MSD files are grouped by user: remember the last user to skip lookups. */
    char last_user[64];
    size_t last_user_len;
    int32_t last_user_idx;
} ingest_state;

/* Shows a field in a message, shortened so one bad line cannot flood the terminal. */
#define SHOWN(len) ((int)((len) > 40 ? 40 : (len)))

static int intern_user(ingest_state *s, const char *id, size_t len, vs_error *err) {
    if (s->last_user_idx >= 0 && len == s->last_user_len && memcmp(id, s->last_user, len) == 0)
        return s->last_user_idx;
    int32_t idx = vs_idmap_intern(&s->out->users, id, len);
    if (idx < 0) return vs_errorf(err, "more than %d distinct user ids", INT32_MAX);
    if (len <= sizeof s->last_user) {
        memcpy(s->last_user, id, len);
        s->last_user_len = len;
        s->last_user_idx = idx;
    }
    return idx;
}

static int check_field_count(const ingest_state *s, const fields *f, vs_error *err) {
    layout l = format_layout(s->fmt);
    if (f->n >= l.min_fields && (l.max_fields < 0 || f->n <= l.max_fields)) return 0;
    if (s->fmt == VS_FORMAT_PAIRS)   /* user, item, and any columns after them, ignored */
        return vs_errorf(err, "expected 2 fields (user item, then any others) separated by whitespace or ',', "
                              "found %d",
                         f->n);
    if (s->fmt == VS_FORMAT_NETFLIX)
        return vs_errorf(err, "expected a 'MOVIEID:' line or 3 fields separated by ',' (customer, rating, "
                              "date; the date may be left out), found %d",
                         f->n);
    const char *sep = format_separator(s->fmt);
    return vs_errorf(err, "expected 4 fields separated by '%s' (user, item, rating, timestamp; "
                          "the timestamp may be left out), found %d",
                     s->fmt == VS_FORMAT_TSV ? "\\t" : sep, f->n);
}

/* The value of a record: range kept for the report; with ratings AUTO detected, a value
 * beyond any rating scale means the first records misled the detection, and rather
 * than filter counts as ratings, reading stops here and asks. */
static int note_value(ingest_state *s, double value, vs_error *err) {
    vs_ingest_stats *st = s->st;
    if (st->records == 0 || value < st->value_min) st->value_min = value;
    if (st->records == 0 || value > st->value_max) st->value_max = value;
    if (s->values == VS_VALUES_RATING && st->values_detected && value > VS_RATING_SCALE_MAX)
        return vs_errorf(err,
                         "value %.10g is beyond the rating scale detected (%s); say what the column is: a rating "
                         "(--min-rating X keeps rating > X) or a count (--all-rows keeps every row)",
                         value, st->values_reason);
    return 0;
}

/* Netflix: a 'MOVIEID:' line sets the movie of the records after it. 1 when the line
 * was one, 0 when it is a record, -1 on error. */
static int netflix_movie(ingest_state *s, const char *line, size_t len, vs_error *err) {
    const char *id;
    size_t id_len;
    if (!is_movie_line(line, len, &id, &id_len)) {
        if (s->has_movie) return 0;
        return vs_errorf(err, "a rating line before any 'MOVIEID:' line (a Netflix file starts with the id of "
                              "the movie its ratings are for, as '1:')");
    }
    if (id_len == 0) return vs_errorf(err, "empty movie id in a 'MOVIEID:' line");
    if (id_len > s->movie_cap) {
        s->movie_cap = id_len;
        s->movie = vs_xrealloc(s->movie, s->movie_cap);
    }
    memcpy(s->movie, id, id_len);
    s->movie_len = id_len;
    s->movie_idx = -1;
    s->has_movie = 1;
    s->st->item_lines++;
    return 1;
}

static int32_t intern_item(ingest_state *s, const fields *f, int column, vs_error *err) {
    int32_t item;
    if (column >= 0) {
        item = vs_idmap_intern(&s->out->items, f->s[column], f->len[column]);
    } else {   /* Netflix: the current movie */
        if (s->movie_idx < 0) s->movie_idx = vs_idmap_intern(&s->out->items, s->movie, s->movie_len);
        item = s->movie_idx;
    }
    if (item < 0) return vs_errorf(err, "more than %d distinct item ids", INT32_MAX);
    return item;
}

/* Parses one non-blank line; the caller prefixes errors with path:line. In csv, dat and
 * tsv files the first such line is a header when its value is not a number. */
static int ingest_line(ingest_state *s, const char *line, size_t len, vs_error *err) {
    if (s->fmt == VS_FORMAT_NETFLIX) {
        int movie = netflix_movie(s, line, len, err);
        if (movie) return movie < 0 ? -1 : 0;
    }
    fields f;
    int first = !s->seen_data_line;
    s->seen_data_line = 1;
    split_line(s->fmt, line, len, &f);
    if (check_field_count(s, &f, err) < 0) return -1;
    layout l = format_layout(s->fmt);

    int keep = 1;
    double value = 0;
    if (l.value >= 0 && parse_decimal(f.s[l.value], f.len[l.value], &value) < 0) {
        if (first && s->fmt != VS_FORMAT_NETFLIX) {   /* the header line */
            s->st->header++;
            return 0;
        }
        if (f.len[l.value] == 0) return vs_errorf(err, "empty rating");
        return vs_errorf(err, "rating '%.*s' is not a number", SHOWN(f.len[l.value]), f.s[l.value]);
    }
    if (f.len[l.user] == 0) return vs_errorf(err, "empty user id");
    if (l.item >= 0 && f.len[l.item] == 0) return vs_errorf(err, "empty item id");
    if (s->sample) {   /* the sampling pass: values only */
        s->sample[s->n_sample++] = value;
        s->st->records++;
        return 0;
    }
    if (l.value >= 0) {
        if (note_value(s, value, err)) return -1;
        keep = s->values == VS_VALUES_COUNT || value > s->opts->min_rating;
    }
    s->st->records++;
    if (!keep) return 0;

    int user = intern_user(s, f.s[l.user], f.len[l.user], err);
    if (user < 0) return -1;
    int32_t item = intern_item(s, &f, l.item, err);
    if (item < 0) return -1;
    vs_interactions_push(s->out, user, item);
    s->st->kept++;
    return 0;
}

static int is_number_field(const fields *f, int i) {
    double unused;
    return i < f->n && i < MAX_FIELDS && parse_decimal(f->s[i], f->len[i], &unused) == 0;
}

/* Pairs have no value to tell a header by: the first line is a header when a column
 * that is a number on the second line is not one on the first ("userID artistID
 * weight" over "2 51 13883"). */
static int pairs_header(const char *first, size_t first_len, const char *second, size_t second_len) {
    fields a, b;
    split_line(VS_FORMAT_PAIRS, first, first_len, &a);
    split_line(VS_FORMAT_PAIRS, second, second_len, &b);
    for (int i = 0; i < a.n && i < b.n && i < MAX_FIELDS; i++)
        if (is_number_field(&b, i) && !is_number_field(&a, i)) return 1;
    return 0;
}

/* The pending first line of a pairs file, as data; errors name its own line. */
static int ingest_pending(ingest_state *s, vs_error *err) {
    char *line = s->pending;
    s->pending = NULL;
    int rc = ingest_line(s, line, s->pending_len, err);
    free(line);
    return rc < 0 ? vs_error_prefix(err, "%s:%lld", s->path, (long long)s->pending_line) : 0;
}

/* A non-blank line. In a pairs file the first is held back until the second. */
static int ingest_next(ingest_state *s, const char *line, size_t len, vs_error *err) {
    if (s->fmt == VS_FORMAT_PAIRS && !s->seen_data_line && !s->pending) {
        s->pending = vs_xmalloc(len + 1);
        memcpy(s->pending, line, len);
        s->pending_len = len;
        s->pending_line = s->line;
        return 0;
    }
    if (s->pending) {
        if (pairs_header(s->pending, s->pending_len, line, len)) {
            s->st->header++;
            s->seen_data_line = 1;
            free(s->pending);
            s->pending = NULL;
        } else if (ingest_pending(s, err)) {
            return -1;
        }
    }
    if (ingest_line(s, line, len, err) < 0) return vs_error_prefix(err, "%s:%lld", s->path, (long long)s->line);
    return 0;
}

/* The sampling pass has what it needs: its sample, or the knowledge that the files are
 * pairs (no value column). */
static int sample_done(const ingest_state *s) {
    return s->sample && (s->fmt == VS_FORMAT_PAIRS || s->n_sample == VS_VALUES_SAMPLE);
}

/* Reads every line of the open file (the sampling pass: until sample_done). */
static int ingest_lines(ingest_state *s, vs_error *err) {
    const char *line;
    size_t len;
    int got;
    while ((got = reader_next(&s->reader, &line, &len)) > 0) {
        s->line++;
        s->st->lines++;
        if (s->line == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
            line += 3;   /* a UTF-8 byte order mark, as spreadsheet exports write */
            len -= 3;
        }
        if (is_blank_line(line, len)) continue;
        if (s->fmt == VS_FORMAT_AUTO) s->fmt = detect_format(line, len);
        if (sample_done(s)) return 0;
        if (ingest_next(s, line, len, err) < 0) return -1;
    }
    if (got < 0) return vs_errorf(err, "%s: read failed: %s", s->path, strerror(errno));
    if (s->pending) return ingest_pending(s, err);   /* a one-line pairs file */
    return 0;
}

/* Reads one file; what a file's lines mean starts afresh in each (its header, a
 * Netflix file's movie). */
static int ingest_one_file(ingest_state *s, const char *path, vs_error *err) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return vs_errorf(err, "%s: %s", path, strerror(errno));
    s->path = path;
    s->line = 0;
    s->seen_data_line = 0;
    s->has_movie = 0;
    s->reader.fd = fd;
    s->reader.start = s->reader.end = 0;
    s->reader.eof = 0;
    s->st->files++;
    int rc = ingest_lines(s, err);
    free(s->pending);
    s->pending = NULL;
    close(fd);
    return rc;
}

/* One pass over the files. */
static int ingest_pass(ingest_state *s, const vs_input_files *files, vs_error *err) {
    s->last_user_idx = -1;
    s->reader.cap = READ_BLOCK;
    s->reader.buf = vs_xmalloc(s->reader.cap);
    int rc = 0;
    for (int64_t i = 0; i < files->n && rc == 0 && !sample_done(s); i++) rc = ingest_one_file(s, files->paths[i], err);
    free(s->reader.buf);
    free(s->movie);
    s->reader.buf = NULL;
    s->movie = NULL;
    s->movie_cap = 0;
    return rc;
}

/* AUTO: the value column's kind, from the first VS_VALUES_SAMPLE records (a pass that
 * stops there). Sets *fmt when it was AUTO too. */
static int detect_values(const vs_input_files *files, vs_format *fmt, vs_ingest_stats *st, vs_error *err) {
    vs_ingest_stats scratch;
    memset(&scratch, 0, sizeof scratch);
    ingest_state s = {.fmt = *fmt, .st = &scratch};
    s.sample = vs_xmalloc(VS_VALUES_SAMPLE * sizeof *s.sample);
    int rc = ingest_pass(&s, files, err);
    if (rc == 0 && s.fmt != VS_FORMAT_PAIRS && s.fmt != VS_FORMAT_AUTO) {
        st->values = vs_values_detect(s.sample, s.n_sample, st->values_reason, sizeof st->values_reason);
        st->values_detected = 1;
    }
    free(s.sample);
    *fmt = s.fmt;
    return rc;
}

int vs_ingest_files(const char *const *inputs, int n_inputs, const vs_ingest_opts *o,
                    vs_interactions *out, vs_ingest_stats *st, vs_error *err) {
    vs_ingest_opts defaults;
    vs_ingest_stats local_stats;
    if (!o) {
        vs_ingest_opts_default(&defaults);
        o = &defaults;
    }
    if (!st) st = &local_stats;
    memset(st, 0, sizeof *st);
    memset(out, 0, sizeof *out);
    st->value_min = st->value_max = NAN;
    if (n_inputs < 1) return vs_errorf(err, "no input to read");
    /* what the messages below call the input */
    char inputs_name[1100];
    if (n_inputs == 1) snprintf(inputs_name, sizeof inputs_name, "%s", inputs[0]);
    else snprintf(inputs_name, sizeof inputs_name, "%.1000s and %d more inputs", inputs[0], n_inputs - 1);
    if (isnan(o->min_rating)) return vs_errorf(err, "%s: minimum rating is not a number", inputs_name);

    vs_input_files files;
    if (vs_input_files_expand(inputs, n_inputs, &files, err)) return -1;
    vs_format fmt = o->format;
    st->values = o->values;
    int rc = 0;
    if (o->values == VS_VALUES_AUTO && fmt != VS_FORMAT_PAIRS) rc = detect_values(&files, &fmt, st, err);
    ingest_state s = {.opts = o, .fmt = fmt, .values = st->values, .out = out, .st = st};
    if (rc == 0) rc = ingest_pass(&s, &files, err);
    vs_input_files_free(&files);

    st->format = s.fmt;
    if (s.fmt == VS_FORMAT_PAIRS) st->values = VS_VALUES_AUTO;   /* no value column */
    if (rc == 0 && st->records == 0)
        rc = vs_errorf(err, "%s: no interaction records (%s)", inputs_name,
                       st->lines ? "only blank or header lines" : "empty file");
    if (rc == 0 && st->kept == 0)
        rc = vs_errorf(err, "%s: none of the %lld records has a rating above %g", inputs_name,
                       (long long)st->records, o->min_rating);
    if (rc < 0) vs_interactions_free(out);
    return rc;
}

int vs_ingest_file(const char *path, const vs_ingest_opts *o, vs_interactions *out,
                   vs_ingest_stats *st, vs_error *err) {
    return vs_ingest_files(&path, 1, o, out, st, err);
}
