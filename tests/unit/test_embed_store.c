/* The saved-embeddings file: round trip, every kind of damage refused with
 * APOLLO_E_FORMAT, and atomic replacement -- a write that fails part way
 * (simulated full disk) leaves the previous file intact and no temporary. */
#include "apollo.h"
#include "common/alloc.h"
#include "store/embed_store.h"
#include "testutil.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void make_record(apollo__embed_record *r, uint64_t n, float seed)
{
    memset(r, 0, sizeof *r);
    r->meta_json = apollo__strdup("{\"n_clips\": 3, \"text\": \"0.0-1.5 seconds: \"}");
    r->n_floats = n;
    r->data = apollo__malloc((size_t)n * sizeof(float));
    for (uint64_t i = 0; i < n; i++)
        r->data[i] = seed + (float)(i % 977) * 0.25f - (float)(i % 13);
    for (int i = 0; i < APOLLO__FINGERPRINT_BYTES; i++)
        r->fingerprint[i] = (uint8_t)(i * 7 + (int)seed);
}

static int same(const apollo__embed_record *a, const apollo__embed_record *b)
{
    return a->n_floats == b->n_floats && strcmp(a->meta_json, b->meta_json) == 0 &&
           memcmp(a->fingerprint, b->fingerprint, APOLLO__FINGERPRINT_BYTES) == 0 &&
           memcmp(a->data, b->data, (size_t)a->n_floats * sizeof(float)) == 0;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc(*n);
    if (fread(b, 1, *n, f) != *n)
        abort();
    fclose(f);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

static int count_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp") != NULL;
    if (d)
        closedir(d);
    return n;
}

int main(void)
{
    char dir[512], path[600], bad[600];
    apollo__embed_record a, b, c;
    unsigned char *bytes;
    size_t n;

    snprintf(dir, sizeof dir, "%s/embed_store", APOLLO_TEST_TMPDIR);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/video.apemb", dir);
    snprintf(bad, sizeof bad, "%s/bad.apemb", dir);

    make_record(&a, 3 * 128 * 64, 1.0f);
    CHECK_EQ_INT(apollo__embed_store_write(path, &a), APOLLO_OK);
    CHECK_EQ_INT(apollo__embed_store_read(path, &b), APOLLO_OK);
    CHECK(same(&a, &b));
    apollo__embed_record_free(&b);

    bytes = slurp(path, &n);
    printf("saved %llu floats (%zu raw bytes) in %zu bytes\n", (unsigned long long)a.n_floats,
           (size_t)a.n_floats * 4, n);

    /* truncation at many lengths */
    for (size_t cut = 0; cut < n; cut += n / 37 + 1) {
        spit(bad, bytes, cut);
        CHECK_EQ_INT(apollo__embed_store_read(bad, &b), APOLLO_E_FORMAT);
    }
    spit(bad, bytes, n - 1);
    CHECK_EQ_INT(apollo__embed_store_read(bad, &b), APOLLO_E_FORMAT);
    /* a flipped bit anywhere */
    for (size_t pos = 0; pos < n; pos += n / 53 + 1) {
        bytes[pos] ^= 0x10;
        spit(bad, bytes, n);
        CHECK_MSG(apollo__embed_store_read(bad, &b) == APOLLO_E_FORMAT, "flip at %zu accepted",
                  pos);
        bytes[pos] ^= 0x10;
    }
    CHECK_STR_CONTAINS(apollo_last_errmsg(), "bad.apemb");
    /* another version */
    bytes[8] = 9;
    spit(bad, bytes, n);
    CHECK_EQ_INT(apollo__embed_store_read(bad, &b), APOLLO_E_FORMAT);
    CHECK_STR_CONTAINS(apollo_last_errmsg(), "version 9");
    bytes[8] = 1;
    /* not ours */
    spit(bad, (const unsigned char *)"hello world, this is not an embeddings file at all......",
         56);
    CHECK_EQ_INT(apollo__embed_store_read(bad, &b), APOLLO_E_FORMAT);
    CHECK_EQ_INT(apollo__embed_store_read("/nonexistent/x.apemb", &b), APOLLO_E_NOT_FOUND);
    CHECK_EQ_INT(apollo__embed_store_write("/nonexistent/dir/x.apemb", &a), APOLLO_E_NOT_FOUND);
    free(bytes);

    /* atomic replacement: the disk "fills up" at several points */
    make_record(&c, 5000, 2.0f);
    CHECK_EQ_INT(apollo__embed_store_write(bad, &c), APOLLO_OK);
    free(slurp(bad, &n)); /* n = size of c's file */
    for (uint64_t limit = 1; limit < n; limit = limit * 3 + 7) {
        apollo__embed_store_fail_after(limit);
        CHECK_EQ_INT(apollo__embed_store_write(path, &c), APOLLO_E_IO);
        apollo__embed_store_fail_after(0);
        CHECK_EQ_INT(apollo__embed_store_read(path, &b), APOLLO_OK);
        CHECK(same(&a, &b)); /* the old file is still there, whole */
        apollo__embed_record_free(&b);
        CHECK_EQ_INT(count_temporaries(dir), 0);
    }
    CHECK_STR_CONTAINS(apollo_last_errmsg(), "previous file is unchanged");
    /* and without a failure the new content replaces it */
    CHECK_EQ_INT(apollo__embed_store_write(path, &c), APOLLO_OK);
    CHECK_EQ_INT(apollo__embed_store_read(path, &b), APOLLO_OK);
    CHECK(same(&c, &b));
    apollo__embed_record_free(&b);

    apollo__embed_record_free(&a);
    apollo__embed_record_free(&c);
    return test_finish("embed_store");
}
