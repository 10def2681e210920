/* bench_kernels: this machine's limits and the CPU backend's matmul kernels.
 *
 *   bench_kernels [--threads N] [--quick] [--gemv-only]
 *
 * Prints one "key value" line per measurement (bench/run.sh formats them):
 *   peak_f32_gflops   hand FMA loop, all threads (AVX-512 if present, else AVX2)
 *   peak_bf16_gflops  hand vdpbf16ps loop (0 when the CPU has no AVX512_BF16)
 *   bw_read_gbs       streaming read of a 1 GiB buffer, all threads
 *   gemv_*            decode-shape GEMV on bf16 weights (11008x2048; and the
 *                     1.5B's K = 1536 / 8960 shapes, two stacked copies so that
 *                     they exceed the L3), and on int8 weights
 *                     (gemv_q8_*: 3 x 11008 rows of K = 2048, beyond the L3): GB/s
 *                     of weight read
 *   gemm_*            prefill-shape GEMM (M = 256) on bf16 weights: GFLOP/s */
#include "apollo.h"
#include "backend.h"
#include "common/alloc.h"
#include "common/quant.h"
#include "cpu/cpu_kernels.h"

#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- peaks: independent FMA chains, no memory ---------------------------------- */

#define PEAK_ITERS 20000000L

__attribute__((target("avx2,fma"))) static double fma_avx2(void)
{
    __m256 a[12], b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < PEAK_ITERS; it++)
        for (int i = 0; i < 12; i++)
            a[i] = _mm256_fmadd_ps(a[i], b, c);
    float s = 0;
    for (int i = 0; i < 12; i++)
        s += _mm256_cvtss_f32(a[i]);
    return s + (double)PEAK_ITERS * 12 * 16; /* flops, s keeps the loop alive */
}

__attribute__((target("avx512f"))) static double fma_avx512(void)
{
    __m512 a[16], b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 16; i++)
        a[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < PEAK_ITERS / 2; it++)
        for (int i = 0; i < 16; i++)
            a[i] = _mm512_fmadd_ps(a[i], b, c);
    float s = 0;
    for (int i = 0; i < 16; i++)
        s += _mm512_reduce_add_ps(a[i]);
    return s * 0 + (double)(PEAK_ITERS / 2) * 16 * 32;
}

__attribute__((target("avx512bf16,avx512f"))) static double dp_bf16(void)
{
    __m512 a[16];
    __m512bh b = (__m512bh)_mm512_set1_epi32(0x3f803f80), c = b;
    for (int i = 0; i < 16; i++)
        a[i] = _mm512_setzero_ps();
    for (long it = 0; it < PEAK_ITERS / 2; it++)
        for (int i = 0; i < 16; i++)
            a[i] = _mm512_dpbf16_ps(a[i], b, c);
    float s = 0;
    for (int i = 0; i < 16; i++)
        s += _mm512_reduce_add_ps(a[i]);
    return s * 0 + (double)(PEAK_ITERS / 2) * 16 * 64;
}

typedef struct peak_arg {
    double (*fn)(void);
    double flops;
} peak_arg;

static void *peak_thread(void *vp)
{
    peak_arg *a = vp;
    a->flops = a->fn();
    return NULL;
}

static double run_threads(double (*fn)(void), int nt)
{
    pthread_t th[64];
    peak_arg args[64];
    double t0 = now_s(), flops = 0;
    for (int i = 0; i < nt; i++) {
        args[i].fn = fn;
        pthread_create(&th[i], NULL, peak_thread, &args[i]);
    }
    for (int i = 0; i < nt; i++) {
        pthread_join(th[i], NULL);
        flops += args[i].flops;
    }
    return flops / (now_s() - t0) * 1e-9;
}

/* ---- bandwidth ------------------------------------------------------------------ */

typedef struct bw_arg {
    const float *p;
    size_t n;
    float sum;
} bw_arg;

__attribute__((target("avx2"))) static void *bw_thread(void *vp)
{
    bw_arg *a = vp;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 32 <= a->n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_load_ps(a->p + i));
        s1 = _mm256_add_ps(s1, _mm256_load_ps(a->p + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_load_ps(a->p + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_load_ps(a->p + i + 24));
    }
    s0 = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    a->sum = _mm256_cvtss_f32(s0);
    return NULL;
}

