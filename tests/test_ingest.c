/* test_ingest: reading interaction files (dataset/ingest.c). Each format is parsed
 * from small files written here; line endings, blank lines, headers, the rating
 * filter, block boundaries and malformed lines (messages naming file:line) are
 * checked, as is the id map on its own; so are the value column's detection (ratings
 * or counts, a Last.fm-like file) and pairs with extra columns and a header. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>

#include "test.h"
#include "dataset/ingest.h"

static char tmp_dir[512];

static const char *write_file(const char *name, const char *content, size_t len) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fwrite(content, 1, len, f);
    fclose(f);
    return path;
}

static const char *write_text(const char *name, const char *content) {
    return write_file(name, content, strlen(content));
}

/* True if id number i of m is exactly s. */
static int id_is(const vs_idmap *m, int32_t i, const char *s) {
    vs_strtab t = vs_idmap_table(m);
    if (i < 0 || i >= t.n) return 0;
    size_t len = (size_t)(t.offsets[i + 1] - t.offsets[i]);
    return len == strlen(s) && memcmp(t.bytes + t.offsets[i], s, len) == 0;
}

/* True if interaction k is (user, item) by original id. */
static int pair_is(const vs_interactions *x, int64_t k, const char *user, const char *item) {
    return k < x->n && id_is(&x->users, x->user[k], user) && id_is(&x->items, x->item[k], item);
}

static int ingest(const char *path, vs_format fmt, double min_rating, vs_interactions *x,
                  vs_ingest_stats *st, vs_error *err) {
    vs_ingest_opts o;
    vs_ingest_opts_default(&o);
    o.format = fmt;
    o.min_rating = min_rating;
    return vs_ingest_file(path, &o, x, st, err);
}

/* Ingest must fail with a message containing both needles. */
static void expect_error(const char *name, const char *content, vs_format fmt, const char *where,
                         const char *what) {
    const char *path = write_text(name, content);
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    int rc = ingest(path, fmt, 3.5, &x, &st, &err);
    CHECK_MSG(rc == -1, "%s should fail", name);
    CHECK_MSG(strstr(err.msg, where) != NULL, "%s: message '%s' lacks '%s'", name, err.msg, where);
    CHECK_MSG(strstr(err.msg, what) != NULL, "%s: message '%s' lacks '%s'", name, err.msg, what);
    CHECK(x.n == 0 && x.user == NULL);   /* freed on error */
}

static void test_defaults_and_names(void) {
    vs_ingest_opts o;
    vs_ingest_opts_default(&o);
    CHECK(o.format == VS_FORMAT_AUTO);
    CHECK_NEAR(o.min_rating, 3.5, 0);
    const char *names[] = {"auto", "csv", "dat", "tsv", "pairs"};
    for (int i = 0; i < 5; i++) {
        vs_format f;
        CHECK(vs_format_parse(names[i], &f) == 0 && (int)f == i);
        CHECK(strcmp(vs_format_name(f), names[i]) == 0);
    }
    vs_format f = VS_FORMAT_CSV;
    CHECK(vs_format_parse("CSV2", &f) == -1);
    CHECK(vs_format_parse("", &f) == -1);
}

