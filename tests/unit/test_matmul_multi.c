/* apollo__matmul_multi (backends/backend.h): several weights on the same x
 * give, bit for bit, what separate apollo__matmul calls give -- the CPU
 * backend's one-dispatch GEMV path (M < 16) and its per-weight loop (GEMM,
 * OpenBLAS for long x), the wrapper's fallback for a backend without the
 * entry, and the oneDNN backend (fallback) where built.  F32, BF16, F16 and
 * Q8 weights; the q/k/v shape of Qwen2 (different N, biases), gate/up (no
 * bias), more weights than one dispatch takes; M = 1, 2, 3, 7, 15, 16, 20,
 * 600; 1 and 3 threads.  Also: nothing is written outside each y, and a
 * weight whose K does not match is rejected. */
#include "apollo.h"
#include "backend.h"
#include "common/alloc.h"
#include "common/quant.h"
#include "testrand.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define MAXW 12
#define GUARD 8 /* floats after each y checked to stay untouched */

static uint32_t rng = 4242;

typedef struct wset {
    int n;
    apollo__tensor w[MAXW];
    void *buf[MAXW];
    float *scale[MAXW];
    float *bias[MAXW];
} wset;

static void make_weight(wset *s, int i, apollo__dtype dt, int64_t N, int64_t K, int with_bias)
{
    apollo__tensor *w = &s->w[i];
    memset(w, 0, sizeof *w);
    w->dtype = dt;
    w->n_dims = 2;
    w->shape[0] = N;
    w->shape[1] = K;
    if (dt == APOLLO__DT_Q8) {
        float *row = malloc((size_t)K * sizeof(float));
        int8_t *q = malloc((size_t)(N * K) + 1);
        s->scale[i] = malloc((size_t)N * sizeof(float));
        for (int64_t n = 0; n < N; n++) {
            float mag = 0.01f + (float)(n % 5);
            for (int64_t k = 0; k < K; k++)
                row[k] = test_frand(&rng) * mag;
            s->scale[i][n] = apollo__q8_quantize_row(APOLLO__DT_F32, row, K, q + 1 + n * K);
        }
        free(row);
        s->buf[i] = q;
        w->data = q + 1; /* unaligned, as weights in a file may be */
        w->scale = s->scale[i];
    } else {
        size_t es = apollo__dtype_size(dt);
        unsigned char *b = malloc((size_t)(N * K) * es + 1);
        test_fill_weights(&rng, b + 1, N * K, (int)es, dt == APOLLO__DT_BF16);
        s->buf[i] = b;
        w->data = b + 1;
        s->scale[i] = NULL;
    }
    s->bias[i] = NULL;
    if (with_bias) {
        s->bias[i] = malloc((size_t)N * sizeof(float));
        for (int64_t n = 0; n < N; n++)
            s->bias[i][n] = test_frand(&rng);
    }
}

static void free_set(wset *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->buf[i]);
        free(s->scale[i]);
        free(s->bias[i]);
    }
}

/* One check: n weights of K columns and the given N, bias pattern (bit i:
 * weight i has a bias; -1: the bias array itself is NULL). */
static void run_set(apollo__backend *be, const char *what, apollo__dtype dt, int64_t M, int64_t K,
                    int n, const int64_t *Ns, int bias_mask)
{
    wset s;
    const apollo__tensor *wp[MAXW];
    const float *bp[MAXW];
    float *y[MAXW], *ref[MAXW];
    float *x = malloc((size_t)(M * K) * sizeof(float));
    int rc, same = 1, guard_ok = 1;

    s.n = n;
    for (int64_t i = 0; i < M * K; i++)
        x[i] = test_frand(&rng);
    for (int i = 0; i < n; i++) {
        size_t cnt = (size_t)(M * Ns[i]) + GUARD;
        make_weight(&s, i, dt, Ns[i], K, bias_mask >= 0 && ((bias_mask >> i) & 1));
        wp[i] = &s.w[i];
        bp[i] = s.bias[i];
        y[i] = malloc(cnt * sizeof(float));
        ref[i] = malloc(cnt * sizeof(float));
        for (size_t e = 0; e < cnt; e++)
            y[i][e] = ref[i][e] = -12345.0f; /* the guard's pattern */
        rc = apollo__matmul(be, x, M, K, &s.w[i], s.bias[i], ref[i]);
        CHECK_EQ_INT(rc, APOLLO_OK);
    }
    rc = apollo__matmul_multi(be, x, M, K, n, wp, bias_mask < 0 ? NULL : bp, y);
    CHECK_EQ_INT(rc, APOLLO_OK);
    for (int i = 0; i < n; i++) {
        size_t cnt = (size_t)(M * Ns[i]);
        if (memcmp(y[i], ref[i], cnt * sizeof(float)) != 0)
            same = 0;
        for (size_t e = cnt; e < cnt + GUARD; e++)
            if (y[i][e] != -12345.0f)
                guard_ok = 0;
    }
    CHECK_MSG(same, "%s: %s %s M=%lld K=%lld n=%d bias=%d: differs from separate matmuls",
              be->vt->name, what, apollo__dtype_name(dt), (long long)M, (long long)K, n,
              bias_mask);
    CHECK_MSG(guard_ok, "%s: %s %s M=%lld K=%lld n=%d: wrote past an output", be->vt->name,
              what, apollo__dtype_name(dt), (long long)M, (long long)K, n);
    for (int i = 0; i < n; i++) {
        free(y[i]);
        free(ref[i]);
    }
    free_set(&s);
    free(x);
}

