/* APOLLO_PRECISION_INT8 through the public API: apollo_ctx_open quantizes
 * (the log says so), sessions answer text and video questions, the prompt
 * ids are the F32 ctx's (tokenizer, templates and video splicing do not
 * depend on the weights), and the greedy answers are printed beside the F32
 * ctx's.  Their agreement is not enforced here (test_qwen2_int8 bounds the
 * accuracy on the fixtures); only that INT8 answers.  The same with the
 * oneDNN backend (skipped where the build has none), where INT8 also runs the
 * prefill's int8 products on oneDNN's int8 matmul with the activations
 * quantized (its log says so; test_qwen2_int8 bounds its logits).  Unknown
 * precisions are refused with APOLLO_E_INVALID_ARG. */
#include <apollo.h>

#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static int quant_log_lines, onednn_int8_lines;
static void on_log(int32_t level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    if (strstr(msg, "quantized to int8"))
        quant_log_lines++;
    if (strstr(msg, "run on oneDNN's u8*s8 matmul, activations quantized per row"))
        onednn_int8_lines++;
}

static apollo_ctx *open_backend(const char *variant, int32_t backend, int32_t precision, int *rc_out)
{
    char dir[1024];
    apollo_ctx_params p;
    apollo_ctx *ctx = NULL;
    int rc;
    snprintf(dir, sizeof dir, "%s/models/%s", APOLLO_TEST_FIXTURES, variant);
    apollo_ctx_params_init(&p);
    p.n_threads = 2;
    p.backend = backend;
    p.precision = precision;
    p.log_fn = on_log;
    p.log_level = APOLLO_LOG_INFO;
    rc = apollo_ctx_open(dir, &p, &ctx);
    if (rc_out)
        *rc_out = rc;
    else
        CHECK_MSG(rc == APOLLO_OK, "open %s precision %d: %s", variant, precision,
                  apollo_last_errmsg());
    return ctx;
}

static apollo_ctx *open_model(const char *variant, int32_t precision)
{
    return open_backend(variant, APOLLO_BACKEND_AUTO, precision, NULL);
}

typedef struct answer {
    int32_t *ids;
    size_t n;
    char *text;
    int finish;
} answer;

/* Greedy answer of 32 tokens to `question`, optionally about `video`. */
static void ask(apollo_ctx *ctx, const char *video, const char *question, answer *a)
{
    apollo_session *s = NULL;
    apollo_video *v = NULL;
    apollo_generate_params gp;
    memset(a, 0, sizeof *a);
    CHECK_EQ_INT(apollo_session_new(ctx, NULL, &s), APOLLO_OK);
    if (!s)
        return;
    if (video) {
        char path[1024];
        snprintf(path, sizeof path, "%s/videos/%s", APOLLO_TEST_FIXTURES, video);
        CHECK_EQ_INT(apollo_video_open_file(ctx, path, NULL, &v), APOLLO_OK);
        CHECK_EQ_INT(apollo_session_add_video(s, v, NULL), APOLLO_OK);
    }
    apollo_generate_params_init(&gp);
    gp.do_sample = 0;
    gp.max_new_tokens = 32;
    CHECK_EQ_INT(apollo_session_ask(s, question, &gp, &a->text), APOLLO_OK);
    CHECK(a->text != NULL);
    a->finish = apollo_session_get_finish_reason(s);
    apollo_session_get_tokens(s, NULL, 0, &a->n);
    a->ids = malloc((a->n + 1) * sizeof *a->ids);
    apollo_session_get_tokens(s, a->ids, a->n, &a->n);
    apollo_video_free(v);
    apollo_session_free(s);
}

static void compare(const char *what, const answer *f, const answer *q)
{
    size_t n_prompt, same = 0, first = 0;
    /* these random models never end a 32-token answer early, so each
     * session holds its prompt and exactly 32 generated ids */
    CHECK_MSG(f->finish == APOLLO_FINISH_LENGTH && q->finish == APOLLO_FINISH_LENGTH &&
                  f->n == q->n && f->n > 32,
              "%s: finish %d / %d, %zu / %zu ids", what, f->finish, q->finish, f->n, q->n);
    if (f->n != q->n || f->n <= 32)
        return;
    n_prompt = f->n - 32;
    CHECK_MSG(memcmp(f->ids, q->ids, n_prompt * sizeof *f->ids) == 0,
              "%s: int8 prompt ids differ from F32", what);
    for (size_t i = 0; i < 32; i++) {
        same += f->ids[n_prompt + i] == q->ids[n_prompt + i];
        if (same == i + 1)
            first = i + 1;
    }
    printf("%s: prompt %zu ids; int8 greedy answer %zu/32 tokens as F32 (first %zu)\n"
           "    F32:  \"%s\"\n    int8: \"%s\"\n",
           what, n_prompt, same, first, f->text ? f->text : "", q->text ? q->text : "");
}

