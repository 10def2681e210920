/* CPU matmul kernels (backends/cpu/cpu_gemv.c, cpu_gemm_bf16.c), every
 * instruction-set family this CPU supports, against a double loop:
 *   - PREC_F32 (the default, used by the reference tests): element-wise
 *     |y - ref| <= 1e-5 * sum_k |x_k w_k| + 1e-6 (exact weights, f32 sums);
 *   - PREC_BF16 (x rounded to bf16, vdpbf16ps or its scalar emulation):
 *     |y - ref| <= 2^-8 * sum_k |x_k w_k| + 1e-6.  Rounding x to bf16 moves
 *     each product by at most 2^-9 of its size; the rest is f32 summation.
 * Shapes cover GEMV (M < 16) and GEMM (M >= 16), tails in M, N and K (odd K
 * for the bf16 pairs), unaligned weight data, bias, 1 and 3 threads. */
#include "apollo.h"
#include "backend.h"
#include "common/alloc.h"
#include "cpu/cpu_kernels.h"
#include "testrand.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 777;
#define frand() test_frand(&rng)
#define to_bf16 test_to_bf16
#define to_f16 test_to_f16

static int run_case(apollo__backend *be, int32_t isa, int32_t prec, apollo__dtype dt, int64_t M,
                    int64_t K, int64_t N, int with_bias)
{
    float *x = malloc((size_t)(M * K) * sizeof(float));
    float *b = malloc((size_t)N * sizeof(float));
    float *y = malloc((size_t)(M * N) * sizeof(float));
    float *wf = malloc((size_t)(N * K) * sizeof(float));
    size_t es = apollo__dtype_size(dt);
    unsigned char *wbuf = malloc((size_t)(N * K) * es + 3);
    unsigned char *wd = wbuf + (dt == APOLLO__DT_F32 ? 3 : 1); /* unaligned */
    apollo__tensor w = {0};
    double tol_rel = prec == APOLLO__PREC_F32 ? 1e-5 : 1.0 / 256.0, worst = 0;
    int bad = 0, rc;

    for (int64_t i = 0; i < M * K; i++)
        x[i] = frand();
    for (int64_t i = 0; i < N; i++)
        b[i] = frand();
    test_fill_weights(&rng, wd, N * K, (int)apollo__dtype_size(dt), dt == APOLLO__DT_BF16);
    w.dtype = dt;
    w.n_dims = 2;
    w.shape[0] = N;
    w.shape[1] = K;
    w.data = wd;
    apollo__to_f32(dt, wd, wf, (size_t)(N * K));
    be->precision = prec;
    rc = apollo__cpu_matmul_isa(be, isa, x, M, K, &w, with_bias ? b : NULL, y);
    be->precision = APOLLO__PREC_F32;
    CHECK_EQ_INT(rc, APOLLO_OK);
    for (int64_t m = 0; m < M && !rc; m++)
        for (int64_t n = 0; n < N; n++) {
            double acc = with_bias ? b[n] : 0.0, mag = 0;
            for (int64_t k = 0; k < K; k++) {
                double p = (double)x[m * K + k] * wf[n * K + k];
                acc += p;
                mag += fabs(p);
            }
            double e = fabs(y[m * N + n] - acc), lim = tol_rel * mag + 1e-6;
            if (!(e <= lim))
                bad++;
            if (mag > 0 && e / mag > worst)
                worst = e / mag;
        }
    CHECK_MSG(bad == 0, "isa %s prec %d %s M=%lld K=%lld N=%lld bias=%d: %d outside bound, "
              "worst |err|/sum|xw| %.3g", apollo__cpu_isa_name(isa), prec,
              apollo__dtype_name(dt), (long long)M, (long long)K, (long long)N, with_bias, bad,
              worst);
    free(x);
    free(b);
    free(y);
    free(wf);
    free(wbuf);
    return bad;
}

int main(void)
{
    static const int64_t shapes[][3] = {{1, 8, 8},     {1, 1000, 37},   {3, 129, 70},
                                        {5, 17, 9},    {15, 64, 130},   {16, 64, 64},
                                        {17, 301, 97}, {40, 531, 130},  {64, 1024, 256},
                                        {13, 2, 5},    {30, 1, 33},
                                        /* GEMV rows over 4 KB (no software prefetch) */
                                        {1, 2100, 11}, {3, 1100, 6}};
    static const apollo__dtype dts[] = {APOLLO__DT_BF16, APOLLO__DT_F32, APOLLO__DT_F16};
    static const int32_t threads[] = {1, 3};
    const int32_t top = apollo__cpu_isa_detect();
    printf("CPU kernels: detected %s\n", apollo__cpu_isa_name(top));
    for (size_t t = 0; t < 2; t++) {
        apollo__backend *be = NULL;
        CHECK_EQ_INT(apollo__backend_create(APOLLO_BACKEND_CPU, threads[t], &be), APOLLO_OK);
        if (!be)
            break;
        CHECK_EQ_INT(apollo__cpu_backend_isa(be), top);
        for (int32_t isa = APOLLO__ISA_SCALAR; isa <= top; isa++) {
            /* the bf16 fast path where the CPU has it, its emulation everywhere */
            int32_t precs[3] = {APOLLO__PREC_F32, APOLLO__PREC_BF16_EMULATE, APOLLO__PREC_BF16};
            int n_prec = isa == APOLLO__ISA_AVX512BF16 ? 3 : isa == APOLLO__ISA_AVX2 ? 2 : 1;
            for (int p = 0; p < n_prec; p++)
                for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
                    for (size_t d = 0; d < 3; d++)
                        run_case(be, isa, precs[p], dts[d], shapes[s][0], shapes[s][1],
                                 shapes[s][2], (int)((s + d) % 2));
            printf("  %s, %d threads: checked\n", apollo__cpu_isa_name(isa), threads[t]);
        }
        apollo__backend_free(be);
    }
    return test_finish("kernels_gemm");
}
