/* item_names: what an item id stands for, for `vaesearch recommend --items`, from a
 * file of an id and a name a line: MovieLens movies.csv (movieId,title,genres), 100K's
 * u.item (`|`-separated, no header, Latin-1), 1M's movies.dat (`::`), or any such file.
 * The separator (`,`, a tab, `::` or `|`) is the one that splits the first lines into
 * the same number of fields, two or more. Fields follow RFC 4180 (quoted fields may hold
 * the separator, doubled quotes and line breaks). The first line is a header when it
 * names a column movieId, itemId, item_id, item or id, or title or name (any case);
 * then the id column is the first so named, else the first, and the name column the
 * first named title or name, else the second. Without a header every line is an item:
 * its id first, its name second. A file that is not UTF-8 is read as Latin-1. */
#ifndef VS_ITEM_NAMES_H
#define VS_ITEM_NAMES_H

#include <stddef.h>

#include "common/vs_error.h"
#include "dataset/ingest.h"

typedef struct item_names {
    vs_idmap ids;       /* id -> index into names */
    char **names;
    char *name_column;  /* the header of the column the names came from ("name" without one) */
    int has_header;     /* the first line was a header */
    int latin1;         /* the file was read as Latin-1 (it is not UTF-8) */
    char separator[3];  /* ",", "\t", "::" or "|" */
} item_names;

/* Reads path; an error names the file and line. */
int item_names_load(const char *path, item_names *out, vs_error *err);
/* The name of id (len bytes), or NULL when the file does not list it. */
const char *item_names_get(const item_names *t, const char *id, size_t len);
void item_names_free(item_names *t);

#endif
