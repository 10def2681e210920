/* bench_onednn: the oneDNN backend's matmul at each precision next to the
 * CPU backend, in one run, on bench_kernels' shapes (Apollo-3B MLP, bf16
 * weights): GEMV through 11008x2048 (M = 1, decode) and GEMM with M = 256
 * (a prefill chunk) through 11008x2048 and 2048x11008.
 *
 *   bench_onednn [--threads N] [--quick]
 *
 * Prints "key value" lines (bench/run.sh formats them):
 *   cpu_gemv_11008x2048_us            CPU backend, PREC_F32 (bf16 weights in place)
 *   onednn_<p>_gemv_11008x2048_us     oneDNN backend at precision p = f32|bf16|int8,
 *                                     and int8own: int8 in oneDNN's own layout and
 *                                     kernels at every M (APOLLO__ONEDNN_NO_Q8_VIEW)
 *   onednn_<p>_gemv_11008x2048_gbs    bytes oneDNN reads per call (its packed weight:
 *                                     f32 4 B/weight, bf16 2, int8 1 + 4 B/row) / time
 *   cpu_gemm_256xNxK_gflops, onednn_<p>_gemm_256xNxK_gflops
 *   onednn_<p>_pack_NxK_ms            first call (packing, primitives) minus a later one
 *   onednn_bf16_native, onednn_int8_levels, onednn_f32_on_cpu (f32 and bf16 rows
 *   are oneDNN's own kernels, APOLLO__ONEDNN_FORCE_F32, even where the backend
 *   leaves f32 to the CPU kernels by default)
 * and "# ..." lines saying how oneDNN ran each weight (implementation, layout).
 * The contenders are timed interleaved (rounds of 3 calls each), best call
 * after the first, so that other load on a shared machine hits them alike. */
#include "apollo.h"
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef APOLLO_HAVE_ONEDNN
#include "onednn/onednn_hooks.h"
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Random bf16 weights of moderate magnitude, random sign (as bench_kernels). */
static apollo__tensor make_bf16(int64_t N, int64_t K)
{
    apollo__tensor w;
    uint16_t *d = malloc((size_t)(N * K) * 2);
    uint32_t r = 1;
    for (int64_t i = 0; i < N * K; i++) {
        r = r * 1664525u + 1013904223u;
        d[i] = (uint16_t)(0x3c00 | ((r >> 16) & 0x80ff));
    }
    memset(&w, 0, sizeof w);
    w.dtype = APOLLO__DT_BF16;
    w.n_dims = 2;
    w.shape[0] = N;
    w.shape[1] = K;
    w.data = d;
    return w;
}

/* A backend at a precision: one contender. */
typedef struct contender {
    apollo__backend *be;
    int32_t prec;
    double best, first;
} contender;

/* Times contenders c[0..n) on the same call, interleaved in rounds of 3
 * calls each until min_s has passed (at least 4 rounds), so that load from
 * other processes on a shared machine hits them alike; keeps each one's best
 * call, and its first call (packing) separately. */
static void time_interleaved(contender *c, int n, const float *x, int64_t M,
                             const apollo__tensor *w, float *y, double min_s)
{
    double t_start;
    for (int i = 0; i < n; i++) {
        double t0 = now_s();
        c[i].be->precision = c[i].prec;
        if (apollo__matmul(c[i].be, x, M, w->shape[1], w, NULL, y)) {
            fprintf(stderr, "bench_onednn: matmul failed: %s\n", apollo_last_errmsg());
            exit(1);
        }
        c[i].first = now_s() - t0;
        c[i].best = 1e30;
    }
    t_start = now_s();
    for (int round = 0; round < 4 || now_s() - t_start < min_s; round++)
        for (int i = 0; i < n; i++) {
            c[i].be->precision = c[i].prec;
            for (int r = 0; r < 3; r++) {
                double t0 = now_s(), dt;
                apollo__matmul(c[i].be, x, M, w->shape[1], w, NULL, y);
                dt = now_s() - t0;
                if (dt < c[i].best)
                    c[i].best = dt;
            }
        }
}

int main(int argc, char **argv)
{
    int nt = 2, quick = 0;
    static const int64_t gemm_shapes[2][2] = {{11008, 2048}, {2048, 11008}};
    apollo__tensor w[2];
    float *x, *y;
    apollo__backend *be = NULL;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            nt = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick"))
            quick = 1;
    }
    printf("threads %d\n", nt);
    for (int s = 0; s < 2; s++)
        w[s] = make_bf16(gemm_shapes[s][0], gemm_shapes[s][1]);
    x = malloc((size_t)256 * 11008 * sizeof(float));
    y = malloc((size_t)256 * 11008 * sizeof(float));
    for (int64_t i = 0; i < 256 * 11008; i++)
        x[i] = (float)(i % 17) * 0.01f - 0.08f;

    if (apollo__backend_create(APOLLO_BACKEND_CPU, nt, &be))
        return 1;
