/* The oneDNN backend's matmul at each precision against a double-precision
 * loop, per output element, with bounds that scale with S = sum_k |x_k w_k|:
 *
 *   PREC_F32   |y - r| <= 1e-5 S + 1e-6           (f32 products and sums)
 *   PREC_BF16  |y - r| <= 2^-8 S + 1e-6           (x rounded to bf16: <= 2^-9
 *              of each product; where oneDNN has no native bf16 it computes
 *              as f32, which is inside the same bound)
 *   PREC_INT8  |y - r| <= sum_k (|x_k| s_n + |w_k| t_m) / 2 + K s_n t_m / 4
 *              (+ 1e-4 of that, + 1e-5 S + 1e-6): x_k = (u_k - 128) t_m + e_x
 *              and w_k = q_k s_n + e_w with |e_x| <= t_m / 2, |e_w| <= s_n / 2,
 *              s_n = max|w_n| / L (L = 127, or 63 where the CPU's u8*s8
 *              kernels saturate), t_m = max|x_m| / 127; the int32 sum is exact.
 *   Q8 weights on oneDNN's int8 (apollo__onednn_set_q8_int8, M >= 16): the
 *              same bound with exact weights (the Q8 values q s_n are the
 *              weight: e_w = 0) and t_m = max|x_m| / A (A = 127, or 64 where
 *              the u8*s8 kernels saturate):  sum_k |w_k| t_m / 2 (+ ...).
 *
 * Shapes include M = 1 (decode), 7 and 64 (prefill chunks), 300 (beyond the
 * largest M bucket), odd N and K, with and without bias, F32/BF16/F16
 * weights at unaligned addresses.  Then the cache: a weight is packed once
 * per precision (counted), repeated calls are bit-identical, a reused
 * address with new contents is repacked, the pack budget sends weights to
 * the CPU kernels, the M-bucket and oneDNN-reorder variants agree with the
 * main path, and two threads calling at once get the single-thread bits.
 * Q8 weights (APOLLO_PRECISION_INT8's dtype) go to the CPU kernels unless
 * apollo__onednn_set_q8_int8 is on; then M >= 16 runs oneDNN's int8 on their
 * rows (bound above, every variant bit-identical: int32 sums are exact) and
 * M < 16 stays the CPU backend's bits.  Every allocation failure is reported
 * as APOLLO_E_NOMEM.  Except in test_f32_rule,
 * f32 products are forced through oneDNN (APOLLO__ONEDNN_FORCE_F32) where
 * the backend would give them to the CPU kernels by default. */
#include "apollo.h"
#include "backend.h"
#include "common/alloc.h"
#include "common/quant.h"
#include "testrand.h"
#include "testutil.h"

#ifdef APOLLO_HAVE_ONEDNN
#include "onednn/onednn_hooks.h"
#endif

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 4242;

typedef struct wbuf {
    unsigned char *mem; /* +1: unaligned data, as in safetensors files */
    apollo__tensor t;
} wbuf;

static void wbuf_make(wbuf *b, apollo__dtype dt, int64_t N, int64_t K)
{
    size_t es = apollo__dtype_size(dt);
    b->mem = malloc((size_t)(N * K) * es + 1);
    memset(&b->t, 0, sizeof b->t);
    test_fill_weights(&rng, b->mem + 1, N * K, (int)es, dt == APOLLO__DT_BF16);
    b->t.dtype = dt;
    b->t.n_dims = 2;
    b->t.shape[0] = N;
    b->t.shape[1] = K;
    b->t.data = b->mem + 1;
}

static float *rand_floats(int64_t n, float scale)
{
    float *p = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        p[i] = test_frand(&rng) * scale;
    return p;
}

/* Checks y against the double loop with the bound of prec; returns the
 * worst |y - r| / bound.  PREC_INT8: weight levels L (0: the weights are
 * exact, as Q8 weights are) and activation levels A. */
static double check_bound_act(const float *x, const apollo__tensor *w, const float *bias,
                              int64_t M, const float *y, int32_t prec, int32_t levels,
                              int32_t act_levels, const char *what)
{
    const int64_t N = w->shape[0], K = w->shape[1];
    float *wf = malloc((size_t)(N * K) * sizeof(float));
    double worst = 0;
    int reported = 0;
    apollo__to_f32(w->dtype, w->data, wf, (size_t)(N * K));
    for (int64_t m = 0; m < M; m++) {
        const float *xr = x + m * K;
        double xmax = 0, t;
        for (int64_t k = 0; k < K; k++)
            xmax = fmax(xmax, fabs(xr[k]));
        t = xmax / (act_levels > 0 ? act_levels : 127);
        for (int64_t n = 0; n < N; n++) {
            const float *wr = wf + n * K;
            double r = bias ? bias[n] : 0, S = 0, wmax = 0, bound, err;
            for (int64_t k = 0; k < K; k++) {
                r += (double)xr[k] * wr[k];
                S += fabs((double)xr[k] * wr[k]);
                wmax = fmax(wmax, fabs(wr[k]));
            }
            if (prec == APOLLO__PREC_F32) {
                bound = 1e-5 * S + 1e-6;
            } else if (prec == APOLLO__PREC_BF16) {
                bound = S / 256.0 + 1e-6;
            } else {
                double s = levels > 0 ? wmax / levels : 0, q = 0;
                for (int64_t k = 0; k < K; k++)
                    q += fabs(xr[k]) * s / 2 + fabs(wr[k]) * t / 2 + s * t / 4;
                bound = q * (1 + 1e-4) + 1e-5 * S + 1e-6;
            }
            err = fabs((double)y[m * N + n] - r);
            if (!(err <= bound) && reported++ < 3)
                CHECK_MSG(0, "%s: y[%lld,%lld] = %.9g, reference %.9g, |err| %.3g > bound %.3g",
                          what, (long long)m, (long long)n, y[m * N + n], r, err, bound);
            if (err / bound > worst || err != err)
                worst = err != err ? INFINITY : err / bound;
        }
    }
    test_n_checks++;
    free(wf);
    return worst;
}