static void test_idmap(void) {
    vs_idmap m;
    memset(&m, 0, sizeof m);
    CHECK(vs_idmap_find(&m, "a", 1) == -1);
    CHECK(vs_idmap_table(&m).n == 0 && vs_idmap_table(&m).offsets[0] == 0);
    char buf[32];
    int ok = 1;
    for (int i = 0; i < 100000; i++) {   /* enough to grow the table many times */
        int len = snprintf(buf, sizeof buf, "id%d", i * 7);
        ok &= vs_idmap_intern(&m, buf, (size_t)len) == i;
    }
    CHECK(ok);
    CHECK(m.n == 100000);
    ok = 1;
    for (int i = 0; i < 100000; i += 37) {
        int len = snprintf(buf, sizeof buf, "id%d", i * 7);
        ok &= vs_idmap_find(&m, buf, (size_t)len) == i;
        ok &= vs_idmap_intern(&m, buf, (size_t)len) == i;   /* no duplicate */
    }
    CHECK(ok);
    CHECK(m.n == 100000);
    CHECK(vs_idmap_find(&m, "id1", 3) == -1);     /* 1 is not a multiple of 7 */
    CHECK(vs_idmap_find(&m, "id", 2) == -1);      /* a prefix */
    CHECK(vs_idmap_find(&m, "id00", 4) == -1);
    CHECK(id_is(&m, 0, "id0") && id_is(&m, 99999, "id699993"));
    vs_strtab t = vs_idmap_table(&m);
    CHECK(t.n == 100000 && t.offsets[0] == 0 && t.offsets[1] == 3);
    /* Ids are byte strings: the empty string and embedded NULs are distinct ids. */
    int32_t e = vs_idmap_intern(&m, "", 0);
    CHECK(e == 100000 && vs_idmap_find(&m, "", 0) == e);
    CHECK(vs_idmap_intern(&m, "a\0b", 3) != vs_idmap_intern(&m, "a\0c", 3));
    vs_idmap_free(&m);
    CHECK(m.n == 0 && m.slots == NULL);

    /* Ids around the length a slot holds whole (VS_IDMAP_INLINE), and long ids that
     * share their first bytes (MSD's 40-digit user ids): told apart by the string table. */
    memset(&m, 0, sizeof m);
    char id[64];
    ok = 1;
    for (int i = 0; i < 3000; i++) {
        int len = 17 + i % 6;   /* 17 to 22 bytes */
        snprintf(id, sizeof id, "%0*d", len, i / 6);   /* "000...0k": a long shared prefix */
        ok &= vs_idmap_intern(&m, id, (size_t)len) == i;
    }
    CHECK(ok && m.n == 3000);
    ok = 1;
    for (int i = 0; i < 3000; i++) {
        int len = 17 + i % 6;
        snprintf(id, sizeof id, "%0*d", len, i / 6);
        ok &= vs_idmap_find(&m, id, (size_t)len) == i && id_is(&m, i, id);
    }
    CHECK(ok);
    CHECK(vs_idmap_find(&m, "00000000000000000000000", 23) == -1);   /* longer than any */
    vs_idmap_free(&m);
}

static void test_csv(void) {
    const char *path = write_text("ratings.csv",
                                  "userId,movieId,rating,timestamp\n"
                                  "1,10,4.0,100\n"
                                  "1,20,3.5,101\n"
                                  "2,10,5,102\n"
                                  "2,30,4.5,103\n"
                                  "3,20,3.0,104\n");
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    CHECK_OK(ingest(path, VS_FORMAT_AUTO, 3.5, &x, &st, &err), &err);
    CHECK(st.format == VS_FORMAT_CSV);
    CHECK(st.lines == 6 && st.records == 5 && st.kept == 3);
    CHECK(x.n == 3);
    CHECK(pair_is(&x, 0, "1", "10") && pair_is(&x, 1, "2", "10") && pair_is(&x, 2, "2", "30"));
    CHECK(x.users.n == 2 && x.items.n == 2);   /* user 3 and item 20 only in dropped rows */
    CHECK(x.user[0] == 0 && x.user[1] == 1 && x.item[2] == 1);
    vs_interactions_free(&x);

    /* The same file with a lower threshold keeps 3.5 but not 3.0. */
    CHECK_OK(ingest(path, VS_FORMAT_CSV, 3.0, &x, &st, &err), &err);
    CHECK(st.kept == 4 && pair_is(&x, 1, "1", "20"));
    vs_interactions_free(&x);
}