static double bandwidth_gbs(int nt)
{
    const size_t bytes = (size_t)1 << 30, n = bytes / sizeof(float);
    float *buf = aligned_alloc(64, bytes);
    double best = 0;
    for (size_t i = 0; i < n; i++)
        buf[i] = (float)(i & 7);
    for (int rep = 0; rep < 5; rep++) {
        pthread_t th[64];
        bw_arg a[64];
        double t0 = now_s();
        for (int i = 0; i < nt; i++) {
            a[i].p = buf + n / (size_t)nt * (size_t)i;
            a[i].n = n / (size_t)nt;
            pthread_create(&th[i], NULL, bw_thread, &a[i]);
        }
        for (int i = 0; i < nt; i++)
            pthread_join(th[i], NULL);
        double gbs = (double)bytes / (now_s() - t0) * 1e-9;
        if (gbs > best)
            best = gbs;
    }
    free(buf);
    return best;
}

/* ---- kernels ---------------------------------------------------------------------- */

static apollo__tensor make_bf16(int64_t N, int64_t K, void **mem)
{
    apollo__tensor w = {0};
    uint16_t *d = malloc((size_t)(N * K) * 2);
    uint32_t r = 1;
    for (int64_t i = 0; i < N * K; i++) {
        r = r * 1664525u + 1013904223u;
        d[i] = (uint16_t)(0x3c00 | ((r >> 16) & 0x80ff)); /* small normal values, random sign */
    }
    w.dtype = APOLLO__DT_BF16;
    w.n_dims = 2;
    w.shape[0] = N;
    w.shape[1] = K;
    w.data = d;
    *mem = d;
    return w;
}

/* The same weights as int8 rows + scales (APOLLO_PRECISION_INT8's format). */
static apollo__tensor make_q8(const apollo__tensor *src, void **mem)
{
    const int64_t N = src->shape[0], K = src->shape[1];
    apollo__tensor w = *src;
    int8_t *q = malloc((size_t)(N * K));
    float *s = malloc((size_t)N * sizeof(float));
    for (int64_t n = 0; n < N; n++)
        s[n] = apollo__q8_quantize_row(src->dtype, apollo__tensor_row(src, n), K, q + n * K);
    w.dtype = APOLLO__DT_Q8;
    w.data = q;
    w.scale = s;
    mem[0] = q;
    mem[1] = s;
    return w;
}

static double time_matmul(apollo__backend *be, int32_t isa, const float *x, int64_t M,
                          const apollo__tensor *w, float *y, double min_s)
{
    double best = 1e30, t_start = now_s();
    int reps = 0;
    while (reps < 3 || now_s() - t_start < min_s) {
        double t0 = now_s();
        if (isa < 0)
            apollo__matmul(be, x, M, w->shape[1], w, NULL, y);
        else
            apollo__cpu_matmul_isa(be, isa, x, M, w->shape[1], w, NULL, y);
        double dt = now_s() - t0;
        if (dt < best)
            best = dt;
        reps++;
    }
    return best;
}

