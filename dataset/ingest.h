/* ingest: reads (user, item[, value]) interaction files into interned index pairs.
 * Formats: MovieLens ratings.csv (comma, header), ratings.dat ("::"), u.data (tab), and
 * the same layouts with a count or weight as the value (Last.fm's user_artists.dat,
 * the Million Song Dataset's train_triplets.txt); the Netflix Prize's files (a
 * "MOVIEID:" line, then "CustomerID,Rating,Date" lines); plain "user item" pairs
 * (whitespace or comma; extra columns ignored; no value). Several files, or folders of
 * files, are read one after another into the same pairs.
 * Ids are kept as the strings found in the files, interned to dense indices in order
 * of first appearance. The value column is a rating or a count (vs_values): for ratings,
 * rows with a rating <= min_rating are dropped here (the paper's "rating > 3.5"); with
 * counts, and for pairs, every row is kept. */
#ifndef VS_INGEST_H
#define VS_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "interactions.h"
#include "common/vs_error.h"

typedef enum vs_format {
    VS_FORMAT_AUTO = 0,
    VS_FORMAT_CSV,     /* ratings.csv: userId,movieId,rating,timestamp with a header */
    VS_FORMAT_DAT,     /* ratings.dat: UserID::MovieID::Rating::Timestamp */
    VS_FORMAT_TSV,     /* u.data: user \t item \t rating \t timestamp */
    VS_FORMAT_PAIRS,   /* user item (whitespace or comma), no rating */
    VS_FORMAT_NETFLIX, /* Netflix Prize: "MOVIEID:", then CustomerID,Rating,Date lines */
} vs_format;

/* What the value column (the third of csv, dat and tsv files, a Netflix line's second) holds, and so which rows
 * are kept. */
typedef enum vs_values {
    VS_VALUES_AUTO = 0,   /* detected from the first records (vs_values_detect) */
    VS_VALUES_RATING,     /* ratings: keep the rows with a value > min_rating */
    VS_VALUES_COUNT,      /* counts or weights (plays, purchases, clicks): every row is an interaction */
} vs_values;

/* How many records AUTO looks at, and the largest value of a rating scale. */
#define VS_VALUES_SAMPLE 10000
#define VS_RATING_SCALE_MAX 10.0

typedef struct vs_ingest_opts {
    vs_format format;     /* AUTO: decided from the first lines (docs/prepare.md) */
    vs_values values;     /* AUTO: decided from the first VS_VALUES_SAMPLE records */
    double min_rating;    /* ratings: keep rating > min_rating; the paper's 3.5 by default */
} vs_ingest_opts;

typedef struct vs_ingest_stats {
    vs_format format;          /* the format used (after AUTO detection) */
    vs_values values;          /* how the value column was read (after AUTO); AUTO for pairs */
    int values_detected;       /* 1 when AUTO decided it */
    char values_reason[200];   /* what AUTO saw: "from the first 10000 records: values up to 352698, ..." */
    double value_min, value_max;   /* over every record's value (NaN for pairs) */
    int header;                /* files whose first non-blank line was a header, skipped (0 or 1 for one file) */
    int64_t files;             /* files read (a folder counts its files) */
    int64_t lines;             /* lines read, header and blank lines included */
    int64_t item_lines;        /* Netflix: 'MOVIEID:' lines */
    int64_t records;           /* interaction lines parsed */
    int64_t kept;              /* records kept by the rating filter */
} vs_ingest_stats;

void vs_ingest_opts_default(vs_ingest_opts *o);
const char *vs_format_name(vs_format f);
/* Parses "auto", "csv", "dat", "tsv", "pairs", "netflix"; -1 if unknown. */
int vs_format_parse(const char *name, vs_format *out);
/* "auto", "rating", "count". */
const char *vs_values_name(vs_values v);

/* AUTO's rule on a sample of values (sorted in place): COUNT when a value is above
 * VS_RATING_SCALE_MAX (beyond the usual rating scales, 0.5 to 10), or when they are
 * whole numbers >= 0 with a median >= 1 and a largest value at least 5 times the median
 * (a long tail, as counts have); RATING otherwise (and for no values). reason, when
 * not NULL, gets what was seen, in words. */
vs_values vs_values_detect(double *values, int64_t n, char *reason, size_t reason_size);

/* Reads the inputs, in order, into out (which must be zeroed); a folder stands for its
 * files (input_files.h). The format (when AUTO) is decided by the first non-blank line
 * of the first file, the value column's kind (when AUTO) by the first records across
 * the files; both then apply to every file. Intern order runs on across files. A
 * malformed line is an error naming file:line and what is wrong with it. */
int vs_ingest_files(const char *const *inputs, int n_inputs, const vs_ingest_opts *o,
                    vs_interactions *out, vs_ingest_stats *st, vs_error *err);
/* vs_ingest_files with one input. */
int vs_ingest_file(const char *path, const vs_ingest_opts *o, vs_interactions *out,
                   vs_ingest_stats *st, vs_error *err);

#endif
