/* Sampling semantics against transformers: for random logits (some with
 * ties) and many (repetition penalty, temperature, top-k, top-p) settings,
 * the distribution we draw from equals the one transformers' processors
 * leave (tests/fixtures/reference/sampling_warpers.json, made by
 * tools/reference/sampling_reference.py): same support, probabilities within
 * 1e-6.  Also: draws follow the distribution, seeds reproduce, greedy is
 * argmax after the penalty. */
#include "apollo.h"
#include "testutil.h"
#include "text/sampler.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int check_case(json_t *c, int idx, int *n_tie_swaps)
{
    json_t *jl = json_object_get(c, "logits"), *jp = json_object_get(c, "prev");
    json_t *js = json_object_get(c, "support"), *jq = json_object_get(c, "probs");
    int64_t V = (int64_t)json_array_size(jl), n;
    float *logits = malloc((size_t)V * sizeof(float));
    int32_t prev[64];
    int64_t n_prev = (int64_t)json_array_size(jp);
    void *scratch = malloc(apollo__sampling_scratch_bytes(V));
    const int32_t *ids;
    const double *probs;
    apollo__sampling s;
    int ok = 1;

    for (int64_t i = 0; i < V; i++)
        logits[i] = (float)json_number_value(json_array_get(jl, (size_t)i));
    for (int64_t i = 0; i < n_prev && i < 64; i++)
        prev[i] = (int32_t)json_integer_value(json_array_get(jp, (size_t)i));
    s.do_sample = 1;
    s.repetition_penalty = (float)json_number_value(json_object_get(c, "repetition_penalty"));
    s.temperature = (float)json_number_value(json_object_get(c, "temperature"));
    s.top_k = (int32_t)json_integer_value(json_object_get(c, "top_k"));
    s.top_p = (float)json_number_value(json_object_get(c, "top_p"));
    n = apollo__sampling_dist(logits, V, prev, n_prev, &s, scratch, &ids, &probs);
    if (n != (int64_t)json_array_size(js)) {
        fprintf(stderr, "case %d (V=%lld rp=%g T=%g k=%d p=%g): kept %lld tokens, "
                "transformers %zu\n", idx, (long long)V, s.repetition_penalty, s.temperature,
                s.top_k, s.top_p, (long long)n, json_array_size(js));
        ok = 0;
    }
    for (int64_t i = 0; ok && i < n; i++) {
        /* the reference lists the support by id; find our probability */
        int32_t id = (int32_t)json_integer_value(json_array_get(js, (size_t)i));
        double want = json_number_value(json_array_get(jq, (size_t)i)), got = -1;
        for (int64_t k = 0; k < n; k++)
            if (ids[k] == id)
                got = probs[k];
        if (got < 0) {
            /* Not kept by us: only acceptable when top-p cut through a group
             * of exactly equal logits, where torch.sort's order among the
             * equals (not specified) decides; then we kept another token of
             * the same probability instead. */
            int swapped = 0;
            for (int64_t k = 0; k < n && !swapped; k++) {
                int in_ref = 0;
                for (size_t r = 0; r < json_array_size(js) && !in_ref; r++)
                    in_ref = ids[k] == (int32_t)json_integer_value(json_array_get(js, r));
                swapped = !in_ref && fabs(probs[k] - want) <= 1e-6 * want;
            }
            if (swapped) {
                (*n_tie_swaps)++;
                continue;
            }
        }
        if (!(got >= 0) || fabs(got - want) > 1e-6) {
            fprintf(stderr, "case %d: token %d probability %.9g, transformers %.9g\n", idx, id,
                    got, want);
            ok = 0;
        }
    }
    free(logits);
    free(scratch);
    return ok;
}

int main(void)
{
    char path[1024];
    json_error_t err;
    json_t *root, *cases;
    size_t n_ok = 0;
    int n_tie_swaps = 0;

    snprintf(path, sizeof path, "%s/reference/sampling_warpers.json", APOLLO_TEST_FIXTURES);
    root = json_load_file(path, 0, &err);
    CHECK_MSG(root != NULL, "%s: %s", path, err.text);
    if (!root)
        return test_finish("sampler");
    cases = json_object_get(root, "cases");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        int ok = check_case(json_array_get(cases, i), (int)i, &n_tie_swaps);
        CHECK(ok);
        n_ok += (size_t)ok;
    }
    printf("%zu of %zu distributions identical to transformers' (support, probabilities "
           "within 1e-6; %d tokens swapped for an equal-logit one where top-p cut a tie)\n",
           n_ok, json_array_size(cases), n_tie_swaps);
    CHECK(json_array_size(cases) >= 60);
    json_decref(root);

    /* Draws follow the distribution; the same seed gives the same draws. */
    {
        enum { V = 6, N = 200000 };
        float base[V] = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f, -3.0f}, logits[V];
        void *scratch = malloc(apollo__sampling_scratch_bytes(V));
        apollo__sampling s = {1, 1.0f, 0, 1.0f, 1.0f};
        apollo__rng a, b;
        long count[V] = {0};
        const int32_t *ids;
        const double *probs;
        int64_t n;
        apollo__rng_seed(&a, 42);
        apollo__rng_seed(&b, 42);
        for (int i = 0; i < N; i++) {
            int32_t t1, t2;
            memcpy(logits, base, sizeof logits);
            t1 = apollo__sample_next(logits, V, NULL, 0, &s, &a, scratch);
            memcpy(logits, base, sizeof logits);
            t2 = apollo__sample_next(logits, V, NULL, 0, &s, &b, scratch);
            CHECK(t1 == t2);
            count[t1]++;
        }
        memcpy(logits, base, sizeof logits);
        n = apollo__sampling_dist(logits, V, NULL, 0, &s, scratch, &ids, &probs);
        for (int64_t i = 0; i < n; i++) {
            double freq = (double)count[ids[i]] / N;
            /* 5 standard deviations of a binomial proportion */
            double tol = 5 * sqrt(probs[i] * (1 - probs[i]) / N) + 1e-4;
            CHECK_MSG(fabs(freq - probs[i]) < tol, "token %d: drawn %.4f, p %.4f", ids[i], freq,
                      probs[i]);
        }
        /* greedy: argmax after the repetition penalty */
        {
            apollo__sampling g = {0, 1.0f, 0, 1.0f, 10.0f};
            int32_t prev[1] = {0};
            memcpy(logits, base, sizeof logits);
            CHECK_EQ_INT(apollo__sample_next(logits, V, prev, 1, &g, &a, scratch), 1);
        }
        free(scratch);
    }
    return test_finish("sampler");
}