static double check_bound(const float *x, const apollo__tensor *w, const float *bias, int64_t M,
                          const float *y, int32_t prec, int32_t levels, const char *what)
{
    return check_bound_act(x, w, bias, M, y, prec, levels, 127, what);
}

#ifdef APOLLO_HAVE_ONEDNN

static const char *prec_name(int32_t p)
{
    return p == APOLLO__PREC_F32 ? "f32" : p == APOLLO__PREC_BF16 ? "bf16" : "int8";
}

static char log_text[4096];
static void on_log(void *ud, int32_t level, const char *msg)
{
    (void)ud;
    (void)level;
    size_t l = strlen(log_text);
    snprintf(log_text + l, sizeof log_text - l, "%s\n", msg);
}

/* A oneDNN backend whose f32 products run in oneDNN even on CPUs where the
 * backend would hand them to the CPU kernels (f32_on_cpu): the tests check
 * oneDNN's arithmetic; test_f32_rule checks the routing itself. */
static apollo__backend *new_backend(int32_t threads)
{
    apollo__backend *be = NULL;
    CHECK_EQ_INT(apollo__backend_create(APOLLO_BACKEND_ONEDNN, threads, &be), APOLLO_OK);
    if (be) {
        be->log_fn = on_log;
        be->log_user_data = NULL;
        apollo__onednn_set_debug(be, APOLLO__ONEDNN_FORCE_F32);
    }
    return be;
}

static int32_t int8_levels(apollo__backend *be)
{
    apollo__onednn_stats st;
    apollo__onednn_get_stats(be, &st);
    return st.int8_levels;
}

/* ---- each precision against the double loop ------------------------------------------------- */

static void test_precisions(void)
{
    static const int64_t shapes[][3] = {{1, 64, 33},   {1, 1031, 257}, {7, 300, 65},
                                        {64, 129, 257}, {300, 96, 31}, {2, 8, 8}};
    static const apollo__dtype dts[] = {APOLLO__DT_BF16, APOLLO__DT_F32, APOLLO__DT_F16};
    static const int32_t precs[] = {APOLLO__PREC_F32, APOLLO__PREC_BF16, APOLLO__PREC_INT8};
    apollo__backend *be = new_backend(2);
    double worst[3] = {0, 0, 0};
    if (!be)
        return;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t d = 0; d < 3; d++) {
            const int64_t M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
            wbuf w;
            float *x = rand_floats(M * K, 2.0f), *bias = rand_floats(N, 1.0f);
            float *y = malloc((size_t)(M * N) * sizeof(float));
            wbuf_make(&w, dts[d], N, K);
            /* one outlier per row, as LLM activations have: the per-row int8
             * scale must cope */
            for (int64_t m = 0; m < M; m++)
                x[m * K + (m * 7) % K] = 40.0f;
            for (int p = 0; p < 3; p++)
                for (int with_bias = 0; with_bias < 2; with_bias++) {
                    char what[128];
                    double r;
                    snprintf(what, sizeof what, "%s %s M=%lld K=%lld N=%lld bias=%d",
                             prec_name(precs[p]), apollo__dtype_name(dts[d]), (long long)M,
                             (long long)K, (long long)N, with_bias);
                    be->precision = precs[p];
                    memset(y, 0xff, (size_t)(M * N) * sizeof(float));
                    CHECK_EQ_INT(apollo__matmul(be, x, M, K, &w.t, with_bias ? bias : NULL, y),
                                 APOLLO_OK);
                    r = check_bound(x, &w.t, with_bias ? bias : NULL, M, y, precs[p],
                                    int8_levels(be), what);
                    if (r > worst[p])
                        worst[p] = r;
                }
            {
                char desc[160];
                CHECK_EQ_INT(apollo__onednn_describe(be, &w.t, APOLLO__PREC_INT8, desc,
                                                     sizeof desc, NULL),
                             0);
                CHECK_MSG(!strncmp(desc, "s8 ", 3), "int8 weight described as '%s'", desc);
                if (s == 0 && d == 0)
                    printf("  int8 %lldx%lld: %s\n", (long long)N, (long long)K, desc);
            }
            be->precision = APOLLO__PREC_F32;
            apollo__onednn_clear_cache(be); /* the weight is freed next */
            free(w.mem);
            free(x);
            free(bias);
            free(y);
        }
    printf("worst |err| / bound: f32 %.3g, bf16 %.3g, int8 %.3g (int8 weight levels %d)\n",
           worst[0], worst[1], worst[2], int8_levels(be));
    apollo__backend_free(be);
}

/* ---- cache: packs counted, repeated calls identical ------------------------------------------ */

