/* A main() for the fuzz targets when they are built without libFuzzer:
 * every argument is a file or a folder of files (not recursive), each file
 * is passed once to LLVMFuzzerTestOneInput.  ctest runs it over
 * tests/fuzz/corpus/<target>/ and tests/fuzz/regressions/<target>/ under
 * ASan/UBSan, so every committed input is replayed on every test run. */
#include "fuzz_common.h"

#include <dirent.h>
#include <sys/stat.h>

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static int n_run;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    if (!f) {
        perror(path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        fprintf(stderr, "%s: read error\n", path);
        fclose(f);
        free(buf);
        return 1;
    }
    fclose(f);
    if (getenv("APOLLO_REPLAY_VERBOSE"))
        fprintf(stderr, "replay %s (%ld bytes)\n", path, n);
    /* a copy of exactly n bytes, so that ASan sees reads past the end */
    {
        uint8_t *exact = malloc(n > 0 ? (size_t)n : 1);
        memcpy(exact, buf, (size_t)n);
        LLVMFuzzerTestOneInput(exact, (size_t)n);
        free(exact);
    }
    free(buf);
    n_run++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int bad = 0;

    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path);
    if (!(d = opendir(path))) {
        perror(path);
        return 1;
    }
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
        }
        names[n] = malloc(strlen(path) + strlen(e->d_name) + 2);
        sprintf(names[n++], "%s/%s", path, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            bad |= run_file(names[i]);
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    int bad = 0;
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++)
        bad |= run_path(argv[i]);
    printf("%s: replayed %d inputs\n", argv[0], n_run);
    if (n_run == 0) {
        fprintf(stderr, "no inputs found\n");
        return 1;
    }
    return bad;
}
