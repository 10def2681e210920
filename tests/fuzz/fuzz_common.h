/* Helpers shared by the fuzz targets (tests/fuzz/fuzz_*.c).  Each target
 * defines LLVMFuzzerTestOneInput (and optionally LLVMFuzzerInitialize); the
 * same source links either with libFuzzer (tools/fuzz.sh, clang) or with
 * replay_main.c (ctest replays the committed corpus under gcc+ASan/UBSan).
 *
 * A target must never crash, leak or trip a sanitizer whatever the input;
 * a violated invariant calls FUZZ_ASSERT, which aborts (libFuzzer then
 * saves the input as a crash). */
#ifndef APOLLO_FUZZ_COMMON_H
#define APOLLO_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef APOLLO_TEST_FIXTURES
#define APOLLO_TEST_FIXTURES "tests/fixtures"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond)                                                              \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                            \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* A private scratch directory for this process, created on first use and
 * removed (with what fuzz_write_file put in it) at exit. */
static char fuzz_dir_path[256];

static void fuzz_dir_cleanup(void)
{
    char cmd[300];
    if (fuzz_dir_path[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir_path);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", fuzz_dir_path);
    }
}

static inline const char *fuzz_dir(void)
{
    if (!fuzz_dir_path[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/apollo-fuzz-XXXXXX",
                 t && *t ? t : "/tmp");
        if (!mkdtemp(fuzz_dir_path)) {
            perror("mkdtemp");
            abort();
        }
        atexit(fuzz_dir_cleanup);
    }
    return fuzz_dir_path;
}

/* Writes size bytes to path (replacing what is there); aborts on I/O errors
 * (they are the harness's, not the library's). */
static inline void fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f;
    unlink(path);
    f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

#endif