/* Rating filter at the boundary: > 3.5 drops 3.5 and keeps 4.0 (and 3.51). */
static void test_rating_filter(void) {
    const char *path = write_text("filter.csv",
                                  "a,x,3.5,1\n"
                                  "a,y,4.0,1\n"
                                  "b,x,3.51,1\n"
                                  "b,y,3.49999,1\n"
                                  "c,z,35e-1,1\n"
                                  "c,w,+4,1\n"
                                  "d,v,.5,1\n"
                                  "d,u,5.,1\n");
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    CHECK_OK(ingest(path, VS_FORMAT_AUTO, 3.5, &x, &st, &err), &err);
    CHECK(st.lines == 8 && st.records == 8);   /* no header: line 1's rating is a number */
    CHECK(st.kept == 4);
    CHECK(pair_is(&x, 0, "a", "y") && pair_is(&x, 1, "b", "x") && pair_is(&x, 2, "c", "w") &&
          pair_is(&x, 3, "d", "u"));
    vs_interactions_free(&x);
}

static void test_crlf_blank_and_no_final_newline(void) {
    const char *path = write_text("crlf.csv",
                                  "\xEF\xBB\xBFuserId,movieId,rating,timestamp\r\n"
                                  "u1,i1,4,1\r\n"
                                  "\r\n"
                                  "u2,i2,5,2\r\n"
                                  "   \t \r\n"
                                  "u1, i2 ,4.5,3");
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    CHECK_OK(ingest(path, VS_FORMAT_AUTO, 3.5, &x, &st, &err), &err);
    CHECK(st.format == VS_FORMAT_CSV);
    CHECK(st.lines == 6 && st.records == 3 && st.kept == 3);
    CHECK(pair_is(&x, 0, "u1", "i1") && pair_is(&x, 1, "u2", "i2") && pair_is(&x, 2, "u1", "i2"));
    CHECK(x.items.n == 2);   /* " i2 " is trimmed to the same id */
    vs_interactions_free(&x);
}

static void test_dat(void) {
    const char *path = write_text("ratings.dat",
                                  "1::1193::5::978300760\n"
                                  "1::661::3::978302109\n"
                                  "2::1193::4::978298413\n"
                                  "\n"
                                  "3::914::3.5::978301968\n");
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    CHECK_OK(ingest(path, VS_FORMAT_AUTO, 3.5, &x, &st, &err), &err);
    CHECK(st.format == VS_FORMAT_DAT);
    CHECK(st.lines == 5 && st.records == 4 && st.kept == 2);
    CHECK(pair_is(&x, 0, "1", "1193") && pair_is(&x, 1, "2", "1193"));
    CHECK(x.items.n == 1);
    vs_interactions_free(&x);
}

static void test_tsv(void) {
    const char *path = write_text("u.data",
                                  "196\t242\t3\t881250949\n"
                                  "186\t302\t4\t891717742\n"
                                  "22\t377\t1\t878887116\n"
                                  "186\t242\t5\t881250949\n");
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    CHECK_OK(ingest(path, VS_FORMAT_AUTO, 3.5, &x, &st, &err), &err);
    CHECK(st.format == VS_FORMAT_TSV);
    CHECK(st.records == 4 && st.kept == 2);
    CHECK(pair_is(&x, 0, "186", "302") && pair_is(&x, 1, "186", "242"));
    CHECK(x.users.n == 1 && x.items.n == 2);
    vs_interactions_free(&x);

    CHECK_OK(ingest(path, VS_FORMAT_TSV, 0.0, &x, &st, &err), &err);
    CHECK(st.kept == 4 && x.users.n == 3 && pair_is(&x, 2, "22", "377"));
    vs_interactions_free(&x);
}

