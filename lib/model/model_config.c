#include "model_config.h"

#include "common/alloc.h"
#include "common/json_util.h"
#include "common/pyfmt.h"
#include "common/status.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int apollo__model_path(char *buf, size_t cap, const char *dir, const char *rel)
{
    int n = snprintf(buf, cap, "%s/%s", dir, rel);
    if (n < 0 || (size_t)n >= cap)
        return apollo__fail(APOLLO_E_INVALID_ARG, "%s: path too long", rel);
    return APOLLO_OK;
}

static json_t *load_rel(const apollo__model *m, const char *rel, int *rc)
{
    char path[4096];
    *rc = apollo__model_path(path, sizeof path, m->dir, rel);
    if (*rc)
        return NULL;
    return apollo__json_load_file(path, rel, rc);
}

/* Reads an integer that must lie in [lo, hi]. */
static int get_int_range(const json_t *o, const char *key, const char *where, int64_t lo,
                         int64_t hi, int64_t *out)
{
    int rc = apollo__json_get_int(o, key, where, out);
    if (rc)
        return rc;
    if (*out < lo || *out > hi)
        return apollo__fail(APOLLO_E_CONFIG, "%s: '%s' = %lld is out of range [%lld, %lld]",
                            where, key, (long long)*out, (long long)lo, (long long)hi);
    return APOLLO_OK;
}

static int get_int_array(const json_t *o, const char *key, const char *where, int64_t *out,
                         size_t n, int64_t lo, int64_t hi)
{
    json_t *arr;
    int rc = apollo__json_get_array(o, key, where, &arr);
    if (rc)
        return rc;
    if (json_array_size(arr) != n)
        return apollo__fail(APOLLO_E_CONFIG, "%s: '%s' must have %zu entries, has %zu", where,
                            key, n, json_array_size(arr));
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v))
            return apollo__fail(APOLLO_E_CONFIG, "%s: '%s'[%zu] must be an integer, got %s", where,
                                key, i, apollo__json_type_name(v));
        out[i] = (int64_t)json_integer_value(v);
        if (out[i] < lo || out[i] > hi)
            return apollo__fail(APOLLO_E_CONFIG, "%s: '%s'[%zu] = %lld is out of range", where,
                                key, i, (long long)out[i]);
    }
    return APOLLO_OK;
}

#define BIG ((int64_t)1 << 31)

/* ---- config.json -------------------------------------------------------- */

