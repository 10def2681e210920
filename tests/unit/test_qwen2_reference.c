/* The Qwen2 decoder against transformers' Qwen2ForCausalLM (fp32 fixtures
 * from tools/reference): hidden states after every layer and logits within
 * 1e-4 relative, and the 32-token greedy continuations (plain and with the
 * checkpoint's repetition penalty) token for token -- on both tiny
 * checkpoints (tied and untied head), for the text conversation and for the
 * video conversations (whose merged input embeddings come from the fixture). */
#include "apollo.h"
#include "backend.h"
#ifdef APOLLO_HAVE_ONEDNN
#include "onednn/onednn_hooks.h"
#endif
#include "fixture.h"
#include "model/model.h"
#include "nn/qwen2.h"
#include "testutil.h"
#include "text/sampler.h"

#include <math.h>

#define TOL 1e-4

typedef struct {
    float *hs;  /* [n_layers+1, n, D] captured */
    int64_t n, D;
} capture;

static void on_hidden(void *ud, int64_t layer, const float *h, int64_t rows, int64_t dim)
{
    capture *c = ud;
    memcpy(c->hs + (size_t)(layer * c->n * dim), h, (size_t)(rows * dim) * sizeof(float));
}

static void greedy(const apollo__model *m, apollo__backend *be, const float *emb, int64_t n,
                   double penalty, const int64_t *expect, size_t n_expect, const char *what)
{
    apollo__kv_cache kv;
    const int64_t V = m->llm.vocab_size, D = m->llm.hidden_size;
    float *logits = malloc((size_t)V * sizeof(float));
    float *x = malloc((size_t)D * sizeof(float));
    int32_t gen[64];
    size_t ok = 0;
    CHECK_EQ_INT(apollo__kv_cache_init(&kv, &m->llm), APOLLO_OK);
    CHECK_EQ_INT(apollo__qwen2_forward(m, be, &kv, emb, n, APOLLO__LOGITS_LAST, logits, NULL),
                 APOLLO_OK);
    for (size_t i = 0; i < n_expect && i < 64; i++) {
        int32_t t;
        apollo__apply_repetition_penalty(logits, V, gen, (int64_t)i, (float)penalty);
        t = apollo__argmax(logits, V);
        gen[i] = t;
        ok += (t == expect[i]);
        if (t != expect[i])
            fprintf(stderr, "%s: step %zu got %d expected %lld\n", what, i, t,
                    (long long)expect[i]);
        CHECK_EQ_INT(apollo__qwen2_embed(m, &t, 1, x), APOLLO_OK);
        CHECK_EQ_INT(apollo__qwen2_forward(m, be, &kv, x, 1, APOLLO__LOGITS_LAST, logits, NULL),
                     APOLLO_OK);
    }
    CHECK_MSG(ok == n_expect, "%s: %zu of %zu greedy tokens match", what, ok, n_expect);
    printf("  %s: %zu/%zu greedy tokens identical\n", what, ok, n_expect);
    apollo__kv_cache_free(&kv);
    free(logits);
    free(x);
}

