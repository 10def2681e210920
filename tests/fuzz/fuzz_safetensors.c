/* Fuzz target: the safetensors reader (apollo__st_open) on a file holding
 * the input -- 8-byte header length, JSON header, data section.  Opening
 * must either fail with a status or give entries that lie inside the
 * mapping. */
#include "fuzz_common.h"

#include "apollo.h"
#include "model/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    apollo__st_file *f = NULL;
    int rc;

    snprintf(path, sizeof path, "%s/input.safetensors", fuzz_dir());
    fuzz_write_file(path, data, size);
    rc = apollo__st_open(path, "input.safetensors", &f);
    FUZZ_ASSERT(rc <= 0);
    FUZZ_ASSERT((rc == APOLLO_OK) == (f != NULL));
    if (f) {
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < f->n_entries; i++) {
            const apollo__st_entry *e = &f->entries[i];
            FUZZ_ASSERT(e->name != NULL);
            FUZZ_ASSERT(e->begin <= e->end && e->end <= f->data_size);
            FUZZ_ASSERT(apollo__st_find(f, e->name) != NULL);
            /* touch the first and last byte: inside the mapping */
            if (e->end > e->begin) {
                sink ^= ((const uint8_t *)e->data)[0];
                sink ^= ((const uint8_t *)e->data)[e->end - e->begin - 1];
            }
        }
        (void)sink;
        apollo__st_close(f);
    }
    unlink(path);
    return 0;
}