static void test_cache(void)
{
    apollo__backend *be = new_backend(2);
    apollo__onednn_stats st0, st1;
    const int64_t K = 200, N = 77;
    wbuf w;
    float *x = rand_floats(64 * K, 1.0f), *y1 = malloc(64 * N * sizeof(float)),
          *y2 = malloc(64 * N * sizeof(float));
    if (!be)
        return;
    wbuf_make(&w, APOLLO__DT_BF16, N, K);
    for (int p = 0; p < 3; p++) {
        const int32_t prec = p == 0 ? APOLLO__PREC_F32 : p == 1 ? APOLLO__PREC_INT8 : APOLLO__PREC_BF16;
        be->precision = prec;
        apollo__onednn_get_stats(be, &st0);
        CHECK_EQ_INT(apollo__matmul(be, x, 64, K, &w.t, NULL, y1), APOLLO_OK);
        apollo__onednn_get_stats(be, &st1);
        /* bf16 falls back to the f32 entry where it is not native: no new pack */
        if (prec != APOLLO__PREC_BF16 || st1.bf16_native)
            CHECK_EQ_INT(st1.n_packs, st0.n_packs + 1);
        for (int64_t M = 1; M <= 64; M = M * 4 + 3) { /* 1, 7, 31: other M classes */
            CHECK_EQ_INT(apollo__matmul(be, x, M, K, &w.t, NULL, y2), APOLLO_OK);
            CHECK_EQ_INT(apollo__matmul(be, x, M, K, &w.t, NULL, y1), APOLLO_OK);
            CHECK_MSG(!memcmp(y1, y2, (size_t)(M * N) * sizeof(float)),
                      "%s M=%lld: two calls differ", prec_name(prec), (long long)M);
        }
        CHECK_EQ_INT(apollo__matmul(be, x, 64, K, &w.t, NULL, y2), APOLLO_OK);
        apollo__onednn_get_stats(be, &st0);
        CHECK_EQ_INT(st0.n_packs, st1.n_packs);
        CHECK_EQ_INT(st0.n_cpu_calls, 0);
    }
    printf("cache: %lld packs, %lld entries, %.1f KB packed for one %lldx%lld weight at 3 "
           "precisions\n",
           (long long)st0.n_packs, (long long)st0.n_entries, (double)st0.packed_bytes / 1024.0,
           (long long)N, (long long)K);

    /* the same address with new contents (freed and reused): repacked */
    be->precision = APOLLO__PREC_F32;
    test_fill_weights(&rng, w.mem + 1, N * K, 2, 1);
    CHECK_EQ_INT(apollo__matmul(be, x, 7, K, &w.t, NULL, y1), APOLLO_OK);
    apollo__onednn_get_stats(be, &st1);
    CHECK_EQ_INT(st1.n_packs, st0.n_packs + 1);
    check_bound(x, &w.t, NULL, 7, y1, APOLLO__PREC_F32, 0, "f32 after reuse of the address");

    /* budget 0: nothing more is packed, the CPU kernels compute */
    apollo__onednn_clear_cache(be);
    apollo__onednn_set_pack_budget(be, 0);
    log_text[0] = '\0';
    for (int p = 0; p < 2; p++) {
        char desc[160] = "";
        be->precision = p ? APOLLO__PREC_INT8 : APOLLO__PREC_F32;
        CHECK_EQ_INT(apollo__matmul(be, x, 7, K, &w.t, NULL, y1), APOLLO_OK);
        check_bound(x, &w.t, NULL, 7, y1, APOLLO__PREC_F32, 0, "over budget (CPU kernels)");
        CHECK_EQ_INT(apollo__onednn_describe(be, &w.t, be->precision, desc, sizeof desc, NULL), 0);
        CHECK_STR_CONTAINS(desc, "cpu-kernels");
    }
    apollo__onednn_get_stats(be, &st1);
    CHECK_EQ_INT(st1.n_cpu_calls, 2);
    CHECK_EQ_INT(st1.packed_bytes, 0);
    CHECK_STR_CONTAINS(log_text, "pack budget");
    apollo__onednn_clear_cache(be);
    free(w.mem);
    free(x);
    free(y1);
    free(y2);
    apollo__backend_free(be);
}

/* ---- variants: M buckets, oneDNN reorder, bf16 attempt ---------------------------------------- */