static void test_pairs(void) {
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    /* Whitespace-separated, non-numeric ids, all kept (no rating). */
    const char *path = write_text("pairs.txt",
                                  "alice item-a\n"
                                  "bob\titem-b\n"
                                  "  carol    item-a  \n"
                                  "\n"
                                  "alice item-c\n"
                                  "alice item-a");
    CHECK_OK(ingest(path, VS_FORMAT_AUTO, 3.5, &x, &st, &err), &err);
    CHECK(st.format == VS_FORMAT_PAIRS);
    CHECK(st.lines == 6 && st.records == 5 && st.kept == 5);
    CHECK(pair_is(&x, 0, "alice", "item-a") && pair_is(&x, 1, "bob", "item-b") &&
          pair_is(&x, 2, "carol", "item-a") && pair_is(&x, 3, "alice", "item-c") &&
          pair_is(&x, 4, "alice", "item-a"));   /* duplicates are the protocol's job */
    CHECK(x.users.n == 3 && x.items.n == 3);
    vs_interactions_free(&x);

    /* Comma pairs: AUTO sees a comma with 2 fields, so pairs rather than CSV. */
    path = write_text("pairs.csv", "u 1,Movie: The Sequel\r\nu2,m2\r\n");
    CHECK_OK(ingest(path, VS_FORMAT_AUTO, 3.5, &x, &st, &err), &err);
    CHECK(st.format == VS_FORMAT_PAIRS && x.n == 2);
    CHECK(pair_is(&x, 0, "u 1", "Movie: The Sequel") && pair_is(&x, 1, "u2", "m2"));
    vs_interactions_free(&x);

    /* A tab with only 2 fields is pairs too. */
    path = write_text("pairs.tsv", "x\ty\n");
    CHECK_OK(ingest(path, VS_FORMAT_AUTO, 3.5, &x, &st, &err), &err);
    CHECK(st.format == VS_FORMAT_PAIRS && pair_is(&x, 0, "x", "y"));
    vs_interactions_free(&x);
}

/* The detection rule on its own: ratings stay ratings, counts and weights do not. */
static void test_values_detect(void) {
    char why[200];
    double half_stars[] = {0.5, 4, 3.5, 5, 1, 4.5, 3};
    CHECK(vs_values_detect(half_stars, 7, why, sizeof why) == VS_VALUES_RATING);
    CHECK_MSG(strstr(why, "0.5 to 5") && strstr(why, "rating scale"), "%s", why);
    double stars[] = {4, 5, 3, 4, 1, 2, 5, 4};   /* MovieLens-1M: whole numbers 1 to 5, median 4 */
    CHECK(vs_values_detect(stars, 8, why, sizeof why) == VS_VALUES_RATING);
    double ten[] = {7, 8, 10, 6, 9, 8, 2};       /* a 1-10 scale */
    CHECK(vs_values_detect(ten, 7, NULL, 0) == VS_VALUES_RATING);
    double jester[] = {-9.5, 3.2, 10, -10, 0.4};   /* -10 to 10, not whole */
    CHECK(vs_values_detect(jester, 5, NULL, 0) == VS_VALUES_RATING);
    double plays[] = {13883, 11690, 1, 228, 3, 17};   /* Last.fm play counts */
    CHECK(vs_values_detect(plays, 6, why, sizeof why) == VS_VALUES_COUNT);
    CHECK_MSG(strstr(why, "up to 13883") && strstr(why, "first 6 records"), "%s", why);
    double weight[] = {0.2, 10.5};   /* above 10, not whole: a weight */
    CHECK(vs_values_detect(weight, 2, NULL, 0) == VS_VALUES_COUNT);
    double clicks[] = {1, 1, 2, 1, 9, 1, 3};   /* whole, median 1, largest 9 >= 5 x 1 */
    CHECK(vs_values_detect(clicks, 7, why, sizeof why) == VS_VALUES_COUNT);
    CHECK_MSG(strstr(why, "long tail") && strstr(why, "median 1"), "%s", why);
    double few_clicks[] = {1, 1, 2, 1, 3};   /* largest 3 < 5 x 1: could be a 1-3 scale */
    CHECK(vs_values_detect(few_clicks, 5, NULL, 0) == VS_VALUES_RATING);
    double mostly_zero[] = {0, 0, 0, 8, 10};   /* median 0: not a count of interactions */
    CHECK(vs_values_detect(mostly_zero, 5, NULL, 0) == VS_VALUES_RATING);
    CHECK(vs_values_detect(NULL, 0, why, sizeof why) == VS_VALUES_RATING);
}

/* A Last.fm-like user_artists.dat: userID, artistID, weight (play count), tab-separated,
 * with a header. Detected as counts, every row is kept; a forced rating filter drops
 * the rows with a weight <= the threshold; counts forced on ratings keep them all. */