int apollo__config_read_top(apollo__model *m)
{
    const char *where = "config.json";
    json_t *root, *v, *sub;
    const char *feat = "patch";
    int rc, start_end = 0;

    root = load_rel(m, "config.json", &rc);
    if (!root)
        return rc;
    if (!json_is_object(root)) {
        rc = apollo__fail(APOLLO_E_CONFIG, "%s: top level must be an object", where);
        goto done;
    }
    /* The remote code derives the sub-folders from these dict-valued keys. */
    if ((rc = apollo__json_get_object(root, "llm_cfg", where, &sub)) ||
        (rc = apollo__json_get_object(root, "vision_tower_cfg", where, &sub)) ||
        (rc = apollo__json_get_object(root, "mm_connector_cfg", where, &sub)))
        goto done;

    /* clip_duration is printed into the prompt with Python's str(): keep
     * whether the JSON had an integer (2 -> "2") or a real (2.0 -> "2.0"). */
    v = json_object_get(root, "clip_duration");
    if (!v) {
        rc = apollo__fail(APOLLO_E_CONFIG, "%s: missing key 'clip_duration'", where);
        goto done;
    }
    if (json_is_integer(v)) {
        m->clip_duration = (double)json_integer_value(v);
        snprintf(m->clip_duration_text, sizeof m->clip_duration_text, "%lld",
                 (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        m->clip_duration = json_real_value(v);
        apollo__py_float_repr(m->clip_duration, m->clip_duration_text,
                              sizeof m->clip_duration_text);
    } else {
        rc = apollo__fail(APOLLO_E_CONFIG, "%s: 'clip_duration' must be a number, got %s", where,
                          apollo__json_type_name(v));
        goto done;
    }
    if (!(m->clip_duration > 0 && m->clip_duration < 3600)) {
        rc = apollo__fail(APOLLO_E_CONFIG, "%s: 'clip_duration' = %s must be in (0, 3600)", where,
                          m->clip_duration_text);
        goto done;
    }

    /* The loader's clip budget uses the top-level model_max_length; fall
     * back to llm_cfg's copy (the same value in every published checkpoint). */
    m->model_max_length = 0;
    if ((rc = apollo__json_opt_int(root, "model_max_length", where, &m->model_max_length)))
        goto done;
    if (m->model_max_length == 0) {
        if ((rc = apollo__json_opt_int(json_object_get(root, "llm_cfg"), "model_max_length",
                                       "config.json: llm_cfg", &m->model_max_length)))
            goto done;
    }

    m->select_layer = -2; /* LLaVA/VILA default when the key is absent */
    if ((rc = apollo__json_opt_int(root, "mm_vision_select_layer", where, &m->select_layer)) ||
        (rc = apollo__json_opt_string(root, "mm_vision_select_feature", where, &feat)) ||
        (rc = apollo__json_opt_bool(root, "use_mm_start_end", where, &start_end)))
        goto done;
    if (strcmp(feat, "patch") == 0)
        m->select_patch_only = 1;
    else if (strcmp(feat, "cls_patch") == 0)
        m->select_patch_only = 0;
    else {
        rc = apollo__fail(APOLLO_E_CONFIG,
                          "%s: 'mm_vision_select_feature' = \"%s\" (expected \"patch\" or "
                          "\"cls_patch\")",
                          where, feat);
        goto done;
    }
    if (start_end) {
        rc = apollo__fail(APOLLO_E_UNSUPPORTED,
                          "%s: 'use_mm_start_end' = true is not supported (no published Apollo "
                          "checkpoint uses it)",
                          where);
        goto done;
    }
    rc = APOLLO_OK;
done:
    json_decref(root);
    return rc;
}

/* ---- llm/config.json + generation_config.json ----------------------------- */

static int read_generation_config(apollo__model *m)
{
    const char *where = "llm/generation_config.json";
    apollo__gen_config *g = &m->gen;
    char path[4096];
    struct stat st;
    json_t *root, *eos;
    int rc;

    /* transformers' GenerationConfig defaults, used when the file is absent. */
    g->do_sample = 0;
    g->temperature = 1.0;
    g->top_p = 1.0;
    g->top_k = 50;
    g->repetition_penalty = 1.0;
    g->n_eos_ids = 1;
    g->eos_ids[0] = m->llm.eos_token_id;
    g->pad_token_id = -1;
    g->bos_token_id = m->llm.bos_token_id;

    if ((rc = apollo__model_path(path, sizeof path, m->dir, where)))
        return rc;
    if (stat(path, &st) != 0)
        return APOLLO_OK;
    root = apollo__json_load_file(path, where, &rc);
    if (!root)
        return rc;
    if ((rc = apollo__json_opt_bool(root, "do_sample", where, &g->do_sample)) ||
        (rc = apollo__json_opt_number(root, "temperature", where, &g->temperature)) ||
        (rc = apollo__json_opt_number(root, "top_p", where, &g->top_p)) ||
        (rc = apollo__json_opt_int(root, "top_k", where, &g->top_k)) ||
        (rc = apollo__json_opt_number(root, "repetition_penalty", where,
                                      &g->repetition_penalty)) ||
        (rc = apollo__json_opt_int(root, "pad_token_id", where, &g->pad_token_id)) ||
        (rc = apollo__json_opt_int(root, "bos_token_id", where, &g->bos_token_id)))
        goto done;
    eos = json_object_get(root, "eos_token_id");
    if (json_is_integer(eos)) {
        g->n_eos_ids = 1;
        g->eos_ids[0] = (int64_t)json_integer_value(eos);
    } else if (json_is_array(eos)) {
        size_t n = json_array_size(eos);
        if (n == 0 || n > sizeof g->eos_ids / sizeof g->eos_ids[0]) {
            rc = apollo__fail(APOLLO_E_CONFIG, "%s: 'eos_token_id' has %zu entries", where, n);
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(eos, i);
            if (!json_is_integer(e)) {
                rc = apollo__fail(APOLLO_E_CONFIG, "%s: 'eos_token_id'[%zu] must be an integer",
                                  where, i);
                goto done;
            }
            g->eos_ids[i] = (int64_t)json_integer_value(e);
        }
        g->n_eos_ids = (int32_t)n;
    } else if (eos && !json_is_null(eos)) {
        rc = apollo__fail(APOLLO_E_CONFIG,
                          "%s: 'eos_token_id' must be an integer or an array, got %s", where,
                          apollo__json_type_name(eos));
        goto done;
    }
    if (g->temperature < 0 || g->top_p <= 0 || g->top_p > 1 || g->top_k < 0 ||
        g->repetition_penalty <= 0) {
        rc = apollo__fail(APOLLO_E_CONFIG, "%s: sampling values out of range", where);
        goto done;
    }
    rc = APOLLO_OK;
done:
    json_decref(root);
    return rc;
}

int apollo__config_read_llm(apollo__model *m)
{
    const char *where = "llm/config.json";
    apollo__llm_config *c = &m->llm;
    json_t *root;
    const char *act = "silu", *model_type = NULL;
    int rc, sliding = 0;

    root = load_rel(m, where, &rc);
    if (!root)
        return rc;
    if ((rc = apollo__json_opt_string(root, "model_type", where, &model_type)))
        goto done;
    if (model_type && strcmp(model_type, "qwen2") != 0) {
        rc = apollo__fail(APOLLO_E_UNSUPPORTED, "%s: model_type \"%s\" is not supported (qwen2)",
                          where, model_type);
        goto done;
    }
    if ((rc = get_int_range(root, "hidden_size", where, 1, BIG, &c->hidden_size)) ||
        (rc = get_int_range(root, "intermediate_size", where, 1, BIG, &c->intermediate_size)) ||
        (rc = get_int_range(root, "num_hidden_layers", where, 1, 4096, &c->n_layers)) ||
        (rc = get_int_range(root, "num_attention_heads", where, 1, 4096, &c->n_heads)) ||
        (rc = get_int_range(root, "num_key_value_heads", where, 1, 4096, &c->n_kv_heads)) ||
        (rc = get_int_range(root, "vocab_size", where, 1, BIG, &c->vocab_size)) ||
        (rc = get_int_range(root, "max_position_embeddings", where, 1, BIG,
                            &c->max_position_embeddings)) ||
        (rc = apollo__json_get_number(root, "rms_norm_eps", where, &c->rms_norm_eps)) ||
        (rc = apollo__json_get_number(root, "rope_theta", where, &c->rope_theta)))
        goto done;
    c->tie_word_embeddings = 0; /* Qwen2Config default */
    c->context_length = c->max_position_embeddings;
    c->head_dim = c->hidden_size / c->n_heads;
    c->bos_token_id = 151643;
    c->eos_token_id = 151645;
    if ((rc = apollo__json_opt_bool(root, "tie_word_embeddings", where,
                                    &c->tie_word_embeddings)) ||
        (rc = apollo__json_opt_int(root, "tokenizer_model_max_length", where,
                                   &c->context_length)) ||
        (rc = apollo__json_opt_int(root, "head_dim", where, &c->head_dim)) ||
        (rc = apollo__json_opt_int(root, "bos_token_id", where, &c->bos_token_id)) ||
        (rc = apollo__json_opt_int(root, "eos_token_id", where, &c->eos_token_id)) ||
        (rc = apollo__json_opt_string(root, "hidden_act", where, &act)) ||
        (rc = apollo__json_opt_bool(root, "use_sliding_window", where, &sliding)))
        goto done;
    if (c->n_heads % c->n_kv_heads != 0) {
        rc = apollo__fail(APOLLO_E_CONFIG,
                          "%s: num_attention_heads %lld is not a multiple of "
                          "num_key_value_heads %lld",
                          where, (long long)c->n_heads, (long long)c->n_kv_heads);
        goto done;
    }
    if (c->head_dim <= 0 || c->head_dim % 2 != 0) {
        rc = apollo__fail(APOLLO_E_CONFIG, "%s: head dimension %lld must be even and positive",
                          where, (long long)c->head_dim);
        goto done;
    }
    if (!(c->rms_norm_eps > 0 && c->rms_norm_eps < 1) || !(c->rope_theta > 1)) {
        rc = apollo__fail(APOLLO_E_CONFIG, "%s: rms_norm_eps or rope_theta out of range", where);
        goto done;
    }
    if (c->context_length <= 0 || c->context_length > c->max_position_embeddings)
        c->context_length = c->max_position_embeddings;
    if (strcmp(act, "silu") != 0) {
        rc = apollo__fail(APOLLO_E_UNSUPPORTED, "%s: hidden_act \"%s\" is not supported (silu)",
                          where, act);
        goto done;
    }
    if (sliding) {
        rc = apollo__fail(APOLLO_E_UNSUPPORTED,
                          "%s: use_sliding_window = true is not supported", where);
        goto done;
    }
    {
        json_t *rs = json_object_get(root, "rope_scaling");
        if (rs && !json_is_null(rs)) {
            rc = apollo__fail(APOLLO_E_UNSUPPORTED, "%s: rope_scaling is not supported", where);
            goto done;
        }
    }
    if (m->model_max_length == 0)
        (void)apollo__json_opt_int(root, "model_max_length", where, &m->model_max_length);
    rc = read_generation_config(m);
done:
    json_decref(root);
    return rc;
}

/* ---- vision_tower/ ------------------------------------------------------ */

static int read_siglip(apollo__model *m, apollo__tower_config *t, json_t *cfg, const char *where)
{
    char rel[256];
    const char *act = "gelu_pytorch_tanh";
    json_t *pp;
    int64_t channels = 3;
    int rc;

    if ((rc = get_int_range(cfg, "hidden_size", where, 1, BIG, &t->hidden_size)) ||
        (rc = get_int_range(cfg, "intermediate_size", where, 1, BIG, &t->intermediate_size)) ||
        (rc = get_int_range(cfg, "num_hidden_layers", where, 1, 4096, &t->n_layers)) ||
        (rc = get_int_range(cfg, "num_attention_heads", where, 1, 4096, &t->n_heads)) ||
        (rc = get_int_range(cfg, "patch_size", where, 1, 4096, &t->patch_size)) ||
        (rc = get_int_range(cfg, "image_size", where, 1, 16384, &t->image_size)) ||
        (rc = apollo__json_opt_int(cfg, "num_channels", where, &channels)) ||
        (rc = apollo__json_opt_string(cfg, "hidden_act", where, &act)))
        return rc;
    t->norm_eps = 1e-6;
    if ((rc = apollo__json_opt_number(cfg, "layer_norm_eps", where, &t->norm_eps)))
        return rc;
    if (channels != 3)
        return apollo__fail(APOLLO_E_CONFIG, "%s: num_channels must be 3", where);
    if (strcmp(act, "gelu_pytorch_tanh") != 0)
        return apollo__fail(APOLLO_E_UNSUPPORTED,
                            "%s: hidden_act \"%s\" is not supported (gelu_pytorch_tanh)", where,
                            act);
    /* image_size need not be a multiple of patch_size: the patch convolution
     * is "valid" (384 / 14 -> 27 patches per side). */
    if (t->hidden_size % t->n_heads || t->image_size < t->patch_size)
        return apollo__fail(APOLLO_E_CONFIG,
                            "%s: hidden_size must divide by num_attention_heads and image_size "
                            "be at least patch_size",
                            where);
    t->num_frames = 1;
    t->tubelet_size = 1;
    /* SiglipImageProcessor defaults, overridden by preprocessor_config.json. */
    for (int i = 0; i < 3; i++) {
        t->image_mean[i] = 0.5;
        t->image_std[i] = 0.5;
    }
    snprintf(rel, sizeof rel, "vision_tower/%s/preprocessor_config.json", t->name);
    pp = load_rel(m, rel, &rc);
    if (!pp)
        return rc == APOLLO_E_NOT_FOUND ? (apollo__clear_error(), APOLLO_OK) : rc;
    for (int k = 0; k < 2; k++) {
        const char *key = k ? "image_std" : "image_mean";
        double *dst = k ? t->image_std : t->image_mean;
        json_t *a = json_object_get(pp, key);
        if (!a)
            continue;
        if (!json_is_array(a) || json_array_size(a) != 3) {
            json_decref(pp);
            return apollo__fail(APOLLO_E_CONFIG, "%s: '%s' must be an array of 3 numbers", rel,
                                key);
        }
        for (size_t i = 0; i < 3; i++) {
            json_t *x = json_array_get(a, i);
            if (!json_is_number(x) || (k && json_number_value(x) <= 0)) {
                json_decref(pp);
                return apollo__fail(APOLLO_E_CONFIG, "%s: '%s'[%zu] must be a %snumber", rel,
                                    key, i, k ? "positive " : "");
            }
            dst[i] = json_number_value(x);
        }
    }
    json_decref(pp);
    return APOLLO_OK;
}

static int read_internvideo2(apollo__tower_config *t, json_t *cfg, const char *where)
{
    int qkv_bias = 0, rc;
    static const double mean[3] = {0.485, 0.456, 0.406}, std[3] = {0.229, 0.224, 0.225};

    if ((rc = get_int_range(cfg, "d_model", where, 1, BIG, &t->hidden_size)) ||
        (rc = get_int_range(cfg, "num_heads", where, 1, 4096, &t->n_heads)) ||
        (rc = get_int_range(cfg, "patch_size", where, 1, 4096, &t->patch_size)) ||
        (rc = get_int_range(cfg, "img_size", where, 1, 16384, &t->image_size)) ||
        (rc = get_int_range(cfg, "num_frames", where, 1, 1024, &t->num_frames)) ||
        (rc = get_int_range(cfg, "tubelet_size", where, 1, 1024, &t->tubelet_size)) ||
        (rc = apollo__json_opt_bool(cfg, "qkv_bias", where, &qkv_bias)))
        return rc;
    if (qkv_bias)
        return apollo__fail(APOLLO_E_UNSUPPORTED, "%s: qkv_bias = true is not supported", where);
    if (t->hidden_size % t->n_heads || t->image_size < t->patch_size ||
        t->num_frames % t->tubelet_size)
        return apollo__fail(APOLLO_E_CONFIG,
                            "%s: d_model must divide by num_heads, img_size be at least "
                            "patch_size and num_frames divide by tubelet_size",
                            where);
    /* Depth and MLP width are not in the JSON: taken from the tensors. */
    t->norm_eps = 1e-6;
    memcpy(t->image_mean, mean, sizeof mean);
    memcpy(t->image_std, std, sizeof std);
    return APOLLO_OK;
}

int apollo__config_read_towers(apollo__model *m)
{
    const char *where = "vision_tower/config.json";
    json_t *root, *names;
    int64_t n_enc = -1;
    int rc;

    root = load_rel(m, where, &rc);
    if (!root)
        return rc;
    if ((rc = apollo__json_get_array(root, "vision_towers", where, &names)) ||
        (rc = get_int_array(root, "token_output_shape", where, m->token_output_shape, 3, 1,
                            4096)) ||
        (rc = apollo__json_opt_int(root, "num_vision_encoders", where, &n_enc)))
        goto done;
    if (json_array_size(names) < 1 || json_array_size(names) > 4) {
        rc = apollo__fail(APOLLO_E_CONFIG, "%s: 'vision_towers' must list 1 to 4 encoders", where);
        goto done;
    }
    if (n_enc >= 0 && (size_t)n_enc != json_array_size(names)) {
        rc = apollo__fail(APOLLO_E_CONFIG,
                          "%s: 'num_vision_encoders' = %lld but 'vision_towers' lists %zu", where,
                          (long long)n_enc, json_array_size(names));
        goto done;
    }
    m->n_towers = (int32_t)json_array_size(names);
    for (int32_t i = 0; i < m->n_towers; i++) {
        apollo__tower_config *t = &m->towers[i].cfg;
        json_t *nm = json_array_get(names, (size_t)i), *cfg;
        const char *model_type = "";
        char rel[256];
        if (!json_is_string(nm) || json_string_length(nm) == 0 ||
            json_string_length(nm) >= sizeof t->name || strchr(json_string_value(nm), '/') ||
            json_string_value(nm)[0] == '.') {
            rc = apollo__fail(APOLLO_E_CONFIG,
                              "%s: 'vision_towers'[%d] must be a folder name (a non-empty string)",
                              where, i);
            goto done;
        }
        snprintf(t->name, sizeof t->name, "%s", json_string_value(nm));
        snprintf(rel, sizeof rel, "vision_tower/%s/config.json", t->name);
        cfg = load_rel(m, rel, &rc);
        if (!cfg)
            goto done;
        rc = apollo__json_opt_string(cfg, "model_type", rel, &model_type);
        if (!rc) {
            if (strcmp(model_type, "siglip_vision_model") == 0) {
                t->kind = APOLLO__TOWER_SIGLIP;
                rc = read_siglip(m, t, cfg, rel);
            } else if (strcmp(model_type, "internvideo2") == 0) {
                t->kind = APOLLO__TOWER_INTERNVIDEO2;
                rc = read_internvideo2(t, cfg, rel);
            } else {
                rc = apollo__fail(APOLLO_E_UNSUPPORTED,
                                  "%s: vision tower model_type \"%s\" is not supported "
                                  "(siglip_vision_model, internvideo2)",
                                  rel, model_type);
            }
        }
        json_decref(cfg);
        if (rc)
            goto done;
    }
    rc = APOLLO_OK;
done:
    json_decref(root);
    return rc;
}

/* ---- mm_connector/config.json ------------------------------------------- */

int apollo__config_read_connector(apollo__model *m)
{
    const char *where = "mm_connector/config.json";
    apollo__connector_config *c = &m->conn.cfg;
    const char *proj = NULL, *resampler = NULL, *act = "silu";
    json_t *root;
    int rc, n = 0;

    root = load_rel(m, where, &rc);
    if (!root)
        return rc;
    if ((rc = get_int_range(root, "vision_hidden_size", where, 1, BIG, &c->vision_hidden_size)) ||
        (rc = get_int_range(root, "text_hidden_size", where, 1, BIG, &c->text_hidden_size)) ||
        (rc = get_int_array(root, "token_input_shape", where, c->token_input_shape, 3, 1,
                            4096)) ||
        (rc = apollo__json_get_string(root, "projector_type", where, &proj)) ||
        (rc = apollo__json_get_string(root, "resampler_type", where, &resampler)) ||
        (rc = get_int_range(root, "num_output_tokens", where, 1, 65536, &c->n_latents)) ||
        (rc = get_int_range(root, "resampler_depth", where, 1, 64, &c->depth)) ||
        (rc = get_int_range(root, "resampler_n_heads", where, 1, 4096, &c->n_heads)) ||
        (rc = get_int_range(root, "resampler_head_dim", where, 1, 4096, &c->head_dim)) ||
        (rc = get_int_range(root, "num_key_value_heads", where, 1, 4096, &c->n_kv_heads)) ||
        (rc = get_int_range(root, "ff_multi", where, 1, 64, &c->ff_multi)) ||
        (rc = apollo__json_opt_string(root, "hidden_act", where, &act)))
        goto done;
    /* "mlpNx_gelu": N Linear layers with exact GELU between them. */
    if (sscanf(proj, "mlp%dx_gelu%n", (int *)&rc, &n) == 1 && proj[n] == '\0' && rc >= 1 &&
        rc <= 4) {
        c->n_proj_linear = rc;
    } else {
        rc = apollo__fail(APOLLO_E_UNSUPPORTED,
                          "%s: projector_type \"%s\" is not supported (mlpNx_gelu)", where, proj);
        goto done;
    }
    if (strcmp(resampler, "perciver") != 0 && strcmp(resampler, "perceiver") != 0) {
        rc = apollo__fail(APOLLO_E_UNSUPPORTED,
                          "%s: resampler_type \"%s\" is not supported (perciver)", where,
                          resampler);
        goto done;
    }
    if (c->n_heads % c->n_kv_heads) {
        rc = apollo__fail(APOLLO_E_CONFIG,
                          "%s: resampler_n_heads must be a multiple of num_key_value_heads",
                          where);
        goto done;
    }
    if (strcmp(act, "silu") && strcmp(act, "gelu") && strcmp(act, "gelu_pytorch_tanh") &&
        strcmp(act, "relu")) {
        rc = apollo__fail(APOLLO_E_UNSUPPORTED, "%s: hidden_act \"%s\" is not supported", where,
                          act);
        goto done;
    }
    snprintf(c->hidden_act, sizeof c->hidden_act, "%s", act);
    rc = APOLLO_OK;
done:
    json_decref(root);
    return rc;
}

/* ---- cross-checks --------------------------------------------------------- */

int apollo__config_check(apollo__model *m)
{
    const apollo__connector_config *c = &m->conn.cfg;
    int64_t sum = 0;

    for (int32_t i = 0; i < m->n_towers; i++)
        sum += m->towers[i].cfg.hidden_size;
    if (sum != c->vision_hidden_size)
        return apollo__fail(APOLLO_E_CONFIG,
                            "mm_connector/config.json: vision_hidden_size %lld differs from the "
                            "towers' total width %lld",
                            (long long)c->vision_hidden_size, (long long)sum);
    if (c->text_hidden_size != m->llm.hidden_size)
        return apollo__fail(APOLLO_E_CONFIG,
                            "mm_connector/config.json: text_hidden_size %lld differs from "
                            "llm/config.json hidden_size %lld",
                            (long long)c->text_hidden_size, (long long)m->llm.hidden_size);
    for (int k = 0; k < 3; k++)
        if (c->token_input_shape[k] != m->token_output_shape[k])
            return apollo__fail(APOLLO_E_CONFIG,
                                "mm_connector/config.json: token_input_shape differs from "
                                "vision_tower/config.json token_output_shape");
    if (m->model_max_length <= 0)
        return apollo__fail(APOLLO_E_CONFIG,
                            "config.json: no positive 'model_max_length' (top level, llm_cfg or "
                            "llm/config.json)");
    return APOLLO_OK;
}
