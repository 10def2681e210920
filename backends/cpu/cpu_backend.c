/* CPU backend: kernels of cpu_gemv.c (M < 16) and cpu_gemm_bf16.c (M >= 16)
 * on the weights in place, chosen by instruction set at creation; OpenBLAS
 * sgemm on float32 blocks of the weight on CPUs without AVX2 and for long x
 * (M >= CPU_BLAS_MIN_M: the encoders).  All parallelised over output columns by the
 * ctx's own thread pool (OpenBLAS itself runs single-threaded so that one
 * threading runtime decides the parallelism). */
#include "backend.h"
#include "cpu_kernels.h"

#include "apollo.h"
#include "common/alloc.h"
#include "common/quant.h"
#include "common/status.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>

/* Rows of a 16-bit weight converted to float32 at a time per task. */
#define CPU_CONVERT_ROWS 64

/* From this many rows of x, OpenBLAS sgemm on float32 blocks of the weight
 * (widened per task, exact) beats the packed kernels of cpu_gemm_bf16.c:
 * measured 1.3-1.6x at the encoders' shapes (729-4100 rows: SigLIP frames,
 * InternVideo2 clips) while the packed kernels win at the 256-row prefill
 * chunks; the widening is O(N K) against O(M N K) of work. */
#define CPU_BLAS_MIN_M 512

typedef struct cpu_backend {
    apollo__backend base;
    int32_t isa; /* APOLLO__ISA_* in use */
} cpu_backend;

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_single_threaded(void)
{
    /* Process-wide, idempotent: our pool provides the parallelism. */
    openblas_set_num_threads(1);
}

typedef struct matmul_job {
    const float *x;
    int64_t M, K, N;
    const apollo__tensor *w;
    const float *bias;
    float *y;
    int64_t rows_per_task;
    _Atomic int failed;
} matmul_job;

static void matmul_task(void *vp, int64_t t)
{
    matmul_job *j = vp;
    int64_t n0 = t * j->rows_per_task;
    int64_t n1 = n0 + j->rows_per_task < j->N ? n0 + j->rows_per_task : j->N;
    int64_t K = j->K;

    if (j->w->dtype == APOLLO__DT_F32 && ((uintptr_t)j->w->data % sizeof(float)) == 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)j->M, (blasint)(n1 - n0),
                    (blasint)K, 1.0f, j->x, (blasint)K,
                    (const float *)j->w->data + n0 * K, (blasint)K, 0.0f, j->y + n0,
                    (blasint)j->N);
    } else {
        float *wf = apollo__malloc((size_t)(n1 - n0) * (size_t)K * sizeof(float));
        if (!wf) {
            j->failed = 1;
            return;
        }
        for (int64_t n = n0; n < n1; n++)
            apollo__tensor_row_to_f32(j->w, n, 0, K, wf + (n - n0) * K);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)j->M, (blasint)(n1 - n0),
                    (blasint)K, 1.0f, j->x, (blasint)K, wf, (blasint)K, 0.0f, j->y + n0,
                    (blasint)j->N);
        apollo__free(wf);
    }
    if (j->bias)
        for (int64_t m = 0; m < j->M; m++)
            for (int64_t n = n0; n < n1; n++)
                j->y[m * j->N + n] += j->bias[n];
}

/* ---- kernels on weights in place ------------------------------------------------- */

typedef struct kern_job {
    int32_t isa;
    const float *x;
    int64_t M, K, N, cols_per_task;
    const apollo__tensor *w;
    const float *bias;
    float *y;
    const apollo__gemm_apack *a;
} kern_job;

static void gemv_task(void *vp, int64_t t)
{
    kern_job *j = vp;
    int64_t n0 = t * j->cols_per_task;
    int64_t n1 = n0 + j->cols_per_task < j->N ? n0 + j->cols_per_task : j->N;
    apollo__gemv_rows(j->isa, j->x, j->M, j->K, j->w, j->bias, j->y, j->N, n0, n1);
}

static void gemm_task(void *vp, int64_t t)
{
    kern_job *j = vp;
    int64_t n0 = t * APOLLO__GEMM_NB;
    int64_t n1 = n0 + APOLLO__GEMM_NB < j->N ? n0 + APOLLO__GEMM_NB : j->N;
    apollo__gemm_cols(j->a, j->w, j->bias, j->y, j->N, n0, n1);
}