static void test_counts(void) {
    const char *path = write_text("user_artists.dat",
                                  "userID\tartistID\tweight\n"
                                  "2\t51\t13883\n"
                                  "2\t52\t11690\n"
                                  "2\t53\t3\n"
                                  "3\t51\t1\n"
                                  "3\t60\t2\n"
                                  "4\t52\t228\n");
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    CHECK_OK(ingest(path, VS_FORMAT_AUTO, 3.5, &x, &st, &err), &err);
    CHECK(st.format == VS_FORMAT_TSV && st.header == 1);
    CHECK(st.values == VS_VALUES_COUNT && st.values_detected == 1);
    CHECK_MSG(strstr(st.values_reason, "up to 13883"), "%s", st.values_reason);
    CHECK(st.records == 6 && st.kept == 6 && x.n == 6);
    CHECK(st.value_min == 1 && st.value_max == 13883);
    CHECK(pair_is(&x, 2, "2", "53") && pair_is(&x, 3, "3", "51"));
    vs_interactions_free(&x);

    vs_ingest_opts o;
    vs_ingest_opts_default(&o);
    o.values = VS_VALUES_RATING;
    o.min_rating = 3.5;
    CHECK_OK(vs_ingest_file(path, &o, &x, &st, &err), &err);
    CHECK(st.values == VS_VALUES_RATING && st.values_detected == 0);
    CHECK(st.records == 6 && st.kept == 3 && pair_is(&x, 2, "4", "52"));
    vs_interactions_free(&x);

    /* Ratings read as counts on request: all kept. */
    path = write_text("few.csv", "1,10,1.0,5\n1,11,5.0,5\n2,10,2.5,5\n");
    o.values = VS_VALUES_COUNT;
    CHECK_OK(vs_ingest_file(path, &o, &x, &st, &err), &err);
    CHECK(st.values == VS_VALUES_COUNT && !st.values_detected && st.kept == 3);
    vs_interactions_free(&x);
    o.values = VS_VALUES_AUTO;
    CHECK_OK(vs_ingest_file(path, &o, &x, &st, &err), &err);
    CHECK(st.values == VS_VALUES_RATING && st.values_detected && st.kept == 1);
    CHECK(st.value_min == 1 && st.value_max == 5);
    vs_interactions_free(&x);

    /* The first 10000 records look like ratings, a later one does not: reading stops,
     * naming the line, rather than filter counts as ratings. */
    size_t cap = 400000, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text + len, cap - len, "user,item,rating\n");
    for (int i = 0; i < VS_VALUES_SAMPLE; i++)
        len += (size_t)snprintf(text + len, cap - len, "u%d,i%d,%d\n", i % 300, i % 77, 1 + i % 5);
    len += (size_t)snprintf(text + len, cap - len, "u1,i1,4\nu1,i2,250\n");
    path = write_file("misled.csv", text, len);
    free(text);
    int rc = ingest(path, VS_FORMAT_AUTO, 3.5, &x, &st, &err);
    CHECK(rc == -1);
    char where[64];
    snprintf(where, sizeof where, "misled.csv:%d: value 250 is beyond the rating scale", VS_VALUES_SAMPLE + 3);
    CHECK_MSG(strstr(err.msg, where) && strstr(err.msg, "--all-rows"), "%s", err.msg);
    /* Told it is a rating, the same file is read. */
    o.values = VS_VALUES_RATING;
    CHECK_OK(vs_ingest_file(path, &o, &x, &st, &err), &err);
    CHECK(st.records == VS_VALUES_SAMPLE + 2 && st.value_max == 250);
    vs_interactions_free(&x);
}

/* Pairs take user and item and ignore the columns after them; the first line is a
 * header when a column that is a number on the second line is not one on the first. */
