/* item_names: what an item id stands for, from a CSV file with a header line, for
 * `vaesearch recommend --items`: MovieLens movies.csv (movieId,title,genres) or any CSV
 * with an id column and a name column. Fields follow RFC 4180 (quoted fields may hold
 * commas, doubled quotes and line breaks). The id column is the first named movieId,
 * itemId, item_id, item or id (any case), else the first; the name column is the first
 * named title or name, else the second. */
#ifndef VS_ITEM_NAMES_H
#define VS_ITEM_NAMES_H

#include <stddef.h>

#include "common/vs_error.h"
#include "dataset/ingest.h"

typedef struct item_names {
    vs_idmap ids;       /* id -> index into names */
    char **names;
    char *name_column;  /* the header of the column the names came from */
} item_names;

/* Reads path; an error names the file and line. */
int item_names_load(const char *path, item_names *out, vs_error *err);
/* The name of id (len bytes), or NULL when the file does not list it. */
const char *item_names_get(const item_names *t, const char *id, size_t len);
void item_names_free(item_names *t);

#endif