static void test_variants(void)
{
    static const int64_t Ms[] = {1, 7, 64, 300};
    const int64_t K = 129, N = 70;
    apollo__backend *ref = new_backend(2), *bk = new_backend(2), *ro = new_backend(2),
                    *nq = new_backend(2);
    wbuf w;
    float *x = rand_floats(300 * K, 1.0f), *bias = rand_floats(N, 1.0f);
    float *ya = malloc(300 * N * sizeof(float)), *yb = malloc(300 * N * sizeof(float));
    if (!ref || !bk || !ro || !nq)
        return;
    wbuf_make(&w, APOLLO__DT_BF16, N, K);
    apollo__onednn_set_debug(bk, APOLLO__ONEDNN_FORCE_BUCKETS | APOLLO__ONEDNN_FORCE_F32);
    apollo__onednn_set_debug(ro, APOLLO__ONEDNN_FORCE_REORDER | APOLLO__ONEDNN_FORCE_F32);
    apollo__onednn_set_debug(nq, APOLLO__ONEDNN_NO_Q8_VIEW | APOLLO__ONEDNN_FORCE_F32);
    for (int p = 0; p < 2; p++) {
        const int32_t prec = p ? APOLLO__PREC_INT8 : APOLLO__PREC_F32;
        ref->precision = bk->precision = ro->precision = nq->precision = prec;
        for (size_t i = 0; i < sizeof Ms / sizeof Ms[0]; i++) {
            const int64_t M = Ms[i];
            char what[96];
            CHECK_EQ_INT(apollo__matmul(ref, x, M, K, &w.t, bias, ya), APOLLO_OK);
            CHECK_EQ_INT(apollo__matmul(bk, x, M, K, &w.t, bias, yb), APOLLO_OK);
            snprintf(what, sizeof what, "%s M buckets M=%lld", prec_name(prec), (long long)M);
            check_bound(x, &w.t, bias, M, yb, prec, int8_levels(bk), what);
            CHECK_EQ_INT(apollo__matmul(nq, x, M, K, &w.t, bias, yb), APOLLO_OK);
            snprintf(what, sizeof what, "%s oneDNN layout at every M, M=%lld", prec_name(prec),
                     (long long)M);
            check_bound(x, &w.t, bias, M, yb, prec, int8_levels(nq), what);
            CHECK_EQ_INT(apollo__matmul(ro, x, M, K, &w.t, bias, yb), APOLLO_OK);
            snprintf(what, sizeof what, "%s oneDNN reorder M=%lld", prec_name(prec), (long long)M);
            check_bound(x, &w.t, bias, M, yb, prec, int8_levels(ro), what);
            /* same packed bits, same primitive: same results */
            CHECK_MSG(!memcmp(ya, yb, (size_t)(M * N) * sizeof(float)),
                      "%s M=%lld: reorder-packed weight gives other results", prec_name(prec),
                      (long long)M);
        }
        {
            char desc[160];
            CHECK_EQ_INT(apollo__onednn_describe(bk, &w.t, prec, desc, sizeof desc, NULL), 0);
            CHECK_STR_CONTAINS(desc, "M-buckets");
            CHECK_EQ_INT(apollo__onednn_describe(ref, &w.t, prec, desc, sizeof desc, NULL), 0);
            printf("  %s: %s\n", prec_name(prec), desc);
            CHECK_EQ_INT(apollo__onednn_describe(nq, &w.t, prec, desc, sizeof desc, NULL), 0);
            if (prec == APOLLO__PREC_INT8)
                printf("  %s (APOLLO__ONEDNN_NO_Q8_VIEW): %s\n", prec_name(prec), desc);
        }
    }

    /* bf16: native where oneDNN can; elsewhere f32, saying why */
    {
        apollo__onednn_stats st;
        apollo__backend *tb = new_backend(1);
        if (tb) {
            log_text[0] = '\0';
            ref->precision = APOLLO__PREC_BF16;
            CHECK_EQ_INT(apollo__matmul(ref, x, 7, K, &w.t, NULL, ya), APOLLO_OK);
            check_bound(x, &w.t, NULL, 7, ya, APOLLO__PREC_BF16, 0, "bf16");
            apollo__onednn_get_stats(ref, &st);
            if (!st.bf16_native)
                CHECK_STR_CONTAINS(log_text, "no native bf16");
            /* forced attempt: the primitive is created (native) or refused /
             * reference-only, then f32 with a warning */
            log_text[0] = '\0';
            apollo__onednn_set_debug(tb, APOLLO__ONEDNN_TRY_BF16 | APOLLO__ONEDNN_FORCE_F32);
            tb->precision = APOLLO__PREC_BF16;
            CHECK_EQ_INT(apollo__matmul(tb, x, 7, K, &w.t, NULL, yb), APOLLO_OK);
            check_bound(x, &w.t, NULL, 7, yb, APOLLO__PREC_BF16, 0, "bf16 forced attempt");
            printf("  bf16 (native %d): %s", st.bf16_native,
                   log_text[0] ? log_text : "oneDNN bf16 primitive in use\n");
            apollo__backend_free(tb);
        }
    }
    free(w.mem);
    free(x);
    free(bias);
    free(ya);
    free(yb);
    apollo__backend_free(ref);
    apollo__backend_free(bk);
    apollo__backend_free(ro);
    apollo__backend_free(nq);
}

/* ---- two threads on one backend ----------------------------------------------------------------- */

#define N_WEIGHTS 6
typedef struct thread_arg {
    apollo__backend *be;
    const wbuf *w;
    const float *x;
    float *y[N_WEIGHTS];
    int64_t M;
    int rc, order;
} thread_arg;

static void *thread_main(void *vp)
{
    thread_arg *a = vp;
    for (int rep = 0; rep < 3; rep++)
        for (int i = 0; i < N_WEIGHTS; i++) {
            int k = a->order ? N_WEIGHTS - 1 - i : i;
            int rc = apollo__matmul(a->be, a->x, a->M, a->w[k].t.shape[1], &a->w[k].t, NULL,
                                    a->y[k]);
            if (rc)
                a->rc = rc;
        }
    return NULL;
}

