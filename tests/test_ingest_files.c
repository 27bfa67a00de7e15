/* test_ingest_files: reading the paper's datasets' layouts and several files at once
 * (dataset/ingest.c, dataset/input_files.c): Netflix Prize files (per movie, and
 * concatenated), with mixed line endings, a missing or empty 'MOVIEID:' line and
 * movies whose ratings are all filtered out; folders (read in name order, hidden
 * files and subfolders skipped); several inputs (intern order running on, headers and
 * line numbers per file, the value column detected across files); the Million Song
 * Dataset's triplets with string ids. Expected pairs are written out by hand. */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>

#include "test.h"
#include "dataset/ingest.h"

static char tmp_dir[512];

/* Writes tmp_dir/name (name may hold a folder made beforehand); returns a static path. */
static const char *write_text(const char *name, const char *content) {
    static char path[4][1024];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", tmp_dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", p);
        exit(1);
    }
    fwrite(content, 1, strlen(content), f);
    fclose(f);
    return p;
}

static const char *make_dir(const char *name) {
    static char path[4][1024];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", tmp_dir, name);
    mkdir(p, 0755);
    return p;
}

static int id_is(const vs_idmap *m, int32_t i, const char *s) {
    vs_strtab t = vs_idmap_table(m);
    if (i < 0 || i >= t.n) return 0;
    size_t len = (size_t)(t.offsets[i + 1] - t.offsets[i]);
    return len == strlen(s) && memcmp(t.bytes + t.offsets[i], s, len) == 0;
}

static int pair_is(const vs_interactions *x, int64_t k, const char *user, const char *item) {
    return k < x->n && id_is(&x->users, x->user[k], user) && id_is(&x->items, x->item[k], item);
}

static int read_inputs(const char *const *inputs, int n, vs_format fmt, vs_values values, vs_interactions *x,
                       vs_ingest_stats *st, vs_error *err) {
    vs_ingest_opts o;
    vs_ingest_opts_default(&o);
    o.format = fmt;
    o.values = values;
    return vs_ingest_files(inputs, n, &o, x, st, err);
}

/* Reading must fail with a message holding both needles, and leave nothing behind. */
static void expect_error(const char *const *inputs, int n, vs_format fmt, const char *where, const char *what) {
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    CHECK_MSG(read_inputs(inputs, n, fmt, VS_VALUES_AUTO, &x, &st, &err) == -1, "%s should fail", inputs[0]);
    CHECK_MSG(strstr(err.msg, where) != NULL, "message '%s' lacks '%s'", err.msg, where);
    CHECK_MSG(strstr(err.msg, what) != NULL, "message '%s' lacks '%s'", err.msg, what);
    CHECK(x.n == 0 && x.user == NULL);
}

/* One movie's file, as in training_set/: \n and \r\n mixed, a blank line, a record
 * without its date, no final newline; detected as netflix. */
static void test_netflix_file(void) {
    const char *path = write_text("mv_0000001.txt",
                                  "1:\r\n"
                                  "1488844,3,2005-09-06\n"
                                  "822109,5,2005-05-13\r\n"
                                  "\n"
                                  "885013,4,2005-10-19\r\n"
                                  "30878,4");
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    CHECK_OK(read_inputs(&path, 1, VS_FORMAT_AUTO, VS_VALUES_AUTO, &x, &st, &err), &err);
    CHECK(st.format == VS_FORMAT_NETFLIX && st.values == VS_VALUES_RATING && st.values_detected);
    CHECK(st.files == 1 && st.lines == 6 && st.item_lines == 1 && st.records == 4 && st.kept == 3);
    CHECK(st.header == 0 && st.value_min == 3 && st.value_max == 5);
    CHECK(x.n == 3 && pair_is(&x, 0, "822109", "1") && pair_is(&x, 1, "885013", "1") && pair_is(&x, 2, "30878", "1"));
    CHECK(x.users.n == 3 && x.items.n == 1);
    vs_interactions_free(&x);
}

/* combined_data_N.txt: many movies in one file. Movie 3 has only a low rating, so it
 * is never interned: items are numbered 1, 2, 4 in order of their first kept record. */
