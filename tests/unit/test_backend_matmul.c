/* Backend consistency: the CPU (OpenBLAS) and oneDNN matmuls agree with a
 * plain double-precision loop, for F32/BF16/F16 weights, with and without
 * bias, several shapes and thread counts. */
#include "apollo.h"
#include "backend.h"
#ifdef APOLLO_HAVE_ONEDNN
#include "onednn/onednn_hooks.h"
#endif
#include "common/alloc.h"
#include "testrand.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static uint32_t rng = 12345;
#define frand() test_frand(&rng)
#define to_bf16 test_to_bf16
#define to_f16 test_to_f16

static void reference(const float *x, const apollo__tensor *w, const float *bias, int64_t M,
                      int64_t K, int64_t N, float *y)
{
    float *wf = malloc((size_t)(N * K) * sizeof(float));
    apollo__to_f32(w->dtype, w->data, wf, (size_t)(N * K));
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double acc = bias ? bias[n] : 0.0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)x[m * K + k] * wf[n * K + k];
            y[m * N + n] = (float)acc;
        }
    free(wf);
}

static void run_case(apollo__backend *be, apollo__dtype dt, int64_t M, int64_t K, int64_t N,
                     int with_bias)
{
    float *x = malloc((size_t)(M * K) * sizeof(float));
    float *b = malloc((size_t)N * sizeof(float));
    float *y = malloc((size_t)(M * N) * sizeof(float));
    float *r = malloc((size_t)(M * N) * sizeof(float));
    size_t es = apollo__dtype_size(dt);
    /* +1 byte: exercise unaligned weight data as found in safetensors files */
    unsigned char *wbuf = malloc((size_t)(N * K) * es + 1);
    unsigned char *wd = wbuf + 1;
    apollo__tensor w = {0};
    double err;
    int rc;

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
    reference(x, &w, with_bias ? b : NULL, M, K, N, r);
    rc = apollo__matmul(be, x, M, K, &w, with_bias ? b : NULL, y);
    CHECK_EQ_INT(rc, APOLLO_OK);
    err = test_rel_err(y, r, (size_t)(M * N));
    CHECK_MSG(err < 1e-5, "%s %s M=%lld K=%lld N=%lld bias=%d: rel err %.3g", be->vt->name,
              apollo__dtype_name(dt), (long long)M, (long long)K, (long long)N, with_bias, err);
    free(x);
    free(b);
    free(y);
    free(r);
    free(wbuf);
}

static void run_backend(int32_t kind, int32_t threads)
{
    apollo__backend *be = NULL;
    /* M = 600: the CPU backend's OpenBLAS route for long x */
    static const int64_t shapes[][3] = {{1, 8, 8},   {1, 1536, 257},  {7, 64, 300},
                                        {33, 200, 65}, {128, 96, 1000}, {600, 72, 130}};
    static const apollo__dtype dts[] = {APOLLO__DT_F32, APOLLO__DT_BF16, APOLLO__DT_F16};
    int rc = apollo__backend_create(kind, threads, &be);
    CHECK_EQ_INT(rc, APOLLO_OK);
    if (rc)
        return;
    CHECK_EQ_INT(be->vt->kind, kind);
#ifdef APOLLO_HAVE_ONEDNN
    /* oneDNN's own f32 arithmetic, also where it would leave f32 to the CPU
     * kernels (the routing is checked in test_onednn_matmul) */
    apollo__onednn_set_debug(be, APOLLO__ONEDNN_FORCE_F32);
#endif
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t d = 0; d < 3; d++)
            run_case(be, dts[d], shapes[s][0], shapes[s][1], shapes[s][2], (int)(s % 2));
    printf("backend %s with %d threads: ok\n", be->vt->name, threads);
    apollo__backend_free(be);
}

int main(void)
{
    run_backend(APOLLO_BACKEND_CPU, 1);
    run_backend(APOLLO_BACKEND_CPU, 3);
#ifdef APOLLO_HAVE_ONEDNN
    run_backend(APOLLO_BACKEND_ONEDNN, 1);
    run_backend(APOLLO_BACKEND_ONEDNN, 2);
#else
    {
        apollo__backend *be = NULL;
        CHECK_EQ_INT(apollo__backend_create(APOLLO_BACKEND_ONEDNN, 1, &be), APOLLO_E_UNSUPPORTED);
        CHECK(be == NULL);
        printf("oneDNN not built: APOLLO_BACKEND_ONEDNN reports APOLLO_E_UNSUPPORTED\n");
    }
#endif
    return test_finish("backend_matmul");
}