#ifdef APOLLO_HAVE_ONEDNN
    {
        static const int32_t precs[4] = {APOLLO__PREC_F32, APOLLO__PREC_BF16, APOLLO__PREC_INT8,
                                         APOLLO__PREC_INT8};
        static const char *const names[4] = {"f32", "bf16", "int8", "int8own"};
        apollo__backend *od = NULL, *own = NULL;
        apollo__onednn_stats st;
        contender c[5];
        if (apollo__backend_create(APOLLO_BACKEND_ONEDNN, nt, &od) ||
            apollo__backend_create(APOLLO_BACKEND_ONEDNN, nt, &own))
            return 1;
        /* int8own: oneDNN's own int8 layout and kernels at every M, where the
         * backend would keep the rows as Q8 for the CPU GEMV (M < 16) */
        apollo__onednn_set_debug(own, APOLLO__ONEDNN_NO_Q8_VIEW);
        /* measure oneDNN's f32 kernels also where the backend leaves f32 to
         * the CPU kernels by default (onednn_f32_on_cpu says whether it does) */
        apollo__onednn_set_debug(od, APOLLO__ONEDNN_FORCE_F32);
        c[0] = (contender){be, APOLLO__PREC_F32, 0, 0};
        for (int p = 0; p < 4; p++)
            c[1 + p] = (contender){p < 3 ? od : own, precs[p], 0, 0};
        /* GEMV (its first calls pack the weight, also used by the GEMM below) */
        time_interleaved(c, 5, x, 1, &w[0], y, quick ? 1.0 : 4.0);
        printf("cpu_gemv_11008x2048_us %.1f\n", 1e6 * c[0].best);
        for (int p = 0; p < 4; p++) {
            char desc[160] = "";
            int64_t bytes = 0;
            apollo__onednn_describe(c[1 + p].be, &w[0], precs[p], desc, sizeof desc, &bytes);
            printf("# onednn %s 11008x2048: %s\n", names[p], desc);
            printf("onednn_%s_pack_11008x2048_ms %.1f\n", names[p], 1e3 * (c[1 + p].first - c[1 + p].best));
            printf("onednn_%s_gemv_11008x2048_us %.1f\n", names[p], 1e6 * c[1 + p].best);
            printf("onednn_%s_gemv_11008x2048_gbs %.2f\n", names[p], (double)bytes / c[1 + p].best * 1e-9);
        }
        for (int s = 0; s < 2; s++) {
            const double flops = 2.0 * 256 * (double)w[s].shape[0] * (double)w[s].shape[1];
            time_interleaved(c, 5, x, 256, &w[s], y, quick ? 2.0 : 8.0);
            printf("cpu_gemm_256x%lldx%lld_gflops %.1f\n", (long long)w[s].shape[0],
                   (long long)w[s].shape[1], flops / c[0].best * 1e-9);
            for (int p = 0; p < 4; p++)
                printf("onednn_%s_gemm_256x%lldx%lld_gflops %.1f\n", names[p],
                       (long long)w[s].shape[0], (long long)w[s].shape[1],
                       flops / c[1 + p].best * 1e-9);
        }
        for (int p = 0; p < 4; p++) {
            char desc[160] = "";
            apollo__onednn_describe(c[1 + p].be, &w[1], precs[p], desc, sizeof desc, NULL);
            printf("# onednn %s 2048x11008: %s\n", names[p], desc);
        }
        apollo__onednn_get_stats(od, &st);
        printf("onednn_bf16_native %d\nonednn_int8_levels %d\nonednn_packed_mb %.1f\n"
               "onednn_f32_on_cpu %d\n",
               st.bf16_native, st.int8_levels, (double)st.packed_bytes / 1048576.0, st.f32_on_cpu);
        apollo__backend_free(od);
        apollo__backend_free(own);
    }
#else
    {
        contender c = {be, APOLLO__PREC_F32, 0, 0};
        time_interleaved(&c, 1, x, 1, &w[0], y, quick ? 0.3 : 1.0);
        printf("cpu_gemv_11008x2048_us %.1f\n", 1e6 * c.best);
        for (int s = 0; s < 2; s++) {
            const double flops = 2.0 * 256 * (double)w[s].shape[0] * (double)w[s].shape[1];
            time_interleaved(&c, 1, x, 256, &w[s], y, quick ? 0.5 : 2.0);
            printf("cpu_gemm_256x%lldx%lld_gflops %.1f\n", (long long)w[s].shape[0],
                   (long long)w[s].shape[1], flops / c.best * 1e-9);
        }
        printf("# oneDNN backend not built\n");
    }
#endif
    apollo__backend_free(be);
    free(x);
    free(y);
    for (int s = 0; s < 2; s++)
        free((void *)w[s].data);
    return 0;
}