static void free_answer(answer *a)
{
    free(a->ids);
    apollo_free(a->text);
}

int main(void)
{
    static const char *variants[] = {"tiny-tied", "tiny-sharded"};
    const char *q = "What is the capital of France? Reply in one word.";
    for (int v = 0; v < 2; v++) {
        apollo_ctx *cf = open_model(variants[v], APOLLO_PRECISION_F32);
        apollo_ctx *cq;
        answer af, aq;
        char what[128];
        CHECK_EQ_INT(quant_log_lines, 0);
        cq = open_model(variants[v], APOLLO_PRECISION_INT8);
        CHECK_EQ_INT(quant_log_lines, 1);
        quant_log_lines = 0;
        if (!cf || !cq)
            return test_finish("precision_int8");
        ask(cf, NULL, q, &af);
        ask(cq, NULL, q, &aq);
        snprintf(what, sizeof what, "%s text", variants[v]);
        compare(what, &af, &aq);
        free_answer(&af);
        free_answer(&aq);
        if (v == 0) { /* the vision towers and connector run as in F32 */
            ask(cf, "cfr_161x97_2997.mp4", "What happens in this video?", &af);
            ask(cq, "cfr_161x97_2997.mp4", "What happens in this video?", &aq);
            snprintf(what, sizeof what, "%s video", variants[v]);
            compare(what, &af, &aq);
            free_answer(&af);
            free_answer(&aq);
        }
        apollo_ctx_free(cq);

        /* oneDNN + INT8: same Q8 weights, the prefill's activations quantized */
        {
            int rc;
            quant_log_lines = onednn_int8_lines = 0;
            cq = open_backend(variants[v], APOLLO_BACKEND_ONEDNN, APOLLO_PRECISION_INT8, &rc);
            if (rc == APOLLO_E_UNSUPPORTED) {
                printf("%s: oneDNN not built, its INT8 skipped\n", variants[v]);
            } else {
                CHECK_MSG(rc == APOLLO_OK && cq, "open %s oneDNN INT8: %s", variants[v],
                          apollo_last_errmsg());
                if (!cq)
                    return test_finish("precision_int8");
                CHECK_EQ_INT(apollo_ctx_get_backend(cq), APOLLO_BACKEND_ONEDNN);
                CHECK_EQ_INT(quant_log_lines, 1);
                ask(cf, NULL, q, &af);
                ask(cq, NULL, q, &aq);
                /* the prompt is longer than 16 tokens: its prefill ran on oneDNN's int8 */
                CHECK_EQ_INT(onednn_int8_lines, 1);
                snprintf(what, sizeof what, "%s text, oneDNN", variants[v]);
                compare(what, &af, &aq);
                free_answer(&af);
                free_answer(&aq);
                if (v == 0) {
                    ask(cf, "cfr_161x97_2997.mp4", "What happens in this video?", &af);
                    ask(cq, "cfr_161x97_2997.mp4", "What happens in this video?", &aq);
                    snprintf(what, sizeof what, "%s video, oneDNN", variants[v]);
                    compare(what, &af, &aq);
                    free_answer(&af);
                    free_answer(&aq);
                }
                apollo_ctx_free(cq);
            }
            quant_log_lines = 0;
        }
        apollo_ctx_free(cf);
    }
    {
        char dir[1024];
        apollo_ctx_params p;
        apollo_ctx *ctx = (apollo_ctx *)1;
        snprintf(dir, sizeof dir, "%s/models/tiny-tied", APOLLO_TEST_FIXTURES);
        apollo_ctx_params_init(&p);
        p.precision = 3;
        CHECK_EQ_INT(apollo_ctx_open(dir, &p, &ctx), APOLLO_E_INVALID_ARG);
        CHECK(ctx == NULL);
        CHECK_STR_CONTAINS(apollo_last_errmsg(), "precision");
        p.precision = -1;
        CHECK_EQ_INT(apollo_ctx_open(dir, &p, &ctx), APOLLO_E_INVALID_ARG);
    }
    return test_finish("precision_int8");
}
