/* Allocation-failure torture of apollo_ctx_open (STYLE.md section 8): count
 * the allocations of a successful open, then reopen failing allocation k.
 * k = 1..APOLLO_OOM_EXHAUSTIVE (default 1000) every one, then
 * APOLLO_OOM_SAMPLES (default 60) log-spaced k up to the total (the open
 * performs ~760k allocations, nearly all in the tokenizer).  Each failing
 * run must return APOLLO_E_NOMEM with *out NULL; leaks are caught by LSan
 * in the sanitizer build. */
#include "apollo.h"
#include "common/alloc.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>

static uint64_t env_u64(const char *name, uint64_t def)
{
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 10) : def;
}

int main(void)
{
    const char *dir = APOLLO_TEST_FIXTURES "/models/tiny-tied";
    apollo_ctx_params p;
    apollo_ctx *ctx = NULL;
    uint64_t total, exhaustive = env_u64("APOLLO_OOM_EXHAUSTIVE", 1000);
    uint64_t samples = env_u64("APOLLO_OOM_SAMPLES", 60), prev = 0;
    int n_runs = 0, n_nomem = 0, n_ok = 0;

    apollo_ctx_params_init(&p);
    p.n_threads = 1;
    apollo__alloc_fail_at(0);
    CHECK_EQ_INT(apollo_ctx_open(dir, &p, &ctx), APOLLO_OK);
    total = apollo__alloc_count();
    apollo_ctx_free(ctx);
    printf("apollo_ctx_open: %llu allocations\n", (unsigned long long)total);
    fflush(stdout);
    CHECK(total > 0);

    for (uint64_t i = 0;; i++) {
        uint64_t k;
        int rc;
        if (i < exhaustive)
            k = i + 1;
        else {
            uint64_t j = i - exhaustive;
            if (j >= samples)
                break;
            k = (uint64_t)((double)exhaustive *
                           pow((double)total / (double)exhaustive,
                               (double)(j + 1) / (double)samples));
        }
        if (k > total)
            break;
        if (k <= prev)
            continue;
        prev = k;
        ctx = (apollo_ctx *)1;
        apollo__alloc_fail_at(k);
        rc = apollo_ctx_open(dir, &p, &ctx);
        apollo__alloc_fail_at(0);
        n_runs++;
        if (rc == APOLLO_OK) {
            n_ok++; /* the failure was absorbed (a fallback); the ctx must work */
            CHECK(ctx != NULL && apollo_ctx_n_tokens(ctx) > 0);
            apollo_ctx_free(ctx);
            continue;
        }
        CHECK_MSG(rc == APOLLO_E_NOMEM, "k=%llu: rc %d (%s)", (unsigned long long)k, rc,
                  apollo_last_errmsg());
        CHECK_MSG(ctx == NULL, "k=%llu: *out not NULL on failure", (unsigned long long)k);
        n_nomem += rc == APOLLO_E_NOMEM;
    }
    printf("apollo_ctx_open: %d failing runs (%d NOMEM, %d absorbed)\n", n_runs, n_nomem, n_ok);

    /* APOLLO_PRECISION_INT8 quantizes last: fail each of the open's final
     * allocations (the quantization's own and the pool's before them). */
    p.precision = APOLLO_PRECISION_INT8;
    apollo__alloc_reset_count();
    CHECK_EQ_INT(apollo_ctx_open(dir, &p, &ctx), APOLLO_OK);
    total = apollo__alloc_count();
    apollo_ctx_free(ctx);
    n_runs = n_nomem = 0;
    for (uint64_t k = total > 16 ? total - 15 : 1; k <= total; k++) {
        int rc;
        ctx = (apollo_ctx *)1;
        apollo__alloc_fail_at(k);
        rc = apollo_ctx_open(dir, &p, &ctx);
        apollo__alloc_fail_at(0);
        n_runs++;
        if (rc == APOLLO_OK) {
            apollo_ctx_free(ctx);
            continue;
        }
        CHECK_MSG(rc == APOLLO_E_NOMEM, "int8 k=%llu: rc %d (%s)", (unsigned long long)k, rc,
                  apollo_last_errmsg());
        CHECK_MSG(ctx == NULL, "int8 k=%llu: *out not NULL on failure", (unsigned long long)k);
        n_nomem += rc == APOLLO_E_NOMEM;
    }
    CHECK_MSG(n_nomem == n_runs, "int8: %d of the last %d allocations absorbed", n_runs - n_nomem,
              n_runs);
    printf("apollo_ctx_open int8: last %d allocations of %llu failed in turn, all NOMEM\n", n_runs,
           (unsigned long long)total);
    return test_finish("test_oom_ctx");
}