static void test_threads(void)
{
    const int64_t K = 512, N = 300;
    wbuf w[N_WEIGHTS];
    float *x = rand_floats(64 * K, 1.0f);
    for (int i = 0; i < N_WEIGHTS; i++)
        wbuf_make(&w[i], i % 2 ? APOLLO__DT_F16 : APOLLO__DT_BF16, N + i, K);
    for (int p = 0; p < 2; p++) {
        const int32_t prec = p ? APOLLO__PREC_INT8 : APOLLO__PREC_F32;
        for (int mi = 0; mi < 2; mi++) {
            const int64_t M = mi ? 64 : 1;
            apollo__backend *single = new_backend(2), *shared = new_backend(2);
            thread_arg ta[2];
            pthread_t th[2];
            float *ref[N_WEIGHTS];
            if (!single || !shared)
                return;
            single->precision = shared->precision = prec;
            for (int i = 0; i < N_WEIGHTS; i++) {
                ref[i] = malloc((size_t)(M * (N + i)) * sizeof(float));
                CHECK_EQ_INT(apollo__matmul(single, x, M, K, &w[i].t, NULL, ref[i]), APOLLO_OK);
            }
            /* a fresh backend: the two threads also race to pack the weights */
            for (int t = 0; t < 2; t++) {
                ta[t].be = shared;
                ta[t].w = w;
                ta[t].x = x;
                ta[t].M = M;
                ta[t].rc = 0;
                ta[t].order = t;
                for (int i = 0; i < N_WEIGHTS; i++)
                    ta[t].y[i] = malloc((size_t)(M * (N + i)) * sizeof(float));
                CHECK_EQ_INT(pthread_create(&th[t], NULL, thread_main, &ta[t]), 0);
            }
            for (int t = 0; t < 2; t++) {
                pthread_join(th[t], NULL);
                CHECK_EQ_INT(ta[t].rc, APOLLO_OK);
                for (int i = 0; i < N_WEIGHTS; i++)
                    CHECK_MSG(!memcmp(ta[t].y[i], ref[i], (size_t)(M * (N + i)) * sizeof(float)),
                              "%s M=%lld thread %d weight %d: differs from the single-thread "
                              "result", prec_name(prec), (long long)M, t, i);
            }
            {
                apollo__onednn_stats st;
                apollo__onednn_get_stats(shared, &st);
                CHECK_EQ_INT(st.n_packs, N_WEIGHTS); /* each weight packed once */
            }
            for (int t = 0; t < 2; t++)
                for (int i = 0; i < N_WEIGHTS; i++)
                    free(ta[t].y[i]);
            for (int i = 0; i < N_WEIGHTS; i++)
                free(ref[i]);
            apollo__backend_free(single);
            apollo__backend_free(shared);
        }
    }
    printf("2 threads on one backend: identical to one thread (f32, int8; M = 1, 64)\n");
    for (int i = 0; i < N_WEIGHTS; i++)
        free(w[i].mem);
    free(x);
}

/* ---- the f32 rule: where oneDNN's f32 matmul is its plain GEMM, the CPU kernels ------------ */

static void test_f32_rule(void)
{
    const int64_t K = 150, N = 60;
    apollo__backend *cpu = NULL, *be = NULL;
    apollo__onednn_stats st;
    wbuf w;
    float *x = rand_floats(20 * K, 1.0f), *ya = malloc(20 * N * sizeof(float)),
          *yb = malloc(20 * N * sizeof(float));
    char desc[160] = "";
    CHECK_EQ_INT(apollo__backend_create(APOLLO_BACKEND_CPU, 2, &cpu), APOLLO_OK);
    CHECK_EQ_INT(apollo__backend_create(APOLLO_BACKEND_ONEDNN, 2, &be), APOLLO_OK);
    if (!cpu || !be)
        return;
    wbuf_make(&w, APOLLO__DT_BF16, N, K);
    apollo__onednn_get_stats(be, &st);
    for (int64_t M = 1; M <= 20; M += 19) {
        CHECK_EQ_INT(apollo__matmul(be, x, M, K, &w.t, NULL, yb), APOLLO_OK);
        check_bound(x, &w.t, NULL, M, yb, APOLLO__PREC_F32, 0, "f32 by the default rule");
        if (st.f32_on_cpu) { /* the CPU backend's own kernels: its very bits */
            CHECK_EQ_INT(apollo__matmul(cpu, x, M, K, &w.t, NULL, ya), APOLLO_OK);
            CHECK_MSG(!memcmp(ya, yb, (size_t)(M * N) * sizeof(float)),
                      "f32 on the CPU kernels, M=%lld: differs from the CPU backend", (long long)M);
        }
    }
    CHECK_EQ_INT(apollo__onednn_describe(be, &w.t, APOLLO__PREC_F32, desc, sizeof desc, NULL), 0);
    apollo__onednn_get_stats(be, &st);
    CHECK_EQ_INT(st.n_packs, st.f32_on_cpu ? 0 : 1);
    CHECK_EQ_INT(st.n_cpu_calls, st.f32_on_cpu ? 2 : 0);
    printf("f32 by default (f32_on_cpu %d): %s\n", st.f32_on_cpu, desc);
    /* int8 still runs in oneDNN */
    be->precision = APOLLO__PREC_INT8;
    CHECK_EQ_INT(apollo__matmul(be, x, 20, K, &w.t, NULL, yb), APOLLO_OK);
    apollo__onednn_get_stats(be, &st);
    CHECK_EQ_INT(st.n_packs, st.f32_on_cpu ? 1 : 2);
    free(w.mem);
    free(x);
    free(ya);
    free(yb);
    apollo__backend_free(cpu);
    apollo__backend_free(be);
}

/* ---- weights of other dtypes (Q8) go to the CPU kernels --------------------------------------- */

