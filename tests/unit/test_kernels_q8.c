/* Int8 weights (APOLLO__DT_Q8, APOLLO_PRECISION_INT8):
 *
 *   1. apollo__q8_quantize_row against its definition, recomputed here in
 *      double: scale = max|w| / 127, q = w / scale rounded to nearest,
 *      |q| <= 127, the largest |w| maps to +-127, |w - q scale| <= scale/2;
 *      all-zero rows give scale 0; F32, BF16 and F16 sources; the AVX2
 *      quantizer (bf16) equals the scalar one bit for bit.
 *   2. The CPU matmul on Q8 weights, every instruction-set family this CPU
 *      has plus scalar, GEMV (M < 16) and GEMM (M >= 16), against a double
 *      loop on the dequantized weights q * scale: element-wise
 *      |y - ref| <= 1e-5 * sum_k |x_k w_k| + 1e-6, the bound of the exact
 *      f32 path (the kernels only differ from the reference by f32 rounding;
 *      a missing or misplaced scale is off by orders of magnitude).  Shapes
 *      cover the 16-, 8- and 1-wide k loops of the AVX2 kernel, row tails
 *      (N not a multiple of 4), odd M, bias, 1 and 3 threads. */
#include "apollo.h"
#include "backend.h"
#include "common/quant.h"
#include "cpu/cpu_kernels.h"
#include "testrand.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 4242;

/* ---- 1. quantization ----------------------------------------------------------- */

static void check_row(apollo__dtype dt, const float *w, int64_t K, const char *what)
{
    size_t es = apollo__dtype_size(dt);
    unsigned char *src = malloc((size_t)K * es + 1), *s = src + 1; /* unaligned */
    float *wx = malloc((size_t)K * sizeof(float));                 /* as stored */
    int8_t *q = malloc((size_t)K + 1);
    double amax = 0;
    int bad_round = 0, bad_err = 0, hit_max = 0;
    float scale;

    for (int64_t k = 0; k < K; k++) {
        if (dt == APOLLO__DT_F32) {
            memcpy(s + 4 * k, &w[k], 4);
        } else {
            uint16_t h = dt == APOLLO__DT_BF16 ? test_to_bf16(w[k]) : test_to_f16(w[k]);
            memcpy(s + 2 * k, &h, 2);
        }
    }
    apollo__to_f32(dt, s, wx, (size_t)K);
    for (int64_t k = 0; k < K; k++)
        amax = fabs(wx[k]) > amax ? fabs(wx[k]) : amax;
    q[K] = 99; /* guard */
    scale = apollo__q8_quantize_row(dt, s, K, q);
    CHECK_MSG(q[K] == 99, "%s: wrote past the row", what);
    {   /* the SIMD row quantizer (bf16, AVX2) is the plain loop, bit for bit */
        int8_t *q2 = malloc((size_t)K);
        float scale2 = apollo__q8_quantize_row_scalar(dt, s, K, q2);
        CHECK_MSG(scale2 == scale && memcmp(q, q2, (size_t)K) == 0,
                  "%s: dispatched and scalar quantizers differ", what);
        free(q2);
    }
    if (amax == 0) {
        CHECK_MSG(scale == 0.0f, "%s: zero row scale %g", what, scale);
        for (int64_t k = 0; k < K; k++)
            bad_err += q[k] != 0;
        CHECK_MSG(bad_err == 0, "%s: zero row has non-zero q", what);
    } else {
        CHECK_MSG(fabs(scale - amax / 127.0) <= 1e-6 * amax / 127.0,
                  "%s: scale %.9g, max|w|/127 = %.9g", what, scale, amax / 127.0);
        for (int64_t k = 0; k < K; k++) {
            double t = wx[k] / (amax / 127.0), r = nearbyint(t);
            /* a value within float rounding of a half may round either way */
            if (q[k] != r && !(fabs(fabs(t - trunc(t)) - 0.5) < 1e-4 && fabs(q[k] - t) <= 0.5001))
                bad_round++;
            if (q[k] < -127 || /* int8 holds -128, which the format never uses */
                fabs(wx[k] - (double)q[k] * scale) > 0.5 * scale * (1 + 1e-5))
                bad_err++;
            hit_max += fabs(wx[k]) == amax && abs(q[k]) == 127;
        }
        CHECK_MSG(bad_round == 0, "%s: %d elements not rounded to nearest", what, bad_round);
        CHECK_MSG(bad_err == 0, "%s: %d elements outside |q| <= 127 / |w - q s| <= s/2", what,
                  bad_err);
        CHECK_MSG(hit_max > 0, "%s: the largest |w| is not quantized to +-127", what);
    }
    free(src);
    free(wx);
    free(q);
}

