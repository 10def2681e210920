/* Accuracy of the bf16-activation matmul mode on the fixture decoder.
 * The tiny-tied checkpoint runs 40 prompt positions (so the GEMM path,
 * M >= 16, is taken) with APOLLO__PREC_F32 and with the bf16 path (vdpbf16ps
 * where the CPU has it, else its scalar emulation, same rounding), and the
 * logits of every position are compared.  Measured (emulated, AVX2 host):
 * max |dlogit| / max |logit| = 1.5e-2 (0.65 on logits up to 44; this random
 * tiny model has large activations), greedy argmax equal at 38 of 40 positions
 * (printed).  The test bounds the ratio at 5e-2.  The reference tests
 * (1e-4 against transformers) run the default PREC_F32 path. */
#include "apollo.h"
#include "backend.h"
#include "cpu/cpu_kernels.h"
#include "model/model.h"
#include "nn/qwen2.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>

static int run(const apollo__model *m, apollo__backend *be, int32_t prec, const int32_t *ids,
               int64_t n, float *logits)
{
    apollo__kv_cache kv;
    float *x = malloc((size_t)(n * m->llm.hidden_size) * sizeof(float));
    int rc = apollo__kv_cache_init(&kv, &m->llm);
    if (!rc)
        rc = apollo__qwen2_embed(m, ids, n, x);
    be->precision = prec;
    if (!rc)
        rc = apollo__qwen2_forward(m, be, &kv, x, n, APOLLO__LOGITS_ALL, logits, NULL);
    be->precision = APOLLO__PREC_F32;
    apollo__kv_cache_free(&kv);
    free(x);
    return rc;
}

int main(void)
{
    char dir[1024];
    apollo__model *m = NULL;
    apollo__backend *be = NULL;
    enum { N = 40 };
    int32_t ids[N];
    snprintf(dir, sizeof dir, "%s/models/tiny-tied", APOLLO_TEST_FIXTURES);
    CHECK_EQ_INT(apollo__model_load(dir, &m), APOLLO_OK);
    CHECK_EQ_INT(apollo__backend_create(APOLLO_BACKEND_CPU, 2, &be), APOLLO_OK);
    if (!m || !be)
        return test_finish("kernels_bf16_model");
    for (int i = 0; i < N; i++)
        ids[i] = (int32_t)((i * 7919 + 13) % 151000);
    {
        const size_t nl = (size_t)N * (size_t)m->llm.vocab_size;
        float *a = malloc(nl * sizeof(float)), *b = malloc(nl * sizeof(float));
        int32_t prec = apollo__cpu_backend_isa(be) >= APOLLO__ISA_AVX512BF16
                           ? APOLLO__PREC_BF16 : APOLLO__PREC_BF16_EMULATE;
        double maxd = 0, maxl = 0;
        int same_argmax = 0;
        CHECK_EQ_INT(run(m, be, APOLLO__PREC_F32, ids, N, a), APOLLO_OK);
        CHECK_EQ_INT(run(m, be, prec, ids, N, b), APOLLO_OK);
        for (size_t i = 0; i < nl; i++) {
            double d = fabs((double)a[i] - b[i]);
            if (d > maxd)
                maxd = d;
            if (fabs(a[i]) > maxl)
                maxl = fabs(a[i]);
        }
        for (int p = 0; p < N; p++) {
            const float *pa = a + (size_t)p * (size_t)m->llm.vocab_size;
            const float *pb = b + (size_t)p * (size_t)m->llm.vocab_size;
            int64_t ia = 0, ib = 0;
            for (int64_t v = 1; v < m->llm.vocab_size; v++) {
                if (pa[v] > pa[ia]) ia = v;
                if (pb[v] > pb[ib]) ib = v;
            }
            same_argmax += ia == ib;
        }
        printf("greedy argmax equal at %d of %d positions\n", same_argmax, N);
        printf("bf16 activations (%s) vs f32 on tiny-tied, %d positions: max |dlogit| %.3g, "
               "max |logit| %.3g, ratio %.3g\n", prec == APOLLO__PREC_BF16 ? "vdpbf16ps"
               : "emulated", N, maxd, maxl, maxd / maxl);
        CHECK_MSG(maxl > 0 && maxd / maxl < 5e-2, "ratio %.3g", maxd / maxl);
        free(a);
        free(b);
    }
    apollo__backend_free(be);
    apollo__model_free(m);
    return test_finish("kernels_bf16_model");
}