static void test_q8_routed(void)
{
    const int64_t K = 300, N = 45;
    apollo__backend *cpu = NULL, *be = new_backend(2);
    apollo__onednn_stats st;
    wbuf w;
    apollo__tensor q;
    int8_t *qd = malloc((size_t)(N * K));
    float *qs = malloc((size_t)N * sizeof(float)), *x = rand_floats(20 * K, 1.0f),
          *bias = rand_floats(N, 1.0f), *ya = malloc(20 * N * sizeof(float)),
          *yb = malloc(20 * N * sizeof(float));
    CHECK_EQ_INT(apollo__backend_create(APOLLO_BACKEND_CPU, 2, &cpu), APOLLO_OK);
    if (!cpu || !be)
        return;
    wbuf_make(&w, APOLLO__DT_BF16, N, K);
    q = w.t;
    for (int64_t n = 0; n < N; n++)
        qs[n] = apollo__q8_quantize_row(w.t.dtype, apollo__tensor_row(&w.t, n), K, qd + n * K);
    q.dtype = APOLLO__DT_Q8;
    q.data = qd;
    q.scale = qs;
    for (int p = 0; p < 2; p++) {
        cpu->precision = be->precision = p ? APOLLO__PREC_INT8 : APOLLO__PREC_F32;
        for (int64_t M = 1; M <= 20; M += 19) { /* GEMV and GEMM kernels */
            CHECK_EQ_INT(apollo__matmul(cpu, x, M, K, &q, bias, ya), APOLLO_OK);
            CHECK_EQ_INT(apollo__matmul(be, x, M, K, &q, bias, yb), APOLLO_OK);
            CHECK_MSG(!memcmp(ya, yb, (size_t)(M * N) * sizeof(float)),
                      "Q8 weight, M=%lld: oneDNN backend differs from the CPU backend",
                      (long long)M);
        }
    }
    apollo__onednn_get_stats(be, &st);
    CHECK_EQ_INT(st.n_cpu_calls, 4);
    CHECK_EQ_INT(st.n_entries, 0);
    printf("Q8 weights: computed by the CPU kernels, identical to the CPU backend\n");
    free(w.mem);
    free(qd);
    free(qs);
    free(x);
    free(bias);
    free(ya);
    free(yb);
    apollo__backend_free(cpu);
    apollo__backend_free(be);
}

/* ---- Q8 weights on oneDNN's int8 (apollo__onednn_set_q8_int8) --------------------------------- */

/* A Q8 weight (bf16 rows quantized as apollo_ctx_open does; row 0 all
 * zero: scale 0; rows 1 and 2 all 127 and all -127: the extremes of the row
 * sums and of the u8*s8 pairs) and its exact values q * s as an F32 tensor. */
typedef struct q8buf {
    int8_t *q;
    float *s, *f;
    apollo__tensor t, tf;
} q8buf;

static void q8_make(q8buf *b, int64_t N, int64_t K)
{
    wbuf w;
    wbuf_make(&w, APOLLO__DT_BF16, N, K);
    memset(w.mem + 1, 0, (size_t)K * 2);
    b->q = malloc((size_t)(N * K));
    b->s = malloc((size_t)N * sizeof(float));
    b->f = malloc((size_t)(N * K) * sizeof(float));
    for (int64_t n = 0; n < N; n++) {
        b->s[n] = apollo__q8_quantize_row(w.t.dtype, apollo__tensor_row(&w.t, n), K, b->q + n * K);
        if (n == 1 || n == 2)
            memset(b->q + n * K, n == 1 ? 127 : -127, (size_t)K);
        for (int64_t k = 0; k < K; k++)
            b->f[n * K + k] = (float)b->q[n * K + k] * b->s[n];
    }
    b->t = b->tf = w.t;
    b->t.dtype = APOLLO__DT_Q8;
    b->t.data = b->q;
    b->t.scale = b->s;
    b->tf.dtype = APOLLO__DT_F32;
    b->tf.data = b->f;
    free(w.mem);
}

static void q8_free(q8buf *b)
{
    free(b->q);
    free(b->s);
    free(b->f);
}

