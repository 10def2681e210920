/* Fuzz target: the checkpoint loader (apollo__model_load: configs, index
 * json, safetensors headers, tensor names/shapes/dtypes against the
 * configs).  The input replaces one file of a copy of a tiny fixture
 * checkpoint whose other files are symbolic links to the real ones:
 *   byte 0, bit 7:   0 = tiny-tied, 1 = tiny-sharded
 *   byte 0, bits 0-6: which file (index into the checkpoint's sorted list
 *                    of .json and .safetensors files, modulo its length;
 *                    tokenizer files excluded -- fuzz_tokenizer covers them)
 *   bytes 1..:       the file's new content.
 * The list for each checkpoint is printed by APOLLO_FUZZ_LIST=1. */
#include "fuzz_common.h"

#include "apollo.h"
#include "model/model.h"

#include <dirent.h>
#include <sys/stat.h>

#define MAX_FILES 32

typedef struct ckpt {
    char dir[1024];                /* the mirrored checkpoint */
    char src[4200];                /* the fixture */
    char rel[MAX_FILES][512];      /* candidate files, relative */
    int n;
} ckpt;

static ckpt ckpts[2];

static int is_tokenizer_file(const char *name)
{
    static const char *const skip[] = {"tokenizer.json", "tokenizer_config.json", "vocab.json",
                                       "merges.txt", "added_tokens.json",
                                       "special_tokens_map.json"};
    for (size_t i = 0; i < sizeof skip / sizeof *skip; i++)
        if (strcmp(name, skip[i]) == 0)
            return 1;
    return 0;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int cmp_rel(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Mirrors src/rel into dst/rel: folders made, files symlinked. */
static void mirror(ckpt *c, const char *rel)
{
    char sp[8192], dp[8192];
    DIR *d;
    struct dirent *e;
    snprintf(sp, sizeof sp, "%s/%s", c->src, rel);
    if (!(d = opendir(sp))) {
        perror(sp);
        abort();
    }
    while ((e = readdir(d))) {
        char r[512];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(r, sizeof r, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(sp, sizeof sp, "%s/%s", c->src, r);
        snprintf(dp, sizeof dp, "%s/%s", c->dir, r);
        if (stat(sp, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            mkdir(dp, 0755);
            mirror(c, r);
            continue;
        }
        if (symlink(sp, dp) != 0) {
            perror(dp);
            abort();
        }
        if ((ends_with(e->d_name, ".json") || ends_with(e->d_name, ".safetensors")) &&
            !is_tokenizer_file(e->d_name) && c->n < MAX_FILES)
            snprintf(c->rel[c->n++], sizeof c->rel[0], "%s", r);
    }
    closedir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const names[2] = {"tiny-tied", "tiny-sharded"};
    char abs_fixtures[4096];
    (void)argc;
    (void)argv;
    if (!realpath(APOLLO_TEST_FIXTURES, abs_fixtures)) {
        perror(APOLLO_TEST_FIXTURES);
        abort();
    }
    for (int i = 0; i < 2; i++) {
        ckpt *c = &ckpts[i];
        snprintf(c->src, sizeof c->src, "%s/models/%s", abs_fixtures, names[i]);
        snprintf(c->dir, sizeof c->dir, "%s/%s", fuzz_dir(), names[i]);
        mkdir(c->dir, 0755);
        mirror(c, "");
        qsort(c->rel, (size_t)c->n, sizeof c->rel[0], cmp_rel);
        if (getenv("APOLLO_FUZZ_LIST"))
            for (int k = 0; k < c->n; k++)
                fprintf(stderr, "%s file %d (byte0 = 0x%02x): %s\n", names[i], k,
                        (i << 7) | k, c->rel[k]);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ckpt *c;
    int k, rc;
    char dp[8192], sp[8192];
    apollo__model *m = NULL;

    if (!ckpts[0].n)
        LLVMFuzzerInitialize(NULL, NULL);
    if (size < 1)
        return 0;
    c = &ckpts[data[0] >> 7];
    k = (data[0] & 0x7f) % c->n;
    snprintf(dp, sizeof dp, "%s/%s", c->dir, c->rel[k]);
    snprintf(sp, sizeof sp, "%s/%s", c->src, c->rel[k]);
    fuzz_write_file(dp, data + 1, size - 1);

    rc = apollo__model_load(c->dir, &m);
    FUZZ_ASSERT(rc <= 0 && rc >= APOLLO_E_NO_VIDEO);
    FUZZ_ASSERT((rc == APOLLO_OK) == (m != NULL));
    apollo__model_free(m);

    unlink(dp);
    if (symlink(sp, dp) != 0) {
        perror(dp);
        abort();
    }
    return 0;
}
