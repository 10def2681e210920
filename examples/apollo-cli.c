/* apollo-cli: command-line front end of libapollo.
 *
 *   apollo-cli info MODEL_DIR [--json] [--threads N] [--backend cpu|onednn]
 *
 * Uses only the public API (apollo.h). */
#include <apollo.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: apollo-cli info MODEL_DIR [--json] [--threads N] [--backend cpu|onednn]\n"
            "  info   print a summary of an Apollo checkpoint directory\n");
}

static const char *tower_kind(int32_t k)
{
    return k == APOLLO_TOWER_SIGLIP ? "SigLIP" : k == APOLLO_TOWER_INTERNVIDEO2 ? "InternVideo2"
                                                                                : "?";
}

static void print_text(const char *dir, const apollo_model_info *mi, int backend)
{
    int64_t total = mi->n_params_llm + mi->n_params_connector;
    printf("model:            %s\n", dir);
    printf("backend:          %s\n", backend == APOLLO_BACKEND_ONEDNN ? "onednn" : "cpu");
    printf("LLM:              Qwen2, %d layers, hidden %d, MLP %d, heads %d (KV %d, dim %d), "
           "vocab %d, %s head\n",
           mi->llm_n_layers, mi->llm_hidden_size, mi->llm_intermediate_size, mi->llm_n_heads,
           mi->llm_n_kv_heads, mi->llm_head_dim, mi->llm_vocab_size,
           mi->llm_tied_embeddings ? "tied" : "separate");
    printf("context length:   %d tokens (rope theta %g)\n", mi->context_length, mi->llm_rope_theta);
    printf("vision towers:    %d (select layer %d)\n", mi->n_vision_towers,
           mi->vision_select_layer);
    for (int32_t i = 0; i < mi->n_vision_towers; i++) {
        printf("  %d. %-28s %-12s width %d, %d layers run, %lld params\n", i + 1,
               mi->tower_name[i], tower_kind(mi->tower_kind[i]), mi->tower_hidden_size[i],
               mi->tower_n_layers_run[i], (long long)mi->n_params_vision[i]);
        total += mi->n_params_vision[i];
    }
    printf("clips:            %d frames per %g s clip -> %d tokens; budget model_max_length %d\n",
           mi->frames_per_clip, mi->clip_duration_s, mi->tokens_per_clip, mi->model_max_length);
    printf("parameters:       LLM %lld, connector %lld, total %lld\n",
           (long long)mi->n_params_llm, (long long)mi->n_params_connector, (long long)total);
}

static void print_json(const apollo_model_info *mi, int backend)
{
    printf("{\n  \"backend\": \"%s\",\n", backend == APOLLO_BACKEND_ONEDNN ? "onednn" : "cpu");
    printf("  \"llm\": {\"hidden_size\": %d, \"intermediate_size\": %d, \"n_layers\": %d, "
           "\"n_heads\": %d, \"n_kv_heads\": %d, \"head_dim\": %d, \"vocab_size\": %d, "
           "\"tied_embeddings\": %s, \"n_params\": %lld},\n",
           mi->llm_hidden_size, mi->llm_intermediate_size, mi->llm_n_layers, mi->llm_n_heads,
           mi->llm_n_kv_heads, mi->llm_head_dim, mi->llm_vocab_size,
           mi->llm_tied_embeddings ? "true" : "false", (long long)mi->n_params_llm);
    printf("  \"vision_towers\": [");
    for (int32_t i = 0; i < mi->n_vision_towers; i++)
        printf("%s\n    {\"name\": \"%s\", \"kind\": \"%s\", \"hidden_size\": %d, "
               "\"n_layers_run\": %d, \"n_params\": %lld}",
               i ? "," : "", mi->tower_name[i], tower_kind(mi->tower_kind[i]),
               mi->tower_hidden_size[i], mi->tower_n_layers_run[i],
               (long long)mi->n_params_vision[i]);
    printf("\n  ],\n");
    printf("  \"connector\": {\"tokens_per_clip\": %d, \"n_params\": %lld},\n",
           mi->tokens_per_clip, (long long)mi->n_params_connector);
    printf("  \"context_length\": %d, \"model_max_length\": %d, \"frames_per_clip\": %d, "
           "\"clip_duration_s\": %g, \"vision_select_layer\": %d\n}\n",
           mi->context_length, mi->model_max_length, mi->frames_per_clip, mi->clip_duration_s,
           mi->vision_select_layer);
}

static int cmd_info(int argc, char **argv)
{
    apollo_ctx_params p;
    apollo_model_info mi;
    apollo_ctx *ctx = NULL;
    const char *dir = NULL;
    int json = 0, rc;

    apollo_ctx_params_init(&p);
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            p.n_threads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
            const char *b = argv[++i];
            p.backend = strcmp(b, "onednn") == 0 ? APOLLO_BACKEND_ONEDNN
                        : strcmp(b, "cpu") == 0  ? APOLLO_BACKEND_CPU
                                                 : -1;
            if (p.backend < 0) {
                fprintf(stderr, "apollo-cli: unknown backend '%s'\n", b);
                return 2;
            }
        } else if (argv[i][0] == '-' || dir) {
            usage(stderr);
            return 2;
        } else {
            dir = argv[i];
        }
    }
    if (!dir) {
        usage(stderr);
        return 2;
    }
    rc = apollo_ctx_open(dir, &p, &ctx);
    if (rc != APOLLO_OK) {
        fprintf(stderr, "apollo-cli: %s: %s\n", apollo_strerror(rc), apollo_last_errmsg());
        return 1;
    }
    apollo_model_info_init(&mi);
    rc = apollo_ctx_get_model_info(ctx, &mi);
    if (rc == APOLLO_OK) {
        if (json)
            print_json(&mi, apollo_ctx_get_backend(ctx));
        else
            print_text(dir, &mi, apollo_ctx_get_backend(ctx));
    } else {
        fprintf(stderr, "apollo-cli: %s: %s\n", apollo_strerror(rc), apollo_last_errmsg());
    }
    apollo_ctx_free(ctx);
    return rc == APOLLO_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (apollo_version_number() != APOLLO_VERSION_NUMBER) {
        fprintf(stderr, "apollo-cli: header %s but library %s\n", APOLLO_VERSION_STRING,
                apollo_version_string());
        return 1;
    }
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("apollo-cli %s\n", apollo_version_string());
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "info") == 0)
        return cmd_info(argc - 2, argv + 2);
    usage(stderr);
    return 2;
}