static void test_netflix_combined(void) {
    const char *path = write_text("combined_data_1.txt",
                                  "1:\na,4,2005-01-01\nb,2,2005-01-02\n"
                                  "2:\nb,5,2005-01-03\na,4,2005-01-04\n"
                                  "3:\na,1,2005-01-05\n"
                                  "4: \r\nc,4,2005-01-06\n");
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    CHECK_OK(read_inputs(&path, 1, VS_FORMAT_NETFLIX, VS_VALUES_RATING, &x, &st, &err), &err);
    CHECK(st.item_lines == 4 && st.records == 6 && st.kept == 4);
    CHECK(x.n == 4 && pair_is(&x, 0, "a", "1") && pair_is(&x, 1, "b", "2") && pair_is(&x, 2, "a", "2") &&
          pair_is(&x, 3, "c", "4"));
    CHECK(x.items.n == 3 && id_is(&x.items, 2, "4") && vs_idmap_find(&x.items, "3", 1) == -1);
    CHECK(x.item[3] == 2);
    vs_interactions_free(&x);
}

/* A folder: its files in name order (written here in another order, so that the
 * order the file system lists them in is unlikely to be it), hidden files and
 * subfolders skipped (either would be an error if read). */
static void test_folder(void) {
    const char *dir = make_dir("training_set");
    make_dir("training_set/sub");
    for (int k = 0; k < 12; k++) {
        int movie = 1 + (k * 5) % 12;   /* 1, 6, 11, 4, ... */
        char name[64], text[64];
        snprintf(name, sizeof name, "training_set/mv_%07d.txt", movie);
        snprintf(text, sizeof text, "%d:\nu%d,5,2005-01-01\nu0,4,2005-01-02\n", movie, movie);
        write_text(name, text);
    }
    write_text("training_set/.hidden", "not,a,netflix,line\n");
    write_text("training_set/sub/mv_0000013.txt", "oops\n");
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    CHECK_OK(read_inputs(&dir, 1, VS_FORMAT_AUTO, VS_VALUES_AUTO, &x, &st, &err), &err);
    CHECK(st.format == VS_FORMAT_NETFLIX && st.files == 12 && st.item_lines == 12 && st.kept == 24);
    int in_order = x.n == 24;
    for (int m = 1; m <= 12 && in_order; m++) {
        char user[16], item[16];
        snprintf(user, sizeof user, "u%d", m);
        snprintf(item, sizeof item, "%d", m);
        in_order &= pair_is(&x, 2 * (m - 1), user, item) && pair_is(&x, 2 * m - 1, "u0", item);
        in_order &= x.item[2 * (m - 1)] == m - 1;
    }
    CHECK_MSG(in_order, "the folder's files were not read in name order");
    vs_interactions_free(&x);

    const char *empty = make_dir("no_files");
    make_dir("no_files/sub");
    write_text("no_files/.hidden", "1:\nu1,4,2005\n");
    expect_error(&empty, 1, VS_FORMAT_AUTO, "no_files", "no files to read");
}

/* Several inputs: a folder and a file; the intern order runs on across them. Each
 * Netflix file starts afresh: the second file's records may not borrow the first's
 * movie. */
static void test_several_inputs(void) {
    const char *inputs[2];
    inputs[0] = make_dir("part1");
    write_text("part1/combined_data_1.txt", "1:\nx,5,2005\ny,4,2005\n");
    inputs[1] = write_text("combined_data_2.txt", "7:\nz,4,2005\nx,5,2005\n");
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    CHECK_OK(read_inputs(inputs, 2, VS_FORMAT_AUTO, VS_VALUES_AUTO, &x, &st, &err), &err);
    CHECK(st.files == 2 && st.lines == 6 && st.item_lines == 2 && st.kept == 4);
    CHECK(pair_is(&x, 0, "x", "1") && pair_is(&x, 1, "y", "1") && pair_is(&x, 2, "z", "7") &&
          pair_is(&x, 3, "x", "7"));
    CHECK(x.user[3] == 0 && x.users.n == 3 && x.items.n == 2);
    vs_interactions_free(&x);

    /* The missing 'MOVIEID:' line of a second file: an error naming it, line 1. */
    const char *no_header[2];
    no_header[0] = write_text("nf_first.txt", "1:\nx,5,2005\n");
    no_header[1] = write_text("nf_second.txt", "\n y,4,2005\n");
    expect_error(no_header, 2, VS_FORMAT_AUTO, "nf_second.txt:2:", "before any 'MOVIEID:' line");
    /* One file, the format forced (auto reads a headerless Netflix file as csv). */
    expect_error(&no_header[1], 1, VS_FORMAT_NETFLIX, "nf_second.txt:2:", "before any 'MOVIEID:' line");
    const char *p = write_text("nf_empty_id.txt", "1:\nx,5,2005\n :\n");
    expect_error(&p, 1, VS_FORMAT_AUTO, "nf_empty_id.txt:3:", "empty movie id");
    p = write_text("nf_fields.txt", "1:\nx,5,2005,extra\n");
    expect_error(&p, 1, VS_FORMAT_AUTO, "nf_fields.txt:2:", "found 4");
    p = write_text("nf_rating.txt", "1:\nx,five,2005\n");   /* no header rule in Netflix files */
    expect_error(&p, 1, VS_FORMAT_AUTO, "nf_rating.txt:2:", "rating 'five' is not a number");
    p = write_text("nf_user.txt", "1:\n,5,2005\n");
    expect_error(&p, 1, VS_FORMAT_AUTO, "nf_user.txt:2:", "empty user id");
    char missing[1024];
    snprintf(missing, sizeof missing, "%s/no-such-folder", tmp_dir);
    inputs[1] = missing;
    expect_error(inputs, 2, VS_FORMAT_AUTO, missing, strerror(ENOENT));
}