static void run_backend(apollo__backend *be)
{
    static const apollo__dtype dts[] = {APOLLO__DT_F32, APOLLO__DT_BF16, APOLLO__DT_F16,
                                        APOLLO__DT_Q8};
    static const int64_t Ms[] = {1, 2, 3, 7, 15, 16, 20};
    /* q/k/v: the 1.5B's 12 : 2 : 2 heads, scaled down, with an odd q */
    static const int64_t qkv[] = {203, 36, 36};
    static const int64_t gate_up[] = {300, 300};
    /* more weights than one dispatch takes, N from 1 up, not multiples of 4 */
    static const int64_t many[] = {1, 5, 17, 64, 3, 33, 130, 2, 7, 19, 4};
    static const int64_t Ks[] = {100, 1536};

    for (size_t d = 0; d < 4; d++)
        for (size_t m = 0; m < sizeof Ms / sizeof Ms[0]; m++)
            for (size_t k = 0; k < 2; k++) {
                int64_t K = Ks[k] == 1536 && Ms[m] > 3 ? 520 : Ks[k]; /* bounds the time */
                run_set(be, "qkv", dts[d], Ms[m], K, 3, qkv, 7);
                run_set(be, "qkv, k without bias", dts[d], Ms[m], K, 3, qkv, 5);
                run_set(be, "gate/up", dts[d], Ms[m], K, 2, gate_up, -1);
                run_set(be, "gate/up, NULL biases", dts[d], Ms[m], K, 2, gate_up, 0);
                run_set(be, "11 weights", dts[d], Ms[m], K, 11, many, 0x2a5);
                run_set(be, "one weight", dts[d], Ms[m], K, 1, qkv + 1, 1);
            }
    /* long x: OpenBLAS (F32/BF16/F16) and the packed GEMM (Q8) per weight */
    for (size_t d = 0; d < 4; d++)
        run_set(be, "qkv, long x", dts[d], 600, 72, 3, qkv, 7);
}

/* The wrapper with a backend that has no matmul_multi entry. */
static void run_without_entry(apollo__backend *be)
{
    apollo__backend_vtbl vt = *be->vt;
    const apollo__backend_vtbl *saved = be->vt;
    static const int64_t qkv[] = {203, 36, 36};
    vt.matmul_multi = NULL;
    be->vt = &vt;
    for (int64_t M = 1; M <= 17; M += 8) {
        run_set(be, "qkv, no entry", APOLLO__DT_BF16, M, 100, 3, qkv, 7);
        run_set(be, "qkv, no entry", APOLLO__DT_Q8, M, 100, 3, qkv, 3);
    }
    be->vt = saved;
}

static void check_bad_shape(apollo__backend *be)
{
    wset s;
    const apollo__tensor *wp[2];
    float *y[2];
    float x[64] = {0}, y0[64], y1[64];
    s.n = 2;
    make_weight(&s, 0, APOLLO__DT_BF16, 8, 8, 0);
    make_weight(&s, 1, APOLLO__DT_BF16, 8, 4, 0); /* K = 4, not 8 */
    wp[0] = &s.w[0];
    wp[1] = &s.w[1];
    y[0] = y0;
    y[1] = y1;
    CHECK_EQ_INT(apollo__matmul_multi(be, x, 1, 8, 2, wp, NULL, y), APOLLO_E_INVALID_ARG);
    free_set(&s);
}

int main(void)
{
    static const int32_t threads[] = {1, 3};
    for (int t = 0; t < 2; t++) {
        apollo__backend *be = NULL;
        int rc = apollo__backend_create(APOLLO_BACKEND_CPU, threads[t], &be);
        CHECK_EQ_INT(rc, APOLLO_OK);
        if (rc)
            return test_finish("matmul_multi");
        CHECK(be->vt->matmul_multi != NULL);
        run_backend(be);
        run_without_entry(be);
        check_bad_shape(be);
        printf("cpu, %d threads: ok\n", threads[t]);
        apollo__backend_free(be);
    }
#ifdef APOLLO_HAVE_ONEDNN
    {
        apollo__backend *be = NULL;
        int rc = apollo__backend_create(APOLLO_BACKEND_ONEDNN, 2, &be);
        CHECK_EQ_INT(rc, APOLLO_OK);
        if (!rc) {
            static const int64_t qkv[] = {203, 36, 36};
            for (int64_t M = 1; M <= 17; M += 8) {
                run_set(be, "qkv", APOLLO__DT_BF16, M, 100, 3, qkv, 7);
                run_set(be, "qkv", APOLLO__DT_Q8, M, 100, 3, qkv, 7);
            }
            printf("onednn (separate calls), 2 threads: ok\n");
            apollo__backend_free(be);
        }
    }
#endif
    return test_finish("matmul_multi");
}
