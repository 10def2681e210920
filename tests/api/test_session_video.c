/* Asking about a video through the public API, end to end, against the
 * PyTorch reference (tests/fixtures/reference/<variant>/video-{cfr,vfr}):
 * decode -> sampling -> preprocessing -> SigLIP + InternVideo2 -> fusion ->
 * connector -> splicing -> Qwen2.  The visual tokens must match the
 * reference connector output within 1e-4 relative, the two-turn prompt must
 * be the reference's id for id (-200 placeholders included) and the greedy
 * answers its 32 tokens.  Also: one encoding serves several sessions (the
 * second never runs the encoders), save/load round-trips, damaged or
 * mismatched embedding files are refused, forks share the video prefix. */
#include <apollo.h>

#include "testutil.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct ref {
    json_t *root;
    char *q1, *a1, *q2;
    int64_t *prompt, *greedy, *greedy_rp;
    size_t n_prompt, n_greedy, n_greedy_rp;
    float *connector; /* [clips, n_out, D] */
    size_t n_connector;
} ref;

static char *dup_range(const char *a, const char *b)
{
    char *o = malloc((size_t)(b - a) + 1);
    memcpy(o, a, (size_t)(b - a));
    o[b - a] = '\0';
    return o;
}

static int64_t *ids_of(json_t *arr, size_t *n)
{
    int64_t *out = malloc((json_array_size(arr) + 1) * sizeof *out);
    for (size_t i = 0; i < json_array_size(arr); i++)
        out[i] = json_integer_value(json_array_get(arr, i));
    *n = json_array_size(arr);
    return out;
}

/* F32 tensor `name` of a safetensors file (read with the standard library
 * and jansson: this test links only the public library). */
static float *read_tensor(const char *path, const char *name, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint64_t hlen = 0;
    unsigned char b8[8];
    char *hdr;
    json_t *h, *e;
    float *out = NULL;
    if (!f || fread(b8, 1, 8, f) != 8)
        return NULL;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | b8[i];
    hdr = malloc(hlen + 1);
    if (fread(hdr, 1, hlen, f) != hlen)
        return NULL;
    h = json_loadb(hdr, hlen, 0, NULL);
    e = json_object_get(h, name);
    if (e) {
        json_int_t b = json_integer_value(json_array_get(json_object_get(e, "data_offsets"), 0));
        json_int_t en = json_integer_value(json_array_get(json_object_get(e, "data_offsets"), 1));
        *n = (size_t)(en - b) / 4;
        out = malloc((size_t)(en - b));
        fseek(f, (long)(8 + hlen + (uint64_t)b), SEEK_SET);
        if (fread(out, 1, (size_t)(en - b), f) != (size_t)(en - b)) {
            free(out);
            out = NULL;
        }
    }
    json_decref(h);
    free(hdr);
    fclose(f);
    return out;
}

static int load_ref(const char *variant, const char *scen, ref *r)
{
    char path[1024];
    const char *text, *u1, *u1e, *last_ph, *a1, *a1e, *u2, *u2e;
    snprintf(path, sizeof path, "%s/reference/%s/%s/scenario.json", APOLLO_TEST_FIXTURES,
             variant, scen);
    memset(r, 0, sizeof *r);
    r->root = json_load_file(path, 0, NULL);
    if (!r->root)
        return -1;
    text = json_string_value(json_object_get(r->root, "prompt_text"));
    u1 = strstr(text, "<|im_start|>user\n");
    u1e = u1 ? strstr(u1, "<|im_end|>") : NULL;
    if (!u1e)
        return -1;
    /* q1 follows the last placeholder and the "\n\n" after it */
    last_ph = u1;
    for (const char *p = u1; (p = strstr(p, "<|video_token|>")) && p < u1e; p++)
        last_ph = p + strlen("<|video_token|>");
    r->q1 = dup_range(last_ph + 2, u1e);
    a1 = strstr(u1e, "<|im_start|>assistant\n") + strlen("<|im_start|>assistant\n");
    a1e = strstr(a1, "<|im_end|>");
    r->a1 = dup_range(a1, a1e);
    u2 = strstr(a1e, "<|im_start|>user\n") + strlen("<|im_start|>user\n");
    u2e = strstr(u2, "<|im_end|>");
    r->q2 = dup_range(u2, u2e);
    r->prompt = ids_of(json_object_get(r->root, "prompt_ids"), &r->n_prompt);
    r->greedy = ids_of(json_object_get(r->root, "greedy_ids"), &r->n_greedy);
    r->greedy_rp = ids_of(json_object_get(r->root, "greedy_rp_ids"), &r->n_greedy_rp);
    snprintf(path, sizeof path, "%s/reference/%s/%s/tensors.safetensors", APOLLO_TEST_FIXTURES,
             variant, scen);
    r->connector = read_tensor(path, "connector", &r->n_connector);
    return r->connector ? 0 : -1;
}