static int kernel_matmul(apollo__backend *be, int32_t isa, const float *x, int64_t M, int64_t K,
                         const apollo__tensor *w, const float *bias, float *y)
{
    kern_job j = {isa, x, M, K, w->shape[0], 0, w, bias, y, NULL};
    if (M < APOLLO__GEMM_MIN_M || !apollo__gemm_available(isa)) {
        /* ~8 tasks per thread for balance, whole 4-row groups */
        int64_t per = (j.N + 8 * be->n_threads - 1) / (8 * be->n_threads);
        per = (per + 3) & ~(int64_t)3;
        j.cols_per_task = per < 16 ? 16 : per;
        apollo__pool_for(be->pool, (j.N + j.cols_per_task - 1) / j.cols_per_task, gemv_task, &j);
    } else {
        apollo__gemm_apack a;
        int bf16 = w->dtype != APOLLO__DT_BF16 ? 0
                   : be->precision == APOLLO__PREC_BF16 ? 1
                   : be->precision == APOLLO__PREC_BF16_EMULATE ? 2 : 0;
        int rc = apollo__gemm_pack_a(isa, bf16, x, M, K, &a);
        if (rc)
            return rc;
        j.a = &a;
        apollo__pool_for(be->pool, (j.N + APOLLO__GEMM_NB - 1) / APOLLO__GEMM_NB, gemm_task, &j);
        apollo__gemm_apack_free(&a);
    }
    return APOLLO_OK;
}

int apollo__cpu_matmul_isa(apollo__backend *be, int32_t isa, const float *x, int64_t M,
                           int64_t K, const apollo__tensor *w, const float *bias, float *y)
{
    if (w->n_dims != 2 || w->shape[1] != K)
        return apollo__fail(APOLLO_E_INVALID_ARG, "matmul: weight shape does not match K=%lld",
                            (long long)K);
    return kernel_matmul(be, isa, x, M, K, w, bias, y);
}

/* ---- OpenBLAS (CPUs without AVX2; long x) --------------------------------------------- */

/* Weights matmul_task can widen to float32 exactly. */
static int blas_widens(const apollo__tensor *w)
{
    return w->dtype == APOLLO__DT_F32 || w->dtype == APOLLO__DT_BF16 || w->dtype == APOLLO__DT_F16;
}

static int cpu_matmul(apollo__backend *be, const float *x, int64_t M, int64_t K,
                      const apollo__tensor *w, const float *bias, float *y)
{
    matmul_job j;
    int64_t n_tasks;
    const int32_t isa = ((cpu_backend *)be)->isa;

    if (w->n_dims != 2 || w->shape[1] != K)
        return apollo__fail(APOLLO_E_INVALID_ARG, "matmul: weight shape does not match K=%lld",
                            (long long)K);
    if (isa >= APOLLO__ISA_AVX2 && (M < APOLLO__GEMM_MIN_M || apollo__gemm_available(isa)) &&
        !(M >= CPU_BLAS_MIN_M && blas_widens(w)))
        return kernel_matmul(be, isa, x, M, K, w, bias, y);
    j.x = x;
    j.M = M;
    j.K = K;
    j.N = w->shape[0];
    j.w = w;
    j.bias = bias;
    j.y = y;
    j.failed = 0;
    /* Enough tasks for load balance, each a multiple of the conversion block. */
    j.rows_per_task = (j.N + 4 * be->n_threads - 1) / (4 * be->n_threads);
    if (j.rows_per_task < CPU_CONVERT_ROWS)
        j.rows_per_task = CPU_CONVERT_ROWS;
    n_tasks = (j.N + j.rows_per_task - 1) / j.rows_per_task;
    apollo__pool_for(be->pool, n_tasks, matmul_task, &j);
    if (j.failed)
        return apollo__fail(APOLLO_E_NOMEM, "matmul: out of memory for weight conversion");
    return APOLLO_OK;
}

/* ---- several weights on one x (q/k/v, gate/up) ----------------------------------- */

/* Weights per pool dispatch of cpu_matmul_multi. */
#define CPU_MULTI_MAX 8

/* The GEMV tasks of up to CPU_MULTI_MAX weights in one pool dispatch: the
 * union of their output columns is split as kernel_matmul splits one weight
 * (~8 tasks per thread, whole 4-row groups), each task inside one weight and
 * starting at a multiple of the task size there, so every output is computed
 * by the same kernel on the same rows as a separate call. */