static void test_quantize(void)
{
    static const apollo__dtype dts[] = {APOLLO__DT_F32, APOLLO__DT_BF16, APOLLO__DT_F16};
    static const int64_t Ks[] = {1, 2, 7, 64, 1000};
    float *w = malloc(1000 * sizeof(float));
    char what[96];
    for (size_t d = 0; d < 3; d++)
        for (size_t i = 0; i < sizeof Ks / sizeof Ks[0]; i++) {
            const int64_t K = Ks[i];
            const char *dn = apollo__dtype_name(dts[d]);
            for (int64_t k = 0; k < K; k++)
                w[k] = test_frand(&rng) * 0.05f;
            snprintf(what, sizeof what, "%s K=%lld random", dn, (long long)K);
            check_row(dts[d], w, K, what);
            /* one outlier (most of the row quantizes to small q) */
            w[K / 2] = -3.0f;
            snprintf(what, sizeof what, "%s K=%lld outlier", dn, (long long)K);
            check_row(dts[d], w, K, what);
            /* exact multiples of the scale: q must be exactly the multiple */
            for (int64_t k = 0; k < K; k++)
                w[k] = (float)((k * 37) % 255 - 127) / 64.0f;
            w[0] = 127.0f / 64.0f;
            snprintf(what, sizeof what, "%s K=%lld grid", dn, (long long)K);
            check_row(dts[d], w, K, what);
            memset(w, 0, (size_t)K * sizeof(float));
            snprintf(what, sizeof what, "%s K=%lld zero", dn, (long long)K);
            check_row(dts[d], w, K, what);
            /* values just below and above the halfway points of the grid:
             * the rounding direction must be the definition's */
            for (int64_t k = 0; k < K; k++)
                w[k] = ((float)((k * 53) % 255 - 127) + ((k & 1) ? 0.49f : -0.49f)) / 64.0f;
            w[0] = 127.0f / 64.0f;
            snprintf(what, sizeof what, "%s K=%lld near halves", dn, (long long)K);
            check_row(dts[d], w, K, what);
        }
    {   /* a NaN (never in a real checkpoint) becomes 0 and does not set the scale */
        uint16_t h[19];
        int8_t qa[19], qb[19];
        for (int k = 0; k < 19; k++)
            h[k] = test_to_bf16((float)(k - 9) / 8.0f);
        h[3] = h[17] = 0x7fc0; /* in the 8-wide part and in the tail */
        float sa = apollo__q8_quantize_row(APOLLO__DT_BF16, h, 19, qa);
        float sb = apollo__q8_quantize_row_scalar(APOLLO__DT_BF16, h, 19, qb);
        CHECK(sa == sb && memcmp(qa, qb, sizeof qa) == 0);
        CHECK(qa[3] == 0 && qa[17] == 0 && qa[0] == -127 && fabs(sa - 9.0 / 8.0 / 127.0) < 1e-9);
    }
    free(w);
    printf("quantization: checked against the definition\n");
}

/* ---- 2. kernels ------------------------------------------------------------------ */