static void test_pairs_columns_and_header(void) {
    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    const char *path = write_text("artists.txt",
                                  "userID\tartistID\tweight\n"
                                  "2\t51\t13883\n"
                                  "2\t52\n"
                                  "3\t51\t1\textra\tcolumns\n");
    CHECK_OK(ingest(path, VS_FORMAT_PAIRS, 3.5, &x, &st, &err), &err);
    CHECK(st.format == VS_FORMAT_PAIRS && st.header == 1);
    CHECK(st.records == 3 && st.kept == 3 && x.users.n == 2);
    CHECK(pair_is(&x, 0, "2", "51") && pair_is(&x, 1, "2", "52") && pair_is(&x, 2, "3", "51"));
    CHECK(isnan(st.value_min) && st.values == VS_VALUES_AUTO);
    vs_interactions_free(&x);

    /* MovieLens' ratings.csv as pairs: header skipped, rating and timestamp ignored. */
    path = write_text("ml-pairs.csv", "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n");
    CHECK_OK(ingest(path, VS_FORMAT_PAIRS, 3.5, &x, &st, &err), &err);
    CHECK(st.header == 1 && st.kept == 2 && pair_is(&x, 1, "1", "1029"));
    vs_interactions_free(&x);

    /* Ids that are words on both lines: no header to tell, both are data. */
    path = write_text("words.txt", "user item\nalice item-a\n");
    CHECK_OK(ingest(path, VS_FORMAT_AUTO, 3.5, &x, &st, &err), &err);
    CHECK(st.header == 0 && st.kept == 2 && pair_is(&x, 0, "user", "item"));
    vs_interactions_free(&x);

    /* A one-line file is data; so is a first line of numbers. */
    path = write_text("one.txt", "userID artistID\n");
    CHECK_OK(ingest(path, VS_FORMAT_AUTO, 3.5, &x, &st, &err), &err);
    CHECK(st.header == 0 && st.kept == 1 && pair_is(&x, 0, "userID", "artistID"));
    vs_interactions_free(&x);
    path = write_text("nums.txt", "\n1 2 3\n1 3\n");
    CHECK_OK(ingest(path, VS_FORMAT_AUTO, 3.5, &x, &st, &err), &err);
    CHECK(st.header == 0 && st.kept == 2 && pair_is(&x, 0, "1", "2"));
    vs_interactions_free(&x);

    /* After a header, errors still name their line. */
    expect_error("hdr_err.txt", "user item\n1 2\n\n3\n", VS_FORMAT_PAIRS, "hdr_err.txt:4:", "found 1");
    expect_error("hdr_only.txt", "userID artistID\n", VS_FORMAT_CSV, "hdr_only.txt:1:", "found 1");
}

/* Records crossing the 4 MiB read blocks, and one line longer than a block. */
static void test_large_file(void) {
    size_t cap = 16u << 20, len = 0;
    char *text = malloc(cap);
    int n_lines = 400000;
    for (int i = 0; i < n_lines; i++)   /* ~15 bytes a line: spans several blocks */
        len += (size_t)snprintf(text + len, cap - len, "u%d,i%d,%d.5,9\n", i % 1000, i % 777, i % 5);
    size_t long_id = 5u << 20;
    memcpy(text + len, "w,", 2);
    len += 2;
    memset(text + len, 'z', long_id);
    len += long_id;
    len += (size_t)snprintf(text + len, cap - len, ",4,1\nlast,one,5,1");
    const char *path = write_file("large.csv", text, len);
    free(text);

    vs_interactions x;
    vs_ingest_stats st;
    vs_error err = {{0}};
    CHECK_OK(ingest(path, VS_FORMAT_AUTO, 3.5, &x, &st, &err), &err);
    int64_t expect_kept = 0;
    for (int i = 0; i < n_lines; i++) expect_kept += i % 5 >= 4;   /* 4.5 > 3.5, 3.5 is not */
    CHECK(st.lines == n_lines + 2 && st.records == n_lines + 2);
    CHECK_MSG(st.kept == expect_kept + 2, "kept %lld", (long long)st.kept);
    CHECK(x.users.n == 1000 / 5 + 2);   /* u4, u9, ...: users i%1000 with i%5==4 */
    CHECK(pair_is(&x, 0, "u4", "i4") && pair_is(&x, x.n - 1, "last", "one"));
    vs_strtab items = vs_idmap_table(&x.items);
    int32_t w_item = x.item[x.n - 2];
    CHECK(items.offsets[w_item + 1] - items.offsets[w_item] == long_id);
    vs_interactions_free(&x);
}