static void test_q8_int8(void)
{
    static const int64_t shapes[][3] = {{16, 64, 33},  {17, 1031, 257}, {64, 129, 257},
                                        {300, 96, 31}, {20, 8, 8},      {7, 300, 45},
                                        {1, 300, 45},  {15, 33, 20}};
    static const uint32_t var_debug[3] = {APOLLO__ONEDNN_FORCE_BUCKETS,
                                          APOLLO__ONEDNN_FORCE_REORDER,
                                          APOLLO__ONEDNN_NO_Q8_VIEW};
    static const char *const var_name[3] = {"M buckets", "reorder", "oneDNN layout"};
    apollo__backend *cpu = NULL, *be = new_backend(2), *off = new_backend(2), *var[3];
    apollo__onednn_stats st;
    double worst = 0;
    int64_t n_big = 0;
    int32_t A;
    CHECK_EQ_INT(apollo__backend_create(APOLLO_BACKEND_CPU, 2, &cpu), APOLLO_OK);
    for (int v = 0; v < 3; v++) {
        var[v] = new_backend(2);
        if (!var[v])
            return;
        apollo__onednn_set_debug(var[v], var_debug[v] | APOLLO__ONEDNN_FORCE_F32);
        apollo__onednn_set_q8_int8(var[v], 1);
    }
    if (!cpu || !be || !off)
        return;
    apollo__onednn_set_q8_int8(be, 1);
    apollo__onednn_get_stats(be, &st);
    CHECK_EQ_INT(st.q8_int8, 1);
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int64_t M = shapes[si][0], K = shapes[si][1], N = shapes[si][2];
        q8buf q;
        float *x = rand_floats(M * K, 2.0f), *bias = rand_floats(N, 1.0f);
        float *y = malloc((size_t)(M * N) * sizeof(float)),
              *yb = malloc((size_t)(M * N) * sizeof(float));
        q8_make(&q, N, K);
        for (int64_t m = 0; m < M; m++) /* an outlier per row */
            x[m * K + (m * 7) % K] = 40.0f;
        if (M > 3)
            memset(x + 3 * K, 0, (size_t)K * sizeof(float)); /* t_m = 0 */
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            const float *bp = with_bias ? bias : NULL;
            char what[128];
            snprintf(what, sizeof what, "Q8 on oneDNN int8 M=%lld K=%lld N=%lld bias=%d",
                     (long long)M, (long long)K, (long long)N, with_bias);
            memset(y, 0xff, (size_t)(M * N) * sizeof(float));
            CHECK_EQ_INT(apollo__matmul(be, x, M, K, &q.t, bp, y), APOLLO_OK);
            if (M < 16) { /* decode-sized: the CPU backend's Q8 GEMV, its very bits */
                CHECK_EQ_INT(apollo__matmul(cpu, x, M, K, &q.t, bp, yb), APOLLO_OK);
                CHECK_MSG(!memcmp(y, yb, (size_t)(M * N) * sizeof(float)),
                          "%s: differs from the CPU backend", what);
                continue;
            }
            n_big++;
            apollo__onednn_get_stats(be, &st);
            A = st.q8_act_levels;
            CHECK_MSG(A == 127 || A == 64, "q8_act_levels %d", A);
            CHECK_MSG(A == 127 || st.int8_levels == 63, "narrow activations with levels %d",
                      st.int8_levels);
            {
                double r = check_bound_act(x, &q.tf, bp, M, y, APOLLO__PREC_INT8, 0, A, what);
                if (r > worst)
                    worst = r;
            }
            /* exact int32 sums: every layout and M split gives the same bits */
            for (int v = 0; v < 3; v++) {
                memset(yb, 0xff, (size_t)(M * N) * sizeof(float));
                CHECK_EQ_INT(apollo__matmul(var[v], x, M, K, &q.t, bp, yb), APOLLO_OK);
                CHECK_MSG(!memcmp(y, yb, (size_t)(M * N) * sizeof(float)), "%s, %s: other bits",
                          what, var_name[v]);
            }
            /* switched off: the CPU kernels with f32 activations */
            CHECK_EQ_INT(apollo__matmul(off, x, M, K, &q.t, bp, yb), APOLLO_OK);
            CHECK_EQ_INT(apollo__matmul(cpu, x, M, K, &q.t, bp, y), APOLLO_OK);
            CHECK_MSG(!memcmp(y, yb, (size_t)(M * N) * sizeof(float)),
                      "%s, switched off: differs from the CPU backend", what);
        }
        if (M >= 16) {
            char desc[200] = "";
            int64_t rb = 0;
            CHECK_EQ_INT(apollo__onednn_describe(be, &q.t, APOLLO__PREC_F32, desc, sizeof desc,
                                                 &rb), 0);
            CHECK_MSG(!strncmp(desc, "s8 from Q8 ", 11), "Q8 weight described as '%s'", desc);
            apollo__onednn_get_stats(be, &st);
            if (strstr(desc, "M<16: CPU Q8 GEMV")) /* the Q8 rows in place: scales + sums */
                CHECK_EQ_INT(st.packed_bytes, 8 * N);
            if (si == 0)
                printf("  Q8 %lldx%lld: %s\n", (long long)N, (long long)K, desc);
            for (int v = 0; v < 3; v++) {
                CHECK_EQ_INT(apollo__onednn_describe(var[v], &q.t, APOLLO__PREC_F32, desc,
                                                     sizeof desc, NULL), 0);
                if (si == 0)
                    printf("  Q8 %lldx%lld, %s: %s\n", (long long)N, (long long)K, var_name[v],
                           desc);
            }
        }
        apollo__onednn_clear_cache(be);
        for (int v = 0; v < 3; v++)
            apollo__onednn_clear_cache(var[v]);
        q8_free(&q);
        free(x);
        free(bias);
        free(y);
        free(yb);
    }
    apollo__onednn_get_stats(be, &st);
    CHECK_EQ_INT(st.n_q8_onednn_calls, n_big);
    CHECK_EQ_INT(st.n_cpu_calls, 2 * 3); /* the M < 16 shapes, with and without bias */
    apollo__onednn_get_stats(off, &st);
    CHECK_EQ_INT(st.n_q8_onednn_calls, 0);
    CHECK_EQ_INT(st.n_entries, 0);

    /* float weights are not affected by the switch */
    {
        const int64_t M = 20, K = 70, N = 30;
        wbuf w;
        float *x = rand_floats(M * K, 1.0f), *ya = malloc((size_t)(M * N) * sizeof(float)),
              *yb = malloc((size_t)(M * N) * sizeof(float));
        wbuf_make(&w, APOLLO__DT_BF16, N, K);
        for (int p = 0; p < 2; p++) {
            be->precision = off->precision = p ? APOLLO__PREC_INT8 : APOLLO__PREC_F32;
            CHECK_EQ_INT(apollo__matmul(be, x, M, K, &w.t, NULL, ya), APOLLO_OK);
            CHECK_EQ_INT(apollo__matmul(off, x, M, K, &w.t, NULL, yb), APOLLO_OK);
            CHECK_MSG(!memcmp(ya, yb, (size_t)(M * N) * sizeof(float)),
                      "bf16 weight, precision %d: the Q8 switch changed its result", p);
        }
        apollo__onednn_get_stats(be, &st);
        CHECK_EQ_INT(st.n_q8_onednn_calls, n_big);
        apollo__onednn_clear_cache(be);
        apollo__onednn_clear_cache(off);
        free(w.mem);
        free(x);
        free(ya);
        free(yb);
    }
    apollo__onednn_get_stats(be, &st);
    printf("Q8 weights on oneDNN int8 (M >= 16): worst |err| / bound %.3g (activations [-%d, %d], "
           "weight levels %d); M < 16 and switched off: the CPU backend's bits\n",
           worst, st.q8_act_levels, st.q8_act_levels, st.int8_levels);
    for (int v = 0; v < 3; v++)
        apollo__backend_free(var[v]);
    apollo__backend_free(cpu);
    apollo__backend_free(be);
    apollo__backend_free(off);
}