typedef struct multi_job {
    int32_t isa;
    const float *x;
    int64_t M, K, cols_per_task;
    const apollo__tensor *const *w;
    const float *const *bias;
    float *const *y;
    int64_t first_task[CPU_MULTI_MAX + 1]; /* weight i: tasks [first_task[i], first_task[i+1]) */
} multi_job;

static void multi_task(void *vp, int64_t t)
{
    multi_job *j = vp;
    int i = 0;
    while (t >= j->first_task[i + 1])
        i++;
    {
        const int64_t N = j->w[i]->shape[0];
        const int64_t n0 = (t - j->first_task[i]) * j->cols_per_task;
        const int64_t n1 = n0 + j->cols_per_task < N ? n0 + j->cols_per_task : N;
        apollo__gemv_rows(j->isa, j->x, j->M, j->K, j->w[i], j->bias ? j->bias[i] : NULL,
                          j->y[i], N, n0, n1);
    }
}

static int cpu_matmul_multi(apollo__backend *be, const float *x, int64_t M, int64_t K, int n,
                            const apollo__tensor *const w[], const float *const bias[],
                            float *const y[])
{
    const int32_t isa = ((cpu_backend *)be)->isa;
    int rc;

    for (int i = 0; i < n; i++)
        if (w[i]->n_dims != 2 || w[i]->shape[1] != K)
            return apollo__fail(APOLLO_E_INVALID_ARG,
                                "matmul: weight shape does not match K=%lld", (long long)K);
    /* cpu_matmul's GEMV route; anything else (GEMM, OpenBLAS) weight by weight */
    if (isa < APOLLO__ISA_AVX2 || M >= APOLLO__GEMM_MIN_M || M <= 0) {
        for (int i = 0; i < n; i++)
            if ((rc = cpu_matmul(be, x, M, K, w[i], bias ? bias[i] : NULL, y[i])))
                return rc;
        return APOLLO_OK;
    }
    for (int g = 0; g < n; g += CPU_MULTI_MAX) {
        const int ng = n - g < CPU_MULTI_MAX ? n - g : CPU_MULTI_MAX;
        multi_job j;
        int64_t total = 0, per;
        j.isa = isa;
        j.x = x;
        j.M = M;
        j.K = K;
        j.w = w + g;
        j.bias = bias ? bias + g : NULL;
        j.y = y + g;
        for (int i = 0; i < ng; i++)
            total += w[g + i]->shape[0];
        per = (total + 8 * be->n_threads - 1) / (8 * be->n_threads);
        per = (per + 3) & ~(int64_t)3;
        j.cols_per_task = per < 16 ? 16 : per;
        j.first_task[0] = 0;
        for (int i = 0; i < ng; i++)
            j.first_task[i + 1] =
                j.first_task[i] + (w[g + i]->shape[0] + j.cols_per_task - 1) / j.cols_per_task;
        apollo__pool_for(be->pool, j.first_task[ng], multi_task, &j);
    }
    return APOLLO_OK;
}

static void cpu_destroy(apollo__backend *be)
{
    apollo__pool_free(be->pool);
    apollo__free(be);
}

int32_t apollo__cpu_backend_isa(const apollo__backend *be)
{
    return be->vt->kind == APOLLO_BACKEND_CPU ? ((const cpu_backend *)be)->isa : -1;
}

static const apollo__backend_vtbl cpu_vtbl = {
    .name = "cpu",
    .kind = APOLLO_BACKEND_CPU,
    .destroy = cpu_destroy,
    .matmul = cpu_matmul,
    .matmul_multi = cpu_matmul_multi,
};

int apollo__cpu_backend_create(int32_t n_threads, apollo__backend **out)
{
    cpu_backend *b;
    int rc;
    pthread_once(&blas_once, blas_single_threaded);
    b = apollo__calloc(1, sizeof *b);
    if (!b)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory creating the CPU backend");
    b->base.vt = &cpu_vtbl;
    b->base.n_threads = n_threads;
    b->base.precision = APOLLO__PREC_F32;
    b->isa = apollo__cpu_isa_detect();
    rc = apollo__pool_create(n_threads, &b->base.pool);
    if (rc) {
        apollo__free(b);
        return rc;
    }
    *out = &b->base;
    return APOLLO_OK;
}
