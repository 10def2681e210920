/* Fuzz target: the saved-embeddings reader (apollo__embed_store_read) on a
 * file holding the input.  Anything but a well-formed file must be refused
 * with APOLLO_E_FORMAT (or NOMEM for absurd sizes); an accepted record is
 * consistent. */
#include "fuzz_common.h"

#include "apollo.h"
#include "store/embed_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    apollo__embed_record rec;
    int rc;

    snprintf(path, sizeof path, "%s/input.apemb", fuzz_dir());
    fuzz_write_file(path, data, size);
    memset(&rec, 0, sizeof rec);
    rc = apollo__embed_store_read(path, &rec);
    FUZZ_ASSERT(rc == APOLLO_OK || rc == APOLLO_E_FORMAT || rc == APOLLO_E_NOMEM ||
                rc == APOLLO_E_IO);
    if (rc == APOLLO_OK) {
        volatile float sink = 0;
        FUZZ_ASSERT(rec.meta_json != NULL);
        (void)strlen(rec.meta_json);
        FUZZ_ASSERT(rec.n_floats == 0 || rec.data != NULL);
        if (rec.n_floats)
            sink += rec.data[0] + rec.data[rec.n_floats - 1];
        (void)sink;
        /* a valid file must also round-trip through the writer */
        {
            char out[600];
            apollo__embed_record back;
            snprintf(out, sizeof out, "%s/roundtrip.apemb", fuzz_dir());
            FUZZ_ASSERT(apollo__embed_store_write(out, &rec) == APOLLO_OK);
            memset(&back, 0, sizeof back);
            FUZZ_ASSERT(apollo__embed_store_read(out, &back) == APOLLO_OK);
            FUZZ_ASSERT(back.n_floats == rec.n_floats);
            FUZZ_ASSERT(strcmp(back.meta_json, rec.meta_json) == 0);
            FUZZ_ASSERT(rec.n_floats == 0 ||
                        memcmp(back.data, rec.data, (size_t)rec.n_floats * sizeof(float)) == 0);
            apollo__embed_record_free(&back);
            unlink(out);
        }
    }
    apollo__embed_record_free(&rec);
    apollo__embed_record_free(&rec); /* must be idempotent after free */
    unlink(path);
    return 0;
}