static void free_ref(ref *r)
{
    free(r->q1);
    free(r->a1);
    free(r->q2);
    free(r->prompt);
    free(r->greedy);
    free(r->greedy_rp);
    free(r->connector);
    json_decref(r->root);
}

static int n_progress;
static void on_progress(int32_t i, int32_t n, void *ud)
{
    (void)ud;
    CHECK(i >= 0 && i < n);
    n_progress++;
}

/* Video turn + restored answer + greedy question; returns the session. */
static apollo_session *converse(apollo_ctx *ctx, apollo_video *v, const ref *r, float penalty,
                                size_t n_new, int32_t **toks, size_t *n_toks)
{
    apollo_session *s = NULL;
    apollo_generate_params gp;
    apollo_encode_params ep;
    CHECK_EQ_INT(apollo_session_new(ctx, NULL, &s), APOLLO_OK);
    apollo_encode_params_init(&ep);
    ep.progress_fn = on_progress;
    CHECK_EQ_INT(apollo_session_add_video(s, v, &ep), APOLLO_OK);
    CHECK_EQ_INT(apollo_session_add_exchange(s, r->q1, r->a1), APOLLO_OK);
    apollo_generate_params_init(&gp);
    gp.do_sample = 0;
    gp.repetition_penalty = penalty;
    gp.max_new_tokens = (int32_t)n_new;
    CHECK_EQ_INT(apollo_session_ask(s, r->q2, &gp, NULL), APOLLO_OK);
    apollo_session_get_tokens(s, NULL, 0, n_toks);
    *toks = malloc((*n_toks + 1) * sizeof **toks);
    apollo_session_get_tokens(s, *toks, *n_toks, n_toks);
    return s;
}

static size_t count_same(const int32_t *a, const int64_t *b, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += a[i] == b[i];
    return k;
}