/* ---- allocation failures: every one reported, nothing cached half-built ------------------------ */

static void test_oom(void)
{
    const int64_t M = 7, K = 90, N = 40;
    wbuf w;
    float *x = rand_floats(M * K, 1.0f), *bias = rand_floats(N, 1.0f),
          *y = malloc((size_t)(M * N) * sizeof(float));
    int n_fail = 0;
    wbuf_make(&w, APOLLO__DT_BF16, N, K);
    for (int p = 0; p < 2; p++) {
        const int32_t prec = p ? APOLLO__PREC_INT8 : APOLLO__PREC_F32;
        uint64_t n_allocs;
        apollo__backend *be = new_backend(2);
        if (!be)
            return;
        be->precision = prec;
        apollo__alloc_reset_count();
        CHECK_EQ_INT(apollo__matmul(be, x, M, K, &w.t, bias, y), APOLLO_OK);
        n_allocs = apollo__alloc_count();
        apollo__backend_free(be);
        for (uint64_t k = 1; k <= n_allocs; k++) {
            int rc;
            be = new_backend(2);
            if (!be)
                return;
            be->precision = prec;
            apollo__alloc_fail_at(k);
            rc = apollo__matmul(be, x, M, K, &w.t, bias, y);
            apollo__alloc_fail_at(0);
            CHECK_MSG(rc == APOLLO_OK || rc == APOLLO_E_NOMEM, "%s: allocation %llu failed: rc %d",
                      prec_name(prec), (unsigned long long)k, rc);
            n_fail += rc == APOLLO_E_NOMEM;
            /* the next call works and is right */
            memset(y, 0, (size_t)(M * N) * sizeof(float));
            CHECK_EQ_INT(apollo__matmul(be, x, M, K, &w.t, bias, y), APOLLO_OK);
            check_bound(x, &w.t, bias, M, y, prec, int8_levels(be), "after a failed allocation");
            apollo__backend_free(be);
        }
    }
    { /* Q8 weights on oneDNN's int8 */
        const int64_t MQ = 20;
        q8buf q;
        uint64_t n_allocs;
        float *xq = rand_floats(MQ * K, 1.0f), *yq = malloc((size_t)(MQ * N) * sizeof(float));
        apollo__onednn_stats st;
        apollo__backend *be = new_backend(2);
        if (!be)
            return;
        q8_make(&q, N, K);
        apollo__onednn_set_q8_int8(be, 1);
        apollo__alloc_reset_count();
        CHECK_EQ_INT(apollo__matmul(be, xq, MQ, K, &q.t, bias, yq), APOLLO_OK);
        n_allocs = apollo__alloc_count();
        apollo__backend_free(be);
        for (uint64_t k = 1; k <= n_allocs; k++) {
            int rc;
            be = new_backend(2);
            if (!be)
                return;
            apollo__onednn_set_q8_int8(be, 1);
            apollo__alloc_fail_at(k);
            rc = apollo__matmul(be, xq, MQ, K, &q.t, bias, yq);
            apollo__alloc_fail_at(0);
            CHECK_MSG(rc == APOLLO_OK || rc == APOLLO_E_NOMEM, "Q8: allocation %llu failed: rc %d",
                      (unsigned long long)k, rc);
            n_fail += rc == APOLLO_E_NOMEM;
            memset(yq, 0, (size_t)(MQ * N) * sizeof(float));
            CHECK_EQ_INT(apollo__matmul(be, xq, MQ, K, &q.t, bias, yq), APOLLO_OK);
            apollo__onednn_get_stats(be, &st);
            /* a failed probe may leave the CPU kernels (f32 activations) in charge */
            check_bound_act(xq, &q.tf, bias, MQ, yq, APOLLO__PREC_INT8, 0,
                            st.q8_act_levels > 0 ? st.q8_act_levels : 127,
                            "Q8 after a failed allocation");
            apollo__backend_free(be);
        }
        q8_free(&q);
        free(xq);
        free(yq);
    }
    printf("allocation failures: %d reported as APOLLO_E_NOMEM, none crashed\n", n_fail);
    free(w.mem);
    free(x);
    free(bias);
    free(y);
}

#endif /* APOLLO_HAVE_ONEDNN */

/* The CPU backend has no int8 path: PREC_INT8 computes as f32 there. */
static void test_cpu_int8_is_f32(void)
{
    apollo__backend *be = NULL;
    wbuf w;
    float *x = rand_floats(7 * 100, 1.0f), *y = malloc(7 * 33 * sizeof(float));
    CHECK_EQ_INT(apollo__backend_create(APOLLO_BACKEND_CPU, 2, &be), APOLLO_OK);
    if (!be)
        return;
    wbuf_make(&w, APOLLO__DT_BF16, 33, 100);
    be->precision = APOLLO__PREC_INT8;
    CHECK_EQ_INT(apollo__matmul(be, x, 7, 100, &w.t, NULL, y), APOLLO_OK);
    check_bound(x, &w.t, NULL, 7, y, APOLLO__PREC_F32, 0, "cpu backend with PREC_INT8");
    free(w.mem);
    free(x);
    free(y);
    apollo__backend_free(be);
}

int main(void)
{
    test_cpu_int8_is_f32();
#ifdef APOLLO_HAVE_ONEDNN
    test_precisions();
    test_cache();
    test_variants();
    test_threads();
    test_f32_rule();
    test_q8_routed();
    test_q8_int8();
    test_oom();
#else
    printf("oneDNN not built: only the CPU backend's PREC_INT8 fallback is checked\n");
#endif
    return test_finish("onednn_matmul");
}
