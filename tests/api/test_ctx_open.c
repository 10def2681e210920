/* apollo_ctx_open on every tiny fixture checkpoint through the public API:
 * the model summary agrees with the checkpoint's own JSON files, params
 * struct_size rules hold, misuse is reported, logging goes to the callback. */
#include <apollo.h>

#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static json_t *load(const char *variant, const char *rel)
{
    char path[1024];
    json_error_t err;
    json_t *j;
    snprintf(path, sizeof path, "%s/models/%s/%s", APOLLO_TEST_FIXTURES, variant, rel);
    j = json_load_file(path, 0, &err);
    if (!j)
        fprintf(stderr, "%s: %s\n", path, err.text);
    return j;
}

static long long ival(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static int n_log_lines;
static void on_log(int32_t level, const char *msg, void *ud)
{
    (void)level;
    (void)msg;
    CHECK(ud == (void *)&n_log_lines);
    n_log_lines++;
}

static void check_variant(const char *variant)
{
    char dir[1024];
    apollo_ctx_params p;
    apollo_ctx *ctx = NULL;
    apollo_model_info mi;
    json_t *top = load(variant, "config.json"), *llm = load(variant, "llm/config.json");
    json_t *vt = load(variant, "vision_tower/config.json");
    json_t *mc = load(variant, "mm_connector/config.json");
    json_t *sig = load(variant, "vision_tower/siglip-so400m-patch14-384/config.json");
    json_t *iv = load(variant, "vision_tower/internvideo2/config.json");
    int rc;

    CHECK(top && llm && vt && mc && sig && iv);
    if (!(top && llm && vt && mc && sig && iv))
        return;
    snprintf(dir, sizeof dir, "%s/models/%s", APOLLO_TEST_FIXTURES, variant);
    apollo_ctx_params_init(&p);
    p.n_threads = 2;
    p.log_fn = on_log;
    p.log_user_data = &n_log_lines;
    p.log_level = APOLLO_LOG_INFO;
    n_log_lines = 0;
    rc = apollo_ctx_open(dir, &p, &ctx);
    CHECK_MSG(rc == APOLLO_OK, "%s: %s", variant, apollo_last_errmsg());
    if (rc)
        return;
    CHECK(n_log_lines >= 1);
    apollo_model_info_init(&mi);
    CHECK_EQ_INT(apollo_ctx_get_model_info(ctx, &mi), APOLLO_OK);
    CHECK_EQ_INT(mi.struct_size, sizeof mi);
    CHECK_EQ_INT(mi.llm_hidden_size, ival(llm, "hidden_size"));
    CHECK_EQ_INT(mi.llm_intermediate_size, ival(llm, "intermediate_size"));
    CHECK_EQ_INT(mi.llm_n_layers, ival(llm, "num_hidden_layers"));
    CHECK_EQ_INT(mi.llm_n_heads, ival(llm, "num_attention_heads"));
    CHECK_EQ_INT(mi.llm_n_kv_heads, ival(llm, "num_key_value_heads"));
    CHECK_EQ_INT(mi.llm_head_dim, ival(llm, "hidden_size") / ival(llm, "num_attention_heads"));
    CHECK_EQ_INT(mi.llm_vocab_size, ival(llm, "vocab_size"));
    CHECK_EQ_INT(mi.llm_tied_embeddings, json_is_true(json_object_get(llm, "tie_word_embeddings")));
    CHECK_EQ_INT(mi.context_length, ival(llm, "tokenizer_model_max_length"));
    CHECK(mi.llm_rope_theta == json_number_value(json_object_get(llm, "rope_theta")));
    CHECK(mi.llm_rms_norm_eps == json_number_value(json_object_get(llm, "rms_norm_eps")));
    CHECK_EQ_INT(mi.n_vision_towers, json_array_size(json_object_get(vt, "vision_towers")));
    CHECK(strcmp(mi.tower_name[0], "siglip-so400m-patch14-384") == 0);
    CHECK(strcmp(mi.tower_name[1], "internvideo2") == 0);
    CHECK_EQ_INT(mi.tower_kind[0], APOLLO_TOWER_SIGLIP);
    CHECK_EQ_INT(mi.tower_kind[1], APOLLO_TOWER_INTERNVIDEO2);
    CHECK_EQ_INT(mi.tower_hidden_size[0], ival(sig, "hidden_size"));
    CHECK_EQ_INT(mi.tower_hidden_size[1], ival(iv, "d_model"));
    CHECK_EQ_INT(mi.vision_select_layer, ival(top, "mm_vision_select_layer"));
    /* hidden_states[k] is the output after k layers: select -2 -> L-1 run. */
    CHECK_EQ_INT(mi.tower_n_layers_run[0],
                 ival(sig, "num_hidden_layers") + 1 + ival(top, "mm_vision_select_layer"));
    CHECK_EQ_INT(mi.tokens_per_clip, ival(mc, "num_output_tokens"));
    CHECK_EQ_INT(mi.frames_per_clip,
                 json_integer_value(json_array_get(json_object_get(vt, "token_output_shape"), 0)));
    CHECK(mi.clip_duration_s == json_number_value(json_object_get(top, "clip_duration")));
    CHECK_EQ_INT(mi.model_max_length, ival(top, "model_max_length"));
    CHECK(mi.n_params_llm > 0 && mi.n_params_connector > 0 && mi.n_params_vision[0] > 0 &&
          mi.n_params_vision[1] > 0);
    printf("%s: LLM %lld, SigLIP %lld, InternVideo2 %lld, connector %lld params\n", variant,
           (long long)mi.n_params_llm, (long long)mi.n_params_vision[0],
           (long long)mi.n_params_vision[1], (long long)mi.n_params_connector);

    /* An older caller's smaller info struct only gets the fields it knows. */
    {
        unsigned char buf[sizeof(apollo_model_info) + 16];
        apollo_model_info *small = (apollo_model_info *)(void *)buf;
        memset(buf, 0xAB, sizeof buf);
        small->struct_size = 12;
        CHECK_EQ_INT(apollo_ctx_get_model_info(ctx, small), APOLLO_OK);
        CHECK_EQ_INT(small->llm_hidden_size, mi.llm_hidden_size);
        CHECK_EQ_INT(buf[12], 0xAB);
    }
    CHECK(apollo_ctx_get_backend(ctx) == APOLLO_BACKEND_CPU ||
          apollo_ctx_get_backend(ctx) == APOLLO_BACKEND_ONEDNN);
    apollo_ctx_free(ctx);
    json_decref(top);
    json_decref(llm);
    json_decref(vt);
    json_decref(mc);
    json_decref(sig);
    json_decref(iv);
}

static void check_params_struct(void)
{
    char dir[1024];
    apollo_ctx *ctx = NULL;
    struct {
        apollo_ctx_params p;
        uint64_t future_field;
    } big;
    apollo_ctx_params p;

    snprintf(dir, sizeof dir, "%s/models/tiny-tied", APOLLO_TEST_FIXTURES);
    /* struct_size 0: not initialised */
    memset(&p, 0, sizeof p);
    CHECK_EQ_INT(apollo_ctx_open(dir, &p, &ctx), APOLLO_E_MISUSE);
    CHECK_STR_CONTAINS(apollo_last_errmsg(), "struct_size");
    /* a newer header's bigger struct with zero tail is accepted */
    memset(&big, 0, sizeof big);
    apollo_ctx_params_init(&big.p);
    big.p.struct_size = sizeof big;
    big.p.n_threads = 1;
    CHECK_EQ_INT(apollo_ctx_open(dir, &big.p, &ctx), APOLLO_OK);
    apollo_ctx_free(ctx);
    ctx = NULL;
    /* ... but not with unknown fields set */
    big.future_field = 7;
    CHECK_EQ_INT(apollo_ctx_open(dir, &big.p, &ctx), APOLLO_E_MISUSE);
    CHECK(ctx == NULL);
    /* an older, smaller struct gets defaults for what it lacks */
    apollo_ctx_params_init(&p);
    p.struct_size = (uint32_t)((char *)&p.backend - (char *)&p + sizeof p.backend);
    p.n_threads = 1;
    p.log_fn = on_log; /* beyond struct_size: must be ignored */
    n_log_lines = 0;
    CHECK_EQ_INT(apollo_ctx_open(dir, &p, &ctx), APOLLO_OK);
    CHECK_EQ_INT(n_log_lines, 0);
    apollo_ctx_free(ctx);
    /* bad values */
    apollo_ctx_params_init(&p);
    p.n_threads = -3;
    CHECK_EQ_INT(apollo_ctx_open(dir, &p, &ctx), APOLLO_E_INVALID_ARG);
    apollo_ctx_params_init(&p);
    p.backend = 99;
    CHECK_EQ_INT(apollo_ctx_open(dir, &p, &ctx), APOLLO_E_INVALID_ARG);
    /* misuse of handles */
    CHECK_EQ_INT(apollo_ctx_get_backend(NULL), APOLLO_E_MISUSE);
    {
        apollo_model_info mi;
        apollo_model_info_init(&mi);
        CHECK_EQ_INT(apollo_ctx_get_model_info(NULL, &mi), APOLLO_E_MISUSE);
    }
    apollo_ctx_free(NULL);
    apollo_ctx_params_init(NULL);
}

int main(void)
{
    CHECK_EQ_INT(apollo_version_number(), APOLLO_VERSION_NUMBER);
    CHECK(strcmp(apollo_version_string(), APOLLO_VERSION_STRING) == 0);
    for (int c = -20; c <= 0; c++)
        CHECK(apollo_strerror(c) != NULL && apollo_strerror(c)[0]);
    CHECK(strcmp(apollo_strerror(-1000), "unknown error") == 0);
    check_variant("tiny-tied");
    check_variant("tiny-sharded");
    check_params_struct();
    return test_finish("ctx_open");
}