static void scenario(const char *variant, const char *scen, const char *file)
{
    char dir[1024], path[1024], saved[1024];
    apollo_ctx *ctx = NULL;
    apollo_video *v = NULL, *loaded = NULL;
    apollo_session *s1, *s2, *s3;
    ref r;
    int32_t *t1, *t2, *t3;
    size_t n1, n2, n3, n_emb = 0;
    int32_t dim = 0;
    float *emb;
    double err;

    if (load_ref(variant, scen, &r) != 0) {
        CHECK_MSG(0, "cannot read reference %s/%s", variant, scen);
        return;
    }
    snprintf(dir, sizeof dir, "%s/models/%s", APOLLO_TEST_FIXTURES, variant);
    snprintf(path, sizeof path, "%s/videos/%s", APOLLO_TEST_FIXTURES, file);
    CHECK_EQ_INT(apollo_ctx_open(dir, NULL, &ctx), APOLLO_OK);
    CHECK_EQ_INT(apollo_video_open_file(ctx, path, NULL, &v), APOLLO_OK);
    if (!ctx || !v) {
        free_ref(&r);
        return;
    }
    CHECK_EQ_INT(apollo_video_is_encoded(v), 0);

    /* session 1 encodes the video (progress once per clip) */
    n_progress = 0;
    s1 = converse(ctx, v, &r, 1.0f, r.n_greedy, &t1, &n1);
    CHECK_EQ_INT(n_progress, apollo_video_n_clips(v));
    CHECK_EQ_INT(apollo_video_is_encoded(v), 1);
    CHECK_EQ_INT(n1, r.n_prompt + r.n_greedy);
    CHECK_EQ_INT(count_same(t1, r.prompt, r.n_prompt), r.n_prompt);
    CHECK_EQ_INT(count_same(t1 + r.n_prompt, r.greedy, r.n_greedy), r.n_greedy);
    printf("%s %s: prompt %zu/%zu ids, greedy %zu/%zu tokens identical to the reference\n",
           variant, scen, count_same(t1, r.prompt, r.n_prompt), r.n_prompt,
           count_same(t1 + r.n_prompt, r.greedy, r.n_greedy), r.n_greedy);

    /* the visual tokens themselves */
    CHECK_EQ_INT(apollo_video_get_embeddings(v, NULL, 0, &n_emb, &dim), APOLLO_OK);
    CHECK_EQ_INT(n_emb, r.n_connector);
    emb = malloc((n_emb + 1) * sizeof *emb);
    apollo_video_get_embeddings(v, emb, n_emb, &n_emb, &dim);
    err = n_emb == r.n_connector ? test_rel_err(emb, r.connector, n_emb) : 1.0;
    CHECK_MSG(err < 1e-4, "visual tokens rel err %.3g", err);
    printf("  visual tokens (%zu x %d): rel err %.2e vs the reference connector output\n",
           n_emb / (size_t)(dim ? dim : 1), dim, err);

    /* session 2 reuses the encoding: no encoder runs, same result */
    n_progress = 0;
    s2 = converse(ctx, v, &r, -1.0f, r.n_greedy_rp, &t2, &n2);
    CHECK_EQ_INT(n_progress, 0);
    CHECK_EQ_INT(count_same(t2 + r.n_prompt, r.greedy_rp, r.n_greedy_rp), r.n_greedy_rp);

    /* save, load, ask again: identical */
    snprintf(saved, sizeof saved, "%s/%s-%s.apemb", APOLLO_TEST_TMPDIR, variant, scen);
    CHECK_EQ_INT(apollo_video_save(v, saved), APOLLO_OK);
    CHECK_EQ_INT(apollo_video_load(ctx, saved, NULL, &loaded), APOLLO_OK);
    if (loaded) {
        char a[4096], b[4096];
        n_progress = 0;
        s3 = converse(ctx, loaded, &r, 1.0f, r.n_greedy, &t3, &n3);
        CHECK_EQ_INT(n_progress, 0);
        CHECK_EQ_INT(n3, n1);
        CHECK(memcmp(t3, t1, n1 * sizeof *t1) == 0);
        CHECK_EQ_INT(apollo_video_n_clips(loaded), apollo_video_n_clips(v));
        apollo_video_get_prompt_text(v, 0, a, sizeof a);
        apollo_video_get_prompt_text(loaded, 0, b, sizeof b);
        CHECK(strcmp(a, b) == 0);
        apollo_session_free(s3);
        free(t3);
        apollo_video_free(loaded);
        loaded = NULL;
    }
    /* other settings are refused */
    {
        apollo_video_params vp;
        apollo_video_params_init(&vp);
        vp.max_clips = 1;
        CHECK_EQ_INT(apollo_video_load(ctx, saved, &vp, &loaded), APOLLO_E_CONFIG);
        CHECK_STR_CONTAINS(apollo_last_errmsg(), "other video settings");
        CHECK(loaded == NULL);
    }
    /* damaged files are refused */
    {
        FILE *f = fopen(saved, "r+b");
        fseek(f, -20, SEEK_END);
        fputc(0x5a, f);
        fclose(f);
        CHECK_EQ_INT(apollo_video_load(ctx, saved, NULL, &loaded), APOLLO_E_FORMAT);
        CHECK(truncate(saved, 100) == 0);
        CHECK_EQ_INT(apollo_video_load(ctx, saved, NULL, &loaded), APOLLO_E_FORMAT);
    }

    /* fork after the video: the prefix is shared, not recomputed */
    {
        apollo_session *base = NULL, *f1 = NULL;
        apollo_generate_params gp;
        int32_t *tf;
        size_t nf = 0, nb = 0;
        CHECK_EQ_INT(apollo_session_new(ctx, NULL, &base), APOLLO_OK);
        CHECK_EQ_INT(apollo_session_add_video(base, v, NULL), APOLLO_OK);
        apollo_session_get_tokens(base, NULL, 0, &nb);
        CHECK_EQ_INT(apollo_session_fork(base, &f1), APOLLO_OK);
        CHECK_EQ_INT(apollo_session_add_exchange(f1, r.q1, r.a1), APOLLO_OK);
        apollo_generate_params_init(&gp);
        gp.do_sample = 0;
        gp.repetition_penalty = 1.0f;
        gp.max_new_tokens = (int32_t)r.n_greedy;
        CHECK_EQ_INT(apollo_session_ask(f1, r.q2, &gp, NULL), APOLLO_OK);
        apollo_session_get_tokens(f1, NULL, 0, &nf);
        tf = malloc((nf + 1) * sizeof *tf);
        apollo_session_get_tokens(f1, tf, nf, &nf);
        CHECK_EQ_INT(nf, n1);
        CHECK(memcmp(tf, t1, n1 * sizeof *tf) == 0);
        /* a second video in the same open message is misuse */
        CHECK_EQ_INT(apollo_session_add_video(base, v, NULL), APOLLO_E_MISUSE);
        free(tf);
        apollo_session_free(f1);
        apollo_session_free(base);
    }

    free(emb);
    free(t1);
    free(t2);
    apollo_session_free(s1);
    apollo_session_free(s2);
    apollo_video_free(v);
    apollo_ctx_free(ctx);
    free_ref(&r);
}