/* csv files each with their header; line numbers in messages count within each file;
 * the value column is detected from the first records across the files. */
static void test_headers_lines_and_detection(void) {
    const char *inputs[2];
    inputs[0] = write_text("a.csv", "userId,movieId,rating,timestamp\n1,10,4,1\n");
    inputs[1] = write_text("b.csv", "userId,movieId,rating,timestamp\n2,10,5,1\n2,11,3,1\n");
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    CHECK_OK(read_inputs(inputs, 2, VS_FORMAT_AUTO, VS_VALUES_AUTO, &x, &st, &err), &err);
    CHECK(st.header == 2 && st.files == 2 && st.records == 3 && st.kept == 2);
    CHECK_MSG(strstr(st.values_reason, "first 3 records") != NULL, "%s", st.values_reason);
    vs_interactions_free(&x);

    inputs[1] = write_text("b_bad.csv", "userId,movieId,rating,timestamp\n2,10,5,1\n2,11\n");
    expect_error(inputs, 2, VS_FORMAT_AUTO, "b_bad.csv:3:", "found 2");
}

/* The Million Song Dataset's train_triplets.txt: user<TAB>song<TAB>play count, string
 * ids, \r\n here and there; the counts read as counts (every row kept). */
static void test_msd_triplets(void) {
    const char *path = write_text("train_triplets.txt",
                                  "b80344d063b5ccb3212f76538f3d9e43d87dca9e\tSOAKIMP12A8C130995\t1\n"
                                  "b80344d063b5ccb3212f76538f3d9e43d87dca9e\tSOAPDEY12A81C210A9\t1\r\n"
                                  "b80344d063b5ccb3212f76538f3d9e43d87dca9e\tSOBBMDR12A8C13253B\t2\n"
                                  "85c1f87fea955d09b4bec2e36aee110927aab7af\tSOAKIMP12A8C130995\t53\r\n"
                                  "85c1f87fea955d09b4bec2e36aee110927aab7af\tSOBXHDL12A81C204C0\t1");
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    CHECK_OK(read_inputs(&path, 1, VS_FORMAT_AUTO, VS_VALUES_AUTO, &x, &st, &err), &err);
    CHECK(st.format == VS_FORMAT_TSV && st.values == VS_VALUES_COUNT && st.values_detected);
    CHECK(st.records == 5 && st.kept == 5 && x.users.n == 2 && x.items.n == 4);
    CHECK(pair_is(&x, 0, "b80344d063b5ccb3212f76538f3d9e43d87dca9e", "SOAKIMP12A8C130995"));
    CHECK(pair_is(&x, 3, "85c1f87fea955d09b4bec2e36aee110927aab7af", "SOAKIMP12A8C130995"));
    CHECK(pair_is(&x, 4, "85c1f87fea955d09b4bec2e36aee110927aab7af", "SOBXHDL12A81C204C0"));
    CHECK(x.item[3] == x.item[0]);
    vs_interactions_free(&x);
}

int main(void) {
    const char *t = getenv("VS_TEST_TMP");
    snprintf(tmp_dir, sizeof tmp_dir, "%s", t && *t ? t : "/tmp/vs_test_ingest_files");
    mkdir(tmp_dir, 0755);

    test_netflix_file();
    test_netflix_combined();
    test_folder();
    test_several_inputs();
    test_headers_lines_and_detection();
    test_msd_triplets();
    return test_finish();
}
