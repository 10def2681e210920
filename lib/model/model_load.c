#include "model.h"

#include "common/alloc.h"
#include "common/status.h"
#include "model_config.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define S(...) ((const int64_t[]){__VA_ARGS__, -1})

static int open_part(apollo__model *m, const char *rel, apollo__weight_set **out)
{
    char path[4096];
    struct stat st;
    int rc = apollo__model_path(path, sizeof path, m->dir, rel);
    if (rc)
        return rc;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return apollo__fail(APOLLO_E_NOT_FOUND, "%s/: folder not found", rel);
    return apollo__weights_open(path, rel, out);
}

/* ---- LLM ------------------------------------------------------------------ */

static int bind_llm(apollo__model *m)
{
    const apollo__llm_config *c = &m->llm;
    apollo__llm_weights *w = &m->llm_w;
    apollo__weight_set *ws = m->llm_ws;
    const int64_t D = c->hidden_size, V = c->vocab_size, I = c->intermediate_size;
    const int64_t QW = c->n_heads * c->head_dim, KW = c->n_kv_heads * c->head_dim;
    int rc;

    if ((rc = apollo__weights_bindf(ws, &w->embed, S(V, D), "model.embed_tokens.weight")) ||
        (rc = apollo__weights_bindf_f32(ws, &w->norm, S(D), "model.norm.weight")))
        return rc;
    w->layers = apollo__calloc((size_t)c->n_layers, sizeof *w->layers);
    if (!w->layers)
        return apollo__fail(APOLLO_E_NOMEM, "llm: out of memory");
    for (int64_t i = 0; i < c->n_layers; i++) {
        apollo__llm_layer *L = &w->layers[i];
        long long li = (long long)i;
        if ((rc = apollo__weights_bindf_f32(ws, &L->in_norm, S(D), "model.layers.%lld.input_layernorm.weight", li)) ||
            (rc = apollo__weights_bindf(ws, &L->q_w, S(QW, D), "model.layers.%lld.self_attn.q_proj.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &L->q_b, S(QW), "model.layers.%lld.self_attn.q_proj.bias", li)) ||
            (rc = apollo__weights_bindf(ws, &L->k_w, S(KW, D), "model.layers.%lld.self_attn.k_proj.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &L->k_b, S(KW), "model.layers.%lld.self_attn.k_proj.bias", li)) ||
            (rc = apollo__weights_bindf(ws, &L->v_w, S(KW, D), "model.layers.%lld.self_attn.v_proj.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &L->v_b, S(KW), "model.layers.%lld.self_attn.v_proj.bias", li)) ||
            (rc = apollo__weights_bindf(ws, &L->o_w, S(D, QW), "model.layers.%lld.self_attn.o_proj.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &L->post_norm, S(D), "model.layers.%lld.post_attention_layernorm.weight", li)) ||
            (rc = apollo__weights_bindf(ws, &L->gate_w, S(I, D), "model.layers.%lld.mlp.gate_proj.weight", li)) ||
            (rc = apollo__weights_bindf(ws, &L->up_w, S(I, D), "model.layers.%lld.mlp.up_proj.weight", li)) ||
            (rc = apollo__weights_bindf(ws, &L->down_w, S(D, I), "model.layers.%lld.mlp.down_proj.weight", li)))
            return rc;
    }
    if (c->tie_word_embeddings) {
        /* transformers re-ties the head to the embedding after loading, so a
         * stored lm_head.weight (the 1.5B/3B files carry one) is ignored. */
        w->lm_head = w->embed;
    } else if ((rc = apollo__weights_bindf(ws, &w->lm_head, S(V, D), "lm_head.weight"))) {
        return rc;
    }
    return APOLLO_OK;
}

/* ---- Vision towers -------------------------------------------------------- */

static int64_t layers_run(int64_t select, int64_t n_layers)
{
    return select < 0 ? n_layers + 1 + select : select;
}

static int bind_siglip(apollo__model *m, apollo__tower *t)
{
    apollo__tower_config *c = &t->cfg;
    apollo__weight_set *ws = t->ws;
    const int64_t D = c->hidden_size, I = c->intermediate_size, P = c->patch_size;
    const int64_t N = (c->image_size / P) * (c->image_size / P);
    int rc;

    /* transformers stores SiglipVisionModel weights under "vision_model.". */
    if (apollo__weights_find(ws, "vision_model.embeddings.patch_embedding.weight"))
        snprintf(ws->prefix, sizeof ws->prefix, "vision_model.");
    c->n_layers_run = layers_run(m->select_layer, c->n_layers);
    if (c->n_layers_run < 0 || c->n_layers_run > c->n_layers)
        return apollo__fail(APOLLO_E_CONFIG,
                            "config.json: mm_vision_select_layer %lld is out of range for %s "
                            "(%lld layers)",
                            (long long)m->select_layer, c->name, (long long)c->n_layers);
    if ((rc = apollo__weights_bindf_f32(ws, &t->patch_w, S(D, 3, P, P), "embeddings.patch_embedding.weight")) ||
        (rc = apollo__weights_bindf_f32(ws, &t->patch_b, S(D), "embeddings.patch_embedding.bias")) ||
        (rc = apollo__weights_bindf_f32(ws, &t->pos, S(N, D), "embeddings.position_embedding.weight")))
        return rc;
    t->siglip_layers = apollo__calloc((size_t)c->n_layers, sizeof *t->siglip_layers);
    if (!t->siglip_layers)
        return apollo__fail(APOLLO_E_NOMEM, "%s: out of memory", c->name);
    for (int64_t i = 0; i < c->n_layers; i++) {
        apollo__siglip_layer *L = &t->siglip_layers[i];
        long long li = (long long)i;
        if ((rc = apollo__weights_bindf_f32(ws, &L->ln1_w, S(D), "encoder.layers.%lld.layer_norm1.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &L->ln1_b, S(D), "encoder.layers.%lld.layer_norm1.bias", li)) ||
            (rc = apollo__weights_bindf(ws, &L->q_w, S(D, D), "encoder.layers.%lld.self_attn.q_proj.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &L->q_b, S(D), "encoder.layers.%lld.self_attn.q_proj.bias", li)) ||
            (rc = apollo__weights_bindf(ws, &L->k_w, S(D, D), "encoder.layers.%lld.self_attn.k_proj.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &L->k_b, S(D), "encoder.layers.%lld.self_attn.k_proj.bias", li)) ||
            (rc = apollo__weights_bindf(ws, &L->v_w, S(D, D), "encoder.layers.%lld.self_attn.v_proj.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &L->v_b, S(D), "encoder.layers.%lld.self_attn.v_proj.bias", li)) ||
            (rc = apollo__weights_bindf(ws, &L->o_w, S(D, D), "encoder.layers.%lld.self_attn.out_proj.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &L->o_b, S(D), "encoder.layers.%lld.self_attn.out_proj.bias", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &L->ln2_w, S(D), "encoder.layers.%lld.layer_norm2.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &L->ln2_b, S(D), "encoder.layers.%lld.layer_norm2.bias", li)) ||
            (rc = apollo__weights_bindf(ws, &L->fc1_w, S(I, D), "encoder.layers.%lld.mlp.fc1.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &L->fc1_b, S(I), "encoder.layers.%lld.mlp.fc1.bias", li)) ||
            (rc = apollo__weights_bindf(ws, &L->fc2_w, S(D, I), "encoder.layers.%lld.mlp.fc2.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &L->fc2_b, S(D), "encoder.layers.%lld.mlp.fc2.bias", li)))
            return rc;
    }
    return APOLLO_OK;
}

static int bind_internvideo2(apollo__model *m, apollo__tower *t)
{
    apollo__tower_config *c = &t->cfg;
    apollo__weight_set *ws = t->ws;
    const int64_t D = c->hidden_size, P = c->patch_size, TB = c->tubelet_size;
    const int64_t n_tok = 1 + (c->num_frames / TB) * (c->image_size / P) * (c->image_size / P);
    const char *suffix = "patch_embed.proj.weight";
    char name[128];
    int64_t depth = 0, F;
    int rc;

    /* The stored names may carry a prefix (depends on the class that saved
     * them): take whatever precedes "patch_embed.proj.weight". */
    for (size_t f = 0; f < ws->n_files && !ws->prefix[0]; f++)
        for (size_t i = 0; i < ws->files[f]->n_entries; i++) {
            const char *nm = ws->files[f]->entries[i].name;
            size_t ln = strlen(nm), ls = strlen(suffix);
            if (ln > ls && strcmp(nm + ln - ls, suffix) == 0 && nm[ln - ls - 1] == '.' &&
                ln - ls < sizeof ws->prefix) {
                memcpy(ws->prefix, nm, ln - ls);
                ws->prefix[ln - ls] = '\0';
                break;
            }
        }
    /* Depth and MLP width are not in config.json: count the blocks. */
    for (;;) {
        snprintf(name, sizeof name, "blocks.%lld.norm1.weight", (long long)depth);
        if (!apollo__weights_find(ws, name))
            break;
        depth++;
    }
    if (depth == 0)
        return apollo__fail(APOLLO_E_MISSING_TENSOR,
                            "vision_tower/%s: required tensor '%sblocks.0.norm1.weight' is missing",
                            c->name, ws->prefix);
    c->n_layers = depth;
    {
        const apollo__st_entry *fc1 = apollo__weights_find(ws, "blocks.0.mlp.fc1.weight");
        if (!fc1)
            return apollo__fail(APOLLO_E_MISSING_TENSOR,
                                "vision_tower/%s: required tensor '%sblocks.0.mlp.fc1.weight' is "
                                "missing",
                                c->name, ws->prefix);
        F = fc1->n_dims == 2 ? fc1->shape[0] : -1;
        if (F <= 0)
            return apollo__fail(APOLLO_E_SHAPE,
                                "vision_tower/%s: 'blocks.0.mlp.fc1.weight' must be 2-D", c->name);
        c->intermediate_size = F;
    }
    if (m->select_layer >= 0)
        return apollo__fail(APOLLO_E_CONFIG,
                            "config.json: mm_vision_select_layer %lld must be negative for "
                            "InternVideo2",
                            (long long)m->select_layer);
    c->n_layers_run = layers_run(m->select_layer, depth);
    if (c->n_layers_run < 0)
        return apollo__fail(APOLLO_E_CONFIG,
                            "config.json: mm_vision_select_layer %lld is out of range for %s "
                            "(%lld blocks)",
                            (long long)m->select_layer, c->name, (long long)depth);
    if ((rc = apollo__weights_bindf_f32(ws, &t->patch_w, S(D, 3, TB, P, P), "patch_embed.proj.weight")) ||
        (rc = apollo__weights_bindf_f32(ws, &t->patch_b, S(D), "patch_embed.proj.bias")) ||
        (rc = apollo__weights_bindf_f32(ws, &t->cls, S(1, 1, D), "cls_token")) ||
        (rc = apollo__weights_bindf_f32(ws, &t->pos, S(1, n_tok, D), "pos_embed")))
        return rc;
    t->iv2_blocks = apollo__calloc((size_t)depth, sizeof *t->iv2_blocks);
    if (!t->iv2_blocks)
        return apollo__fail(APOLLO_E_NOMEM, "%s: out of memory", c->name);
    for (int64_t i = 0; i < depth; i++) {
        apollo__iv2_block *B = &t->iv2_blocks[i];
        long long li = (long long)i;
        if ((rc = apollo__weights_bindf_f32(ws, &B->norm1, S(D), "blocks.%lld.norm1.weight", li)) ||
            (rc = apollo__weights_bindf(ws, &B->qkv_w, S(3 * D, D), "blocks.%lld.attn.qkv.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &B->q_norm, S(D), "blocks.%lld.attn.q_norm.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &B->k_norm, S(D), "blocks.%lld.attn.k_norm.weight", li)) ||
            (rc = apollo__weights_bindf(ws, &B->proj_w, S(D, D), "blocks.%lld.attn.proj.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &B->proj_b, S(D), "blocks.%lld.attn.proj.bias", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &B->ls1, S(D), "blocks.%lld.ls1.gamma", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &B->ls2, S(D), "blocks.%lld.ls2.gamma", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &B->norm2, S(D), "blocks.%lld.norm2.weight", li)) ||
            (rc = apollo__weights_bindf(ws, &B->fc1_w, S(F, D), "blocks.%lld.mlp.fc1.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &B->fc1_b, S(F), "blocks.%lld.mlp.fc1.bias", li)) ||
            (rc = apollo__weights_bindf(ws, &B->fc2_w, S(D, F), "blocks.%lld.mlp.fc2.weight", li)) ||
            (rc = apollo__weights_bindf_f32(ws, &B->fc2_b, S(D), "blocks.%lld.mlp.fc2.bias", li)))
            return rc;
    }
    return APOLLO_OK;
}

/* ---- Connector ------------------------------------------------------------ */

static int bind_wnorm(apollo__weight_set *ws, apollo__wnorm *n, int64_t D, const char *base)
{
    int rc;
    if ((rc = apollo__weights_bindf_f32(ws, &n->w, S(D), "%s.norm.weight", base)) ||
        (rc = apollo__weights_bindf_f32(ws, &n->b, S(D), "%s.norm.bias", base)) ||
        (rc = apollo__weights_bindf_f32(ws, &n->wheight, S(D), "%s.wheight", base)))
        return rc;
    return APOLLO_OK;
}

static int bind_connector(apollo__model *m)
{
    apollo__connector *cn = &m->conn;
    const apollo__connector_config *c = &cn->cfg;
    apollo__weight_set *ws = cn->ws;
    const int64_t D = c->text_hidden_size, VH = c->vision_hidden_size;
    const int64_t QW = c->n_heads * c->head_dim, KW = c->n_kv_heads * c->head_dim;
    const int64_t F = c->ff_multi * D;
    char base[96];
    int rc;

    for (int64_t i = 0; i < c->n_proj_linear; i++) {
        int64_t in = i == 0 ? VH : D;
        if ((rc = apollo__weights_bindf(ws, &cn->proj_w[i], S(D, in), "proj.%lld.weight", (long long)(2 * i))) ||
            (rc = apollo__weights_bindf_f32(ws, &cn->proj_b[i], S(D), "proj.%lld.bias", (long long)(2 * i))))
            return rc;
    }
    if ((rc = apollo__weights_bindf_f32(ws, &cn->latents, S(c->n_latents, D), "resampler.latents")) ||
        (rc = bind_wnorm(ws, &cn->final_norm, D, "resampler.norm")))
        return rc;
    cn->layers = apollo__calloc((size_t)c->depth, sizeof *cn->layers);
    if (!cn->layers)
        return apollo__fail(APOLLO_E_NOMEM, "mm_connector: out of memory");
    for (int64_t i = 0; i < c->depth; i++) {
        apollo__perceiver_layer *L = &cn->layers[i];
        long long li = (long long)i;
        snprintf(base, sizeof base, "resampler.layers.%lld.input_latents_norm", li);
        if ((rc = bind_wnorm(ws, &L->lat_norm, D, base)))
            return rc;
        snprintf(base, sizeof base, "resampler.layers.%lld.input_context_norm", li);
        if ((rc = bind_wnorm(ws, &L->ctx_norm, D, base)))
            return rc;
        snprintf(base, sizeof base, "resampler.layers.%lld.post_attention_layernorm", li);
        if ((rc = bind_wnorm(ws, &L->post_norm, D, base)))
            return rc;
        if ((rc = apollo__weights_bindf(ws, &L->q_w, S(QW, D), "resampler.layers.%lld.self_attn.q_proj.weight", li)) ||
            (rc = apollo__weights_bindf(ws, &L->k_w, S(KW, D), "resampler.layers.%lld.self_attn.k_proj.weight", li)) ||
            (rc = apollo__weights_bindf(ws, &L->v_w, S(KW, D), "resampler.layers.%lld.self_attn.v_proj.weight", li)) ||
            (rc = apollo__weights_bindf(ws, &L->o_w, S(D, QW), "resampler.layers.%lld.self_attn.o_proj.weight", li)) ||
            (rc = apollo__weights_bindf(ws, &L->gate_w, S(F, D), "resampler.layers.%lld.mlp.gate_proj.weight", li)) ||
            (rc = apollo__weights_bindf(ws, &L->up_w, S(F, D), "resampler.layers.%lld.mlp.up_proj.weight", li)) ||
            (rc = apollo__weights_bindf(ws, &L->down_w, S(D, F), "resampler.layers.%lld.mlp.down_proj.weight", li)))
            return rc;
    }
    return APOLLO_OK;
}

/* ---- Whole model ---------------------------------------------------------- */

static int check_tokenizer_files(const apollo__model *m)
{
    char a[4096], b[4096], c[4096];
    struct stat st;
    if (apollo__model_path(a, sizeof a, m->dir, "llm/tokenizer.json") ||
        apollo__model_path(b, sizeof b, m->dir, "llm/vocab.json") ||
        apollo__model_path(c, sizeof c, m->dir, "llm/merges.txt"))
        return APOLLO_E_INVALID_ARG;
    if (stat(a, &st) == 0 || (stat(b, &st) == 0 && stat(c, &st) == 0))
        return APOLLO_OK;
    return apollo__fail(APOLLO_E_NOT_FOUND,
                        "llm/: no tokenizer (tokenizer.json, or vocab.json + merges.txt)");
}

int apollo__model_load(const char *dir, apollo__model **out)
{
    apollo__model *m;
    struct stat st;
    int rc;

    *out = NULL;
    if (stat(dir, &st) != 0)
        return apollo__fail(APOLLO_E_NOT_FOUND, "%s: model directory not found", dir);
    if (!S_ISDIR(st.st_mode))
        return apollo__fail(APOLLO_E_NOT_FOUND, "%s: not a directory", dir);
    m = apollo__calloc(1, sizeof *m);
    if (!m)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory");
    m->dir = apollo__strdup(dir);
    if (!m->dir) {
        rc = apollo__fail(APOLLO_E_NOMEM, "out of memory");
        goto fail;
    }
    if ((rc = apollo__config_read_top(m)) || (rc = apollo__config_read_llm(m)) ||
        (rc = apollo__config_read_towers(m)) || (rc = apollo__config_read_connector(m)) ||
        (rc = apollo__config_check(m)) || (rc = check_tokenizer_files(m)))
        goto fail;

    if ((rc = open_part(m, "llm", &m->llm_ws)) || (rc = bind_llm(m)))
        goto fail;
    for (int32_t i = 0; i < m->n_towers; i++) {
        apollo__tower *t = &m->towers[i];
        char rel[128];
        snprintf(rel, sizeof rel, "vision_tower/%s", t->cfg.name);
        if ((rc = open_part(m, rel, &t->ws)))
            goto fail;
        rc = t->cfg.kind == APOLLO__TOWER_SIGLIP ? bind_siglip(m, t) : bind_internvideo2(m, t);
        if (rc)
            goto fail;
    }
    if ((rc = open_part(m, "mm_connector", &m->conn.ws)) || (rc = bind_connector(m)))
        goto fail;
    *out = m;
    return APOLLO_OK;
fail:
    apollo__model_free(m);
    return rc;
}

void apollo__model_free(apollo__model *m)
{
    if (!m)
        return;
    apollo__weights_close(m->llm_ws);
    apollo__free(m->llm_w.layers);
    for (int32_t i = 0; i < 4; i++) {
        apollo__weights_close(m->towers[i].ws);
        apollo__free(m->towers[i].siglip_layers);
        apollo__free(m->towers[i].iv2_blocks);
    }
    apollo__weights_close(m->conn.ws);
    apollo__free(m->conn.layers);
    apollo__free(m->q8_arena);
    apollo__free(m->dir);
    apollo__free(m);
}