static void test_errors(void) {
    expect_error("short.csv", "userId,movieId,rating,timestamp\n1,2,4,5\n1,3\n", VS_FORMAT_AUTO,
                 "short.csv:3:", "found 2");
    expect_error("bad_rating.csv", "1,2,4,5\n\n\n1,3,x4,5\n", VS_FORMAT_AUTO, "bad_rating.csv:4:",
                 "rating 'x4' is not a number");
    /* Only the first line can be a header. */
    expect_error("two_headers.csv", "u,i,rating,t\nu,i,rating,t\n", VS_FORMAT_AUTO,
                 "two_headers.csv:2:", "rating 'rating' is not a number");
    expect_error("nan.csv", "1,2,4,5\n1,3,nan,5\n", VS_FORMAT_AUTO, "nan.csv:2:", "not a number");
    expect_error("exp.csv", "1,2,4,5\n1,3,4e,5\n", VS_FORMAT_AUTO, "exp.csv:2:", "not a number");
    expect_error("empty_rating.csv", "1,2,4,5\n1,3,,5\n", VS_FORMAT_AUTO, "empty_rating.csv:2:",
                 "empty rating");
    expect_error("u.data", "1\t2\t4\t5\n2\t2\t4\t5\n\t3\t4\t5\n", VS_FORMAT_AUTO, "u.data:3:",
                 "empty user id");
    expect_error("noitem.dat", "1::2::4::5\n1::::4::5\n", VS_FORMAT_AUTO, "noitem.dat:2:",
                 "empty item id");
    expect_error("long.dat", "1::2::4::5\n1::2::4::5::6\n", VS_FORMAT_AUTO, "long.dat:2:", "found 5");
    expect_error("pairs1.txt", "a b\nc d e\nf\n", VS_FORMAT_AUTO, "pairs1.txt:3:", "found 1");
    expect_error("pairs1first.txt", "a\nc d\n", VS_FORMAT_PAIRS, "pairs1first.txt:1:", "found 1");
    /* A forced format applies to every line. */
    expect_error("forced.txt", "a b\n", VS_FORMAT_CSV, "forced.txt:1:", "found 1");
    expect_error("empty.csv", "", VS_FORMAT_AUTO, "empty.csv", "empty file");
    expect_error("blank.csv", "\n \n\r\n", VS_FORMAT_AUTO, "blank.csv", "no interaction records");
    expect_error("header_only.csv", "userId,movieId,rating,timestamp\n", VS_FORMAT_AUTO,
                 "header_only.csv", "no interaction records");
    expect_error("all_low.csv", "1,2,3,5\n1,3,1.5,5\n", VS_FORMAT_AUTO, "all_low.csv",
                 "above 3.5");

    char missing[1024];
    snprintf(missing, sizeof missing, "%s/does-not-exist.csv", tmp_dir);
    vs_interactions x;
    vs_error err = {{0}};
    CHECK(ingest(missing, VS_FORMAT_AUTO, 3.5, &x, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, missing) && strstr(err.msg, strerror(ENOENT)), "%s", err.msg);
}

int main(void) {
    const char *t = getenv("VS_TEST_TMP");
    snprintf(tmp_dir, sizeof tmp_dir, "%s", t && *t ? t : "/tmp/vs_test_ingest");
    mkdir(tmp_dir, 0755);

    test_defaults_and_names();
    test_idmap();
    test_csv();
    test_rating_filter();
    test_crlf_blank_and_no_final_newline();
    test_dat();
    test_tsv();
    test_pairs();
    test_values_detect();
    test_counts();
    test_pairs_columns_and_header();
    test_large_file();
    test_errors();
    return test_finish();
}
