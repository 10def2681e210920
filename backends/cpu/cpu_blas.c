/* Plain float32 GEMM through OpenBLAS (single-threaded: the backend sets
 * OpenBLAS to one thread and the callers run on the ctx's pool). */
#include "backend.h"

#include <cblas.h>

void apollo__gemm_f32(int trans_b, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                      const float *B, int64_t ldb, float *C, int64_t ldc)
{
    if (M <= 0 || N <= 0)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (blasint)M,
                (blasint)N, (blasint)K, 1.0f, A, (blasint)lda, B, (blasint)ldb, 0.0f, C,
                (blasint)ldc);
}