static int run_case(apollo__backend *be, int32_t isa, int64_t M, int64_t K, int64_t N,
                    int with_bias)
{
    float *x = malloc((size_t)(M * K) * sizeof(float));
    float *b = malloc((size_t)N * sizeof(float));
    float *y = malloc((size_t)(M * N) * sizeof(float));
    float *row = malloc((size_t)K * sizeof(float));
    float *scale = malloc((size_t)N * sizeof(float));
    int8_t *qbuf = malloc((size_t)(N * K) + 1), *q = qbuf + 1; /* unaligned rows */
    apollo__tensor w = {0};
    double worst = 0;
    int bad = 0, rc;

    for (int64_t i = 0; i < M * K; i++)
        x[i] = test_frand(&rng);
    for (int64_t i = 0; i < N; i++)
        b[i] = test_frand(&rng);
    for (int64_t n = 0; n < N; n++) {
        /* rows of different magnitudes, so a scale applied to the wrong row shows */
        float mag = 0.01f + (float)(n % 7);
        for (int64_t k = 0; k < K; k++)
            row[k] = test_frand(&rng) * mag;
        scale[n] = apollo__q8_quantize_row(APOLLO__DT_F32, row, K, q + n * K);
    }
    w.dtype = APOLLO__DT_Q8;
    w.n_dims = 2;
    w.shape[0] = N;
    w.shape[1] = K;
    w.data = q;
    w.scale = scale;
    rc = apollo__cpu_matmul_isa(be, isa, x, M, K, &w, with_bias ? b : NULL, y);
    CHECK_EQ_INT(rc, APOLLO_OK);
    for (int64_t m = 0; m < M && !rc; m++)
        for (int64_t n = 0; n < N; n++) {
            double acc = with_bias ? b[n] : 0.0, mag = 0;
            for (int64_t k = 0; k < K; k++) {
                double p = (double)x[m * K + k] * ((double)q[n * K + k] * (double)scale[n]);
                acc += p;
                mag += fabs(p);
            }
            double e = fabs(y[m * N + n] - acc), lim = 1e-5 * mag + 1e-6;
            if (!(e <= lim))
                bad++;
            if (mag > 0 && e / mag > worst)
                worst = e / mag;
        }
    CHECK_MSG(bad == 0, "isa %s Q8 M=%lld K=%lld N=%lld bias=%d: %d outside bound, worst "
              "|err|/sum|xw| %.3g", apollo__cpu_isa_name(isa), (long long)M, (long long)K,
              (long long)N, with_bias, bad, worst);
    free(x);
    free(b);
    free(y);
    free(row);
    free(scale);
    free(qbuf);
    return bad;
}

int main(void)
{
    static const int64_t shapes[][3] = {
        {1, 8, 8},    {1, 1000, 37}, {1, 1536, 64}, {1, 17, 5},    {1, 1, 3},
        {2, 33, 9},   {3, 129, 70},  {5, 16, 13},   {15, 64, 130}, {16, 64, 64},
        {17, 301, 97}, {40, 531, 130}, {64, 1024, 256}, {13, 2, 5}, {30, 1, 33}};
    static const int32_t threads[] = {1, 3};
    const int32_t top = apollo__cpu_isa_detect();

    test_quantize();
    printf("CPU kernels: detected %s\n", apollo__cpu_isa_name(top));
    for (size_t t = 0; t < 2; t++) {
        apollo__backend *be = NULL;
        CHECK_EQ_INT(apollo__backend_create(APOLLO_BACKEND_CPU, threads[t], &be), APOLLO_OK);
        if (!be)
            break;
        for (int32_t isa = APOLLO__ISA_SCALAR; isa <= top; isa++) {
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
                run_case(be, isa, shapes[s][0], shapes[s][1], shapes[s][2], (int)(s % 2));
            printf("  Q8 %s, %d threads: checked\n", apollo__cpu_isa_name(isa), threads[t]);
        }
        apollo__backend_free(be);
    }
    return test_finish("kernels_q8");
}
