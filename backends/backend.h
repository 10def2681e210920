/* The seam between the model code (lib/nn) and the compute backends.
 * A backend is created per ctx, owns the ctx's threads and implements the
 * operations below; lib/nn never calls BLAS or oneDNN directly.
 *
 * Conventions: activations are float32, row-major; a weight is an
 * apollo__tensor [N, K] (PyTorch Linear layout) in F32, BF16 or F16, or Q8
 * (int8 rows with per-row scales, made at ctx open for
 * APOLLO_PRECISION_INT8; a backend without its own Q8 path passes these to
 * apollo__cpu_matmul_isa, backends/cpu/cpu_kernels.h); results are float32. */
#ifndef APOLLO_BACKEND_H
#define APOLLO_BACKEND_H

#include "common/tensor.h"
#include "common/threadpool.h"

#include <stdint.h>

typedef struct apollo__backend apollo__backend;

typedef struct apollo__backend_vtbl {
    const char *name;
    int32_t kind; /* APOLLO_BACKEND_CPU / APOLLO_BACKEND_ONEDNN */
    void (*destroy)(apollo__backend *be);
    /* y[M, N] = x[M, K] . W[N, K]^T (+ bias[N] when not NULL). */
    int (*matmul)(apollo__backend *be, const float *x, int64_t M, int64_t K,
                  const apollo__tensor *w, const float *bias, float *y);
    /* Optional (NULL: apollo__matmul_multi makes n matmul calls).  n products
     * of the same x, see apollo__matmul_multi. */
    int (*matmul_multi)(apollo__backend *be, const float *x, int64_t M, int64_t K, int n,
                        const apollo__tensor *const w[], const float *const bias[],
                        float *const y[]);
} apollo__backend_vtbl;

/* apollo__backend.precision: how matmul treats float32 activations.
 *   PREC_F32  (default): exact f32 arithmetic on the (exactly widened) 16-bit
 *             weights; matches a double-precision loop to ~1e-6 relative.
 *   PREC_BF16: activations may be rounded to bf16 where that is faster
 *             (AVX-512 BF16 vdpbf16ps, oneDNN bf16): ~3 significant digits
 *             per product; see tests/unit/test_kernels_gemm.c for the bound.
 *             Backends without a faster bf16 path compute as PREC_F32.
 *   PREC_INT8: (oneDNN backend) 16-bit/f32 weights quantized once to int8
 *             with one scale per output row, activations quantized per call
 *             and per row (symmetric, 8 bits); int32 accumulation, float32
 *             result.  Error bound in tests/unit/test_onednn_matmul.c.
 *             Backends without an int8 path compute as PREC_F32.
 *   (2 is APOLLO__PREC_BF16_EMULATE, a CPU-backend test value.) */
enum { APOLLO__PREC_F32 = 0, APOLLO__PREC_BF16 = 1, APOLLO__PREC_INT8 = 3 };

/* Where a backend reports one-off decisions (a precision this CPU cannot
 * run, weights left unpacked); level is APOLLO_LOG_*.  Optional: NULL (the
 * default) drops them; the owner of the backend may set it after creation. */
typedef void (*apollo__backend_log_fn)(void *user_data, int32_t level, const char *msg);

struct apollo__backend {
    const apollo__backend_vtbl *vt;
    apollo__pool *pool; /* owned; shared with lib/nn for element-wise work */
    int32_t n_threads;
    int32_t precision;  /* APOLLO__PREC_*; may be changed between calls */
    apollo__backend_log_fn log_fn;
    void *log_user_data;
};

/* kind: APOLLO_BACKEND_AUTO / _CPU / _ONEDNN (apollo.h).  n_threads >= 1. */
int apollo__backend_create(int32_t kind, int32_t n_threads, apollo__backend **out);
void apollo__backend_free(apollo__backend *be);

static inline int apollo__matmul(apollo__backend *be, const float *x, int64_t M, int64_t K,
                                 const apollo__tensor *w, const float *bias, float *y)
{
    return be->vt->matmul(be, x, M, K, w, bias, y);
}

/* y[i][M, N_i] = x[M, K] . w[i][N_i, K]^T (+ bias[i][N_i] when bias and
 * bias[i] are not NULL) for i < n: the n apollo__matmul calls, bit for bit,
 * but a backend may run them as one job (the CPU backend: one pool dispatch
 * for the decode GEMVs of the q/k/v or gate/up projections, instead of one
 * per weight and its barrier).  The y[i] must not overlap x or each other.
 * Stops at the first error. */
static inline int apollo__matmul_multi(apollo__backend *be, const float *x, int64_t M, int64_t K,
                                       int n, const apollo__tensor *const w[],
                                       const float *const bias[], float *const y[])
{
    int rc;
    if (be->vt->matmul_multi)
        return be->vt->matmul_multi(be, x, M, K, n, w, bias, y);
    for (int i = 0; i < n; i++)
        if ((rc = be->vt->matmul(be, x, M, K, w[i], bias ? bias[i] : NULL, y[i])))
            return rc;
    return 0; /* APOLLO_OK */
}

/* Single-threaded float32 GEMM for kernels that parallelise themselves
 * (attention blocks run as pool tasks):
 *   trans_b = 0:  C[M,N] = A[M,K] . B[K,N]
 *   trans_b = 1:  C[M,N] = A[M,K] . B[N,K]^T
 * Row-major with leading dimensions lda/ldb/ldc (elements).  Implemented
 * with OpenBLAS for every backend (backends/cpu/cpu_blas.c). */
void apollo__gemm_f32(int trans_b, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                      const float *B, int64_t ldb, float *C, int64_t ldc);

/* Constructors of the individual backends (backends/<name>/). */
int apollo__cpu_backend_create(int32_t n_threads, apollo__backend **out);
#ifdef APOLLO_HAVE_ONEDNN
int apollo__onednn_backend_create(int32_t n_threads, apollo__backend **out);
#endif

#endif
