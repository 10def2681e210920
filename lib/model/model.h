/* An Apollo checkpoint as loaded from its hub directory: every
 * hyper-parameter read from the JSON files, every weight the runtime uses
 * bound (name, shape, dtype checked) to a view into the mapped files. */
#ifndef APOLLO_MODEL_H
#define APOLLO_MODEL_H

#include "common/tensor.h"
#include "common/threadpool.h"
#include "weight_set.h"

#include <stdint.h>

/* ---- LLM (Qwen2 / Qwen2.5) ---------------------------------------------- */

typedef struct apollo__llm_config {
    int64_t hidden_size, intermediate_size, n_layers, n_heads, n_kv_heads, head_dim;
    int64_t vocab_size, max_position_embeddings;
    int64_t context_length;       /* tokenizer_model_max_length (merged prompt limit) */
    double rms_norm_eps, rope_theta;
    int tie_word_embeddings;
    int64_t bos_token_id, eos_token_id;
} apollo__llm_config;

typedef struct apollo__gen_config {
    int do_sample;
    double temperature, top_p, repetition_penalty;
    int64_t top_k;
    int64_t eos_ids[8];
    int32_t n_eos_ids;
    int64_t pad_token_id, bos_token_id;
} apollo__gen_config;

typedef struct apollo__llm_layer {
    apollo__tensor in_norm;                  /* [D] */
    apollo__tensor q_w, q_b, k_w, k_b, v_w, v_b; /* [H*hd, D], [H*hd]; [K*hd, D], [K*hd] */
    apollo__tensor o_w;                      /* [D, H*hd] */
    apollo__tensor post_norm;                /* [D] */
    apollo__tensor gate_w, up_w;             /* [I, D] */
    apollo__tensor down_w;                   /* [D, I] */
} apollo__llm_layer;

typedef struct apollo__llm_weights {
    apollo__tensor embed;                    /* [V, D] */
    apollo__llm_layer *layers;               /* n_layers */
    apollo__tensor norm;                     /* [D] */
    apollo__tensor lm_head;                  /* [V, D]; the embedding when tied */
} apollo__llm_weights;

/* ---- Vision towers ------------------------------------------------------ */

enum { APOLLO__TOWER_SIGLIP = 1, APOLLO__TOWER_INTERNVIDEO2 = 2 };

typedef struct apollo__tower_config {
    int kind;
    char name[64];                /* folder name under vision_tower/ */
    int64_t hidden_size, intermediate_size, n_layers, n_heads;
    int64_t image_size, patch_size, num_frames, tubelet_size;
    int64_t n_layers_run;         /* from mm_vision_select_layer */
    double norm_eps;
    /* Preprocessing (processor mean/std; SigLIP from preprocessor_config.json,
     * InternVideo2 ImageNet values of the reference transform chain). */
    double image_mean[3], image_std[3];
} apollo__tower_config;

typedef struct apollo__siglip_layer {
    apollo__tensor ln1_w, ln1_b;
    apollo__tensor q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b; /* [D, D], [D] */
    apollo__tensor ln2_w, ln2_b;
    apollo__tensor fc1_w, fc1_b;             /* [I, D], [I] */
    apollo__tensor fc2_w, fc2_b;             /* [D, I], [D] */
} apollo__siglip_layer;

typedef struct apollo__iv2_block {
    apollo__tensor norm1;                    /* [D] RMSNorm */
    apollo__tensor qkv_w;                    /* [3D, D], no bias */
    apollo__tensor q_norm, k_norm;           /* [D] RMSNorm over the full width */
    apollo__tensor proj_w, proj_b;           /* [D, D], [D] */
    apollo__tensor ls1, ls2;                 /* [D] LayerScale */
    apollo__tensor norm2;                    /* [D] */
    apollo__tensor fc1_w, fc1_b;             /* [F, D], [F] */
    apollo__tensor fc2_w, fc2_b;             /* [D, F], [D] */
} apollo__iv2_block;

typedef struct apollo__tower {
    apollo__tower_config cfg;
    apollo__weight_set *ws;
    /* SigLIP */
    apollo__tensor patch_w, patch_b;         /* SigLIP [D,3,p,p]; IV2 [D,3,t,p,p] */
    apollo__tensor pos;                      /* SigLIP [N, D]; IV2 [1, 1+T*N, D] */
    apollo__tensor cls;                      /* IV2 [1, 1, D] */
    apollo__siglip_layer *siglip_layers;     /* n_layers_run */
    apollo__iv2_block *iv2_blocks;           /* n_layers_run */
} apollo__tower;

/* ---- Connector ---------------------------------------------------------- */

typedef struct apollo__connector_config {
    int64_t vision_hidden_size, text_hidden_size;
    int64_t token_input_shape[3];
    int64_t n_proj_linear;        /* N of "mlpNx_gelu" (1 for the shipped checkpoints) */
    int64_t n_latents, depth, n_heads, head_dim, n_kv_heads, ff_multi;
    char hidden_act[32];
} apollo__connector_config;

typedef struct apollo__wnorm {                 /* LayerNorm(eps 1e-5) * wheight */
    apollo__tensor w, b, wheight;
} apollo__wnorm;

typedef struct apollo__perceiver_layer {
    apollo__wnorm lat_norm, ctx_norm, post_norm;
    apollo__tensor q_w, k_w, v_w, o_w;       /* no biases */
    apollo__tensor gate_w, up_w, down_w;
} apollo__perceiver_layer;

typedef struct apollo__connector {
    apollo__connector_config cfg;
    apollo__weight_set *ws;
    apollo__tensor proj_w[4], proj_b[4];     /* proj.{0,2,4,..}.weight/bias */
    apollo__tensor latents;                  /* [n, D] */
    apollo__perceiver_layer *layers;         /* depth */
    apollo__wnorm final_norm;
} apollo__connector;

/* ---- The whole checkpoint ----------------------------------------------- */

typedef struct apollo__model {
    char *dir;
    /* top-level config.json */
    char clip_duration_text[32];  /* str(clip_duration) as Python prints it: "2" or "2.0" */
    double clip_duration;
    int64_t model_max_length;
    int64_t select_layer;
    int select_patch_only;        /* mm_vision_select_feature == "patch" */
    int64_t token_output_shape[3];/* (T, H, W) of the fused grid */

    apollo__llm_config llm;
    apollo__gen_config gen;
    apollo__weight_set *llm_ws;
    apollo__llm_weights llm_w;

    int32_t n_towers;
    apollo__tower towers[4];

    apollo__connector conn;

    /* APOLLO_PRECISION_INT8: the int8 rows and scales of the quantized LLM
     * weights (apollo__model_quantize_llm), NULL otherwise. */
    void *q8_arena;
    size_t q8_bytes;
} apollo__model;

/* Loads and validates everything; on failure the message names the file,
 * key or tensor. */
int apollo__model_load(const char *dir, apollo__model **out);
void apollo__model_free(apollo__model *m);

/* APOLLO_PRECISION_INT8 (lib/model/model_quant.c): replaces the LLM's Linear
 * weights -- q/k/v/o, gate/up/down of every layer and the output head (a
 * separate tensor view even when tied, so the embedding lookup keeps the
 * exact rows) -- by APOLLO__DT_Q8 copies in m->q8_arena, quantized on
 * `pool`.  The mapped checkpoint pages are only read; each finished block's
 * pages are handed back to the page cache so the resident set does not hold
 * both copies.  Call once, before the model is shared.  APOLLO_E_NOMEM
 * leaves the model unchanged. */
int apollo__model_quantize_llm(apollo__model *m, apollo__pool *pool);


#endif