static void run_scenario(const char *variant, const char *scenario, int32_t backend_kind)
{
    char path[1024], dir[1024];
    apollo__model *m = NULL;
    apollo__backend *be = NULL;
    apollo__st_file *f;
    size_t n_ids = 0, n_emb = 0, n_hs = 0, n_pos = 0, n_sub = 0, n_subids = 0, n_g = 0, n_grp = 0;
    int64_t *ids, *pos, *subids, *gids, *grpids;
    float *emb, *hs_ref, *sub_ref, *logits, *emb_mine;
    capture cap;
    apollo__qwen2_hooks hooks = {0};
    apollo__kv_cache kv;
    int64_t D, V, n;
    double err;

    snprintf(dir, sizeof dir, "%s/models/%s", APOLLO_TEST_FIXTURES, variant);
    CHECK_EQ_INT(apollo__model_load(dir, &m), APOLLO_OK);
    CHECK_EQ_INT(apollo__backend_create(backend_kind, 2, &be), APOLLO_OK);
#ifdef APOLLO_HAVE_ONEDNN
    /* oneDNN's own f32 arithmetic, also where it would leave f32 to the CPU kernels */
    apollo__onednn_set_debug(be, APOLLO__ONEDNN_FORCE_F32);
#endif
    snprintf(path, sizeof path, "reference/%s/%s/tensors.safetensors", variant, scenario);
    f = fixture_open(path);
    CHECK(m && be && f);
    if (!m || !be || !f)
        return;
    printf("%s / %s (%s backend)\n", variant, scenario, be->vt->name);
    D = m->llm.hidden_size;
    V = m->llm.vocab_size;
    ids = fixture_i64(f, "prompt_ids", &n_ids);
    emb = fixture_f32(f, "inputs_embeds", &n_emb);
    hs_ref = fixture_f32(f, "llm_hidden_states", &n_hs);
    pos = fixture_i64(f, "logits_positions", &n_pos);
    subids = fixture_i64(f, "logits_subset_ids", &n_subids);
    sub_ref = fixture_f32(f, "logits_subset", &n_sub);
    gids = fixture_i64(f, "greedy_ids", &n_g);
    grpids = fixture_i64(f, "greedy_rp_ids", &n_grp);
    n = (int64_t)n_ids;
    CHECK_EQ_INT(n_emb, (size_t)(n * D));

    /* Text rows of the merged embeddings are embedding-table rows. */
    emb_mine = malloc((size_t)(n * D) * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0) {
            memcpy(emb_mine + i * D, emb + i * D, (size_t)D * sizeof(float));
        } else {
            int32_t id = (int32_t)ids[i];
            CHECK_EQ_INT(apollo__qwen2_embed(m, &id, 1, emb_mine + i * D), APOLLO_OK);
        }
    }
    err = test_rel_err(emb_mine, emb, (size_t)(n * D));
    CHECK_MSG(err < TOL, "inputs_embeds rel err %.3g", err);

    /* One forward over the whole prompt, every layer captured. */
    cap.n = n;
    cap.D = D;
    cap.hs = calloc((size_t)((m->llm.n_layers + 1) * n * D), sizeof(float));
    hooks.on_hidden = on_hidden;
    hooks.user_data = &cap;
    logits = malloc((size_t)(n * V) * sizeof(float));
    CHECK_EQ_INT(apollo__kv_cache_init(&kv, &m->llm), APOLLO_OK);
    CHECK_EQ_INT(apollo__qwen2_forward(m, be, &kv, emb, n, APOLLO__LOGITS_ALL, logits, &hooks),
                 APOLLO_OK);
    CHECK_EQ_INT(n_hs, (size_t)((m->llm.n_layers + 1) * n * D));
    for (int64_t l = 0; l <= m->llm.n_layers; l++) {
        err = test_rel_err(cap.hs + l * n * D, hs_ref + l * n * D, (size_t)(n * D));
        CHECK_MSG(err < TOL, "hidden state %lld rel err %.3g", (long long)l, err);
        printf("  hidden_states[%lld]: rel err %.2e\n", (long long)l, err);
    }
    for (size_t p = 0; p < n_pos; p++) {
        float *mine = malloc(n_subids * sizeof(float));
        for (size_t k = 0; k < n_subids; k++)
            mine[k] = logits[pos[p] * V + subids[k]];
        err = test_rel_err(mine, sub_ref + p * n_subids, n_subids);
        CHECK_MSG(err < TOL, "logits at position %lld rel err %.3g", (long long)pos[p], err);
        printf("  logits[%lld] (%zu ids): rel err %.2e\n", (long long)pos[p], n_subids, err);
        free(mine);
    }
    apollo__kv_cache_free(&kv);

    greedy(m, be, emb, n, 1.0, gids, n_g, "greedy");
    greedy(m, be, emb, n, m->gen.repetition_penalty, grpids, n_grp, "greedy+repetition_penalty");

    free(ids);
    free(emb);
    free(emb_mine);
    free(hs_ref);
    free(pos);
    free(subids);
    free(sub_ref);
    free(gids);
    free(grpids);
    free(cap.hs);
    free(logits);
    apollo__st_close(f);
    apollo__backend_free(be);
    apollo__model_free(m);
}

int main(void)
{
    static const char *variants[] = {"tiny-tied", "tiny-sharded"};
    static const char *scenarios[] = {"text", "video-cfr", "video-vfr"};
    for (int v = 0; v < 2; v++)
        for (int s = 0; s < 3; s++)
            run_scenario(variants[v], scenarios[s], APOLLO_BACKEND_CPU);
#ifdef APOLLO_HAVE_ONEDNN
    run_scenario("tiny-tied", "text", APOLLO_BACKEND_ONEDNN);
#endif
    return test_finish("qwen2_reference");
}