int main(int argc, char **argv)
{
    int nt = 2, quick = 0, gemv_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            nt = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--gemv-only"))
            gemv_only = 1; /* bandwidth and GEMV rows: quick before/after comparisons */
    }
    const int32_t isa = apollo__cpu_isa_detect();
    printf("isa %s\nthreads %d\n", apollo__cpu_isa_name(isa), nt);
    if (!gemv_only) {
        if (isa >= APOLLO__ISA_AVX512)
            printf("peak_f32_gflops %.1f\n", run_threads(fma_avx512, nt));
        else if (isa >= APOLLO__ISA_AVX2)
            printf("peak_f32_gflops %.1f\n", run_threads(fma_avx2, nt));
        printf("peak_bf16_gflops %.1f\n", isa >= APOLLO__ISA_AVX512BF16 ? run_threads(dp_bf16, nt) : 0.0);
    }
    printf("bw_read_gbs %.2f\n", bandwidth_gbs(nt));
    printf("bw_read_1t_gbs %.2f\n", bandwidth_gbs(1));

    apollo__backend *be = NULL;
    if (apollo__backend_create(APOLLO_BACKEND_CPU, nt, &be))
        return 1;
    /* decode shapes of Apollo-3B: gate/up [11008, 2048], down [2048, 11008] */
    {
        void *mem;
        apollo__tensor w = make_bf16(11008, 2048, &mem);
        float *x = calloc(16 * 11008, sizeof(float)), *y = calloc(256 * 11008, sizeof(float));
        for (int i = 0; i < 16 * 11008; i++)
            x[i] = (float)(i % 13) * 0.01f;
        /* 45 MB of weight: beyond the L3, so each call streams from DRAM */
        double t = time_matmul(be, -1, x, 1, &w, y, quick ? 0.3 : 1.0);
        printf("gemv_bf16_11008x2048_gbs %.2f\n", 11008.0 * 2048 * 2 / t * 1e-9);
        t = time_matmul(be, -1, x, 4, &w, y, quick ? 0.3 : 1.0);
        printf("gemv4_bf16_11008x2048_gbs %.2f\n", 11008.0 * 2048 * 2 / t * 1e-9);
        free(x);
        free(y);
        free(mem);
    }
    /* Apollo-1.5B: gate/up [8960, 1536] (rows of 3 KB, shorter than a page)
     * and down [1536, 8960]; 27.5 MB each, which the L3 may hold, so two
     * stacked copies (55 MB) stream from DRAM */
    {
        static const int64_t shp[][2] = {{2 * 8960, 1536}, {2 * 1536, 8960}};
        for (int s = 0; s < 2; s++) {
            void *mem;
            const int64_t N = shp[s][0], K = shp[s][1];
            apollo__tensor w = make_bf16(N, K, &mem);
            float *x = calloc((size_t)(4 * K), sizeof(float)), *y = calloc((size_t)(4 * N), sizeof(float));
            for (int64_t i = 0; i < 4 * K; i++)
                x[i] = (float)(i % 13) * 0.01f;
            double t = time_matmul(be, -1, x, 1, &w, y, quick ? 0.3 : 1.0);
            printf("gemv_bf16_%lldx%lld_gbs %.2f\n", (long long)N, (long long)K,
                   (double)N * (double)K * 2 / t * 1e-9);
            if (s == 0) {
                t = time_matmul(be, -1, x, 4, &w, y, quick ? 0.3 : 1.0);
                printf("gemv4_bf16_%lldx%lld_gbs %.2f\n", (long long)N, (long long)K,
                       (double)N * (double)K * 2 / t * 1e-9);
            }
            free(x);
            free(y);
            free(mem);
        }
    }
    /* The int8 form of the same shape is 22.5 MB, which an EPYC L3 holds:
     * three stacked copies (67.6 MB, rows of the same K) stream from DRAM. */
    {
        void *mem, *qmem[2];
        apollo__tensor w = make_bf16(3 * 11008, 2048, &mem);
        apollo__tensor wq = make_q8(&w, qmem);
        const double qbytes = 3 * 11008.0 * 2048 + 3 * 11008.0 * 4; /* rows + scales */
        float *x = calloc(16 * 2048, sizeof(float)), *y = calloc(16 * 3 * 11008, sizeof(float));
        free(mem);
        for (int i = 0; i < 16 * 2048; i++)
            x[i] = (float)(i % 13) * 0.01f;
        double t = time_matmul(be, -1, x, 1, &wq, y, quick ? 0.3 : 1.0);
        printf("gemv_q8_33024x2048_gbs %.2f\n", qbytes / t * 1e-9);
        t = time_matmul(be, -1, x, 4, &wq, y, quick ? 0.3 : 1.0);
        printf("gemv4_q8_33024x2048_gbs %.2f\n", qbytes / t * 1e-9);
        free(x);
        free(y);
        free(qmem[0]);
        free(qmem[1]);
    }
    /* prefill chunk of 256 rows through [11008, 2048] (gate/up) and [2048, 11008] (down) */
    if (!gemv_only) {
        static const int64_t shp[][2] = {{11008, 2048}, {2048, 11008}};
        for (int s = 0; s < 2; s++) {
            void *mem;
            apollo__tensor w = make_bf16(shp[s][0], shp[s][1], &mem);
            const int64_t M = 256, N = shp[s][0], K = shp[s][1];
            float *x = malloc((size_t)(M * K) * sizeof(float)), *y = malloc((size_t)(M * N) * sizeof(float));
            double flops = 2.0 * (double)M * (double)N * (double)K;
            for (int64_t i = 0; i < M * K; i++)
                x[i] = (float)(i % 17) * 0.01f - 0.08f;
            be->precision = APOLLO__PREC_F32;
            double t = time_matmul(be, -1, x, M, &w, y, quick ? 0.5 : 2.0);
            printf("gemm_f32_%lldx%lldx%lld_gflops %.1f\n", (long long)M, (long long)N,
                   (long long)K, flops / t * 1e-9);
            if (isa >= APOLLO__ISA_AVX512BF16) {
                be->precision = APOLLO__PREC_BF16;
                t = time_matmul(be, -1, x, M, &w, y, quick ? 0.5 : 2.0);
                printf("gemm_bf16_%lldx%lldx%lld_gflops %.1f\n", (long long)M, (long long)N,
                       (long long)K, flops / t * 1e-9);
                be->precision = APOLLO__PREC_F32;
            }
            free(x);
            free(y);
            free(mem);
        }
    }
    apollo__backend_free(be);
    return 0;
}