static int32_t abort_now(void *ud)
{
    (void)ud;
    return 1;
}

static void cancellation_and_misuse(void)
{
    char dir[1024], path[1024];
    apollo_ctx *ctx = NULL, *other = NULL;
    apollo_video *v = NULL;
    apollo_session *s = NULL, *s_other = NULL;
    apollo_encode_params ep;
    size_t n = 1;
    snprintf(dir, sizeof dir, "%s/models/tiny-tied", APOLLO_TEST_FIXTURES);
    snprintf(path, sizeof path, "%s/videos/cfr_161x97_2997.mp4", APOLLO_TEST_FIXTURES);
    CHECK_EQ_INT(apollo_ctx_open(dir, NULL, &ctx), APOLLO_OK);
    CHECK_EQ_INT(apollo_video_open_file(ctx, path, NULL, &v), APOLLO_OK);
    CHECK_EQ_INT(apollo_session_new(ctx, NULL, &s), APOLLO_OK);
    apollo_encode_params_init(&ep);
    ep.abort_fn = abort_now;
    CHECK_EQ_INT(apollo_session_add_video(s, v, &ep), APOLLO_E_CANCELLED);
    CHECK_EQ_INT(apollo_video_is_encoded(v), 0);
    apollo_session_get_tokens(s, NULL, 0, &n);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(apollo_video_save(v, "/tmp/never.apemb"), APOLLO_E_MISUSE);
    /* a video belongs to its model */
    snprintf(dir, sizeof dir, "%s/models/tiny-sharded", APOLLO_TEST_FIXTURES);
    CHECK_EQ_INT(apollo_ctx_open(dir, NULL, &other), APOLLO_OK);
    CHECK_EQ_INT(apollo_session_new(other, NULL, &s_other), APOLLO_OK);
    CHECK_EQ_INT(apollo_session_add_video(s_other, v, NULL), APOLLO_E_MISUSE);
    /* embeddings saved for one model are refused by another */
    CHECK_EQ_INT(apollo_video_encode(v, NULL), APOLLO_OK);
    CHECK_EQ_INT(apollo_video_save(v, APOLLO_TEST_TMPDIR "/tied.apemb"), APOLLO_OK);
    {
        apollo_video *w = NULL;
        CHECK_EQ_INT(apollo_video_load(other, APOLLO_TEST_TMPDIR "/tied.apemb", NULL, &w),
                     APOLLO_E_CONFIG);
        CHECK_STR_CONTAINS(apollo_last_errmsg(), "another model");
    }
    /* A video that cannot fit is refused before it is encoded. */
    {
        enum { N_FR = 10000, W = 8, H = 8 };
        uint8_t *rgb = calloc((size_t)N_FR * W * H * 3, 1);
        apollo_video_params vp;
        apollo_video *big = NULL;
        apollo_session *s2 = NULL;
        apollo_encode_params ep2;
        apollo_video_params_init(&vp);
        vp.clip_sampling_ratio = 4.0; /* a large clip budget */
        vp.borrow = 1;
        CHECK_EQ_INT(apollo_video_open_frames(ctx, rgb, N_FR, W, H, 0, 2.0, NULL, &vp, &big),
                     APOLLO_OK);
        CHECK(apollo_video_n_clips(big) > 1000);
        CHECK_EQ_INT(apollo_session_new(ctx, NULL, &s2), APOLLO_OK);
        apollo_encode_params_init(&ep2);
        ep2.progress_fn = on_progress;
        n_progress = 0;
        CHECK_EQ_INT(apollo_session_add_video(s2, big, &ep2), APOLLO_E_CONTEXT_FULL);
        CHECK_STR_CONTAINS(apollo_session_errmsg(s2), "max_clips");
        CHECK_EQ_INT(n_progress, 0);
        CHECK_EQ_INT(apollo_video_is_encoded(big), 0);
        apollo_session_free(s2);
        apollo_video_free(big);
        free(rgb);
    }
    apollo_session_free(s_other);
    apollo_session_free(s);
    apollo_video_free(v);
    apollo_ctx_free(other);
    apollo_ctx_free(ctx);
}

int main(void)
{
    static const char *variants[] = {"tiny-tied", "tiny-sharded"};
    for (int i = 0; i < 2; i++) {
        scenario(variants[i], "video-cfr", "cfr_161x97_2997.mp4");
        scenario(variants[i], "video-vfr", "vfr_400x226.mp4");
    }
    cancellation_and_misuse();
    return test_finish("session_video");
}
