/* bench_llm: Qwen2 decoder speed on a (synthetic) Apollo checkpoint.
 *
 *   bench_llm MODEL_DIR [--threads N] [--backend cpu|onednn] [--precision f32|bf16|int8]
 *             [--prefill N] [--decode T] [--logits-out FILE]
 *
 * --precision int8 quantizes the LLM's linear weights at load, as
 * apollo_ctx_open does for APOLLO_PRECISION_INT8 (quantize_s: its time), and
 * with --backend onednn also sets the backend up as it does (prefill
 * products of the int8 weights on oneDNN's int8 matmul, activations
 * quantized per row; onednn_q8_calls: how many ran there).
 * --logits-out writes the logits of the last prefill position and of every
 * decode step (float32, V each; the inputs are fixed ids, not the argmax) so
 * that two precisions can be compared on the same positions.
 *
 * Prefills N random token ids (logits of the last one), then decodes T
 * tokens one at a time (greedy input, logits each step), and prints:
 *   prefill_tokens_per_s, decode_tokens_per_s, weight_bytes_per_token (what
 *   one decode step must read: every layer weight plus the output head),
 *   load_s, peak_rss_mb (getrusage: mmapped weights that were touched + KV
 *   cache + activations), kv_cache_mb. */
#include "apollo.h"
#include "backend.h"
#include "common/alloc.h"
#include "model/model.h"
#include "nn/qwen2.h"
#ifdef APOLLO_HAVE_ONEDNN
#include "onednn/onednn_hooks.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double tbytes(const apollo__tensor *t)
{
    return (double)apollo__tensor_numel(t) * (double)apollo__dtype_size(t->dtype) +
           (t->scale ? 4.0 * (double)t->shape[0] : 0.0);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int nt = 2, backend = APOLLO_BACKEND_CPU, prec = APOLLO__PREC_F32, int8 = 0;
    int64_t n_prefill = 128, n_decode = 16;
    const char *logits_path = NULL;
    FILE *logits_out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            nt = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc)
            backend = !strcmp(argv[++i], "onednn") ? APOLLO_BACKEND_ONEDNN : APOLLO_BACKEND_CPU;
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            i++;
            prec = !strcmp(argv[i], "bf16") ? APOLLO__PREC_BF16 : APOLLO__PREC_F32;
            int8 = !strcmp(argv[i], "int8");
        }
        else if (!strcmp(argv[i], "--prefill") && i + 1 < argc)
            n_prefill = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--decode") && i + 1 < argc)
            n_decode = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--logits-out") && i + 1 < argc)
            logits_path = argv[++i];
        else
            dir = argv[i];
    }
    if (!dir) {
        fprintf(stderr, "usage: bench_llm MODEL_DIR [--threads N] [--backend cpu|onednn] "
                        "[--precision f32|bf16|int8] [--prefill N] [--decode T] "
                        "[--logits-out FILE]\n");
        return 2;
    }
    apollo__model *m = NULL;
    apollo__backend *be = NULL;
    double t0 = now_s();
    if (apollo__model_load(dir, &m) || apollo__backend_create(backend, nt, &be)) {
        fprintf(stderr, "bench_llm: cannot load %s\n", dir);
        return 1;
    }
    be->precision = prec;
    printf("load_s %.2f\n", now_s() - t0);
    if (int8) {
        t0 = now_s();
        if (apollo__model_quantize_llm(m, be->pool)) {
            fprintf(stderr, "bench_llm: cannot quantize: %s\n", apollo_last_errmsg());
            return 1;
        }
        printf("quantize_s %.2f\n", now_s() - t0);
#ifdef APOLLO_HAVE_ONEDNN
        if (be->vt->kind == APOLLO_BACKEND_ONEDNN) /* as apollo_ctx_open */
            apollo__onednn_set_q8_int8(be, 1);
#endif
    }
    printf("weight_dtype %s\n", apollo__dtype_name(m->llm_w.layers[0].q_w.dtype));

    const apollo__llm_config *c = &m->llm;
    const int64_t D = c->hidden_size, V = c->vocab_size;
    double wbytes = tbytes(&m->llm_w.lm_head);
    for (int64_t l = 0; l < c->n_layers; l++) {
        const apollo__llm_layer *L = &m->llm_w.layers[l];
        wbytes += tbytes(&L->q_w) + tbytes(&L->k_w) + tbytes(&L->v_w) + tbytes(&L->o_w) +
                  tbytes(&L->gate_w) + tbytes(&L->up_w) + tbytes(&L->down_w);
    }
    printf("weight_bytes_per_token %.0f\nvocab_size %lld\n", wbytes, (long long)V);

    apollo__kv_cache kv;
    int64_t n_tot = n_prefill + n_decode;
    int32_t *ids = malloc((size_t)n_tot * sizeof(int32_t));
    float *x = malloc((size_t)(n_prefill > 0 ? n_prefill : 1) * (size_t)D * sizeof(float));
    float *logits = malloc((size_t)V * sizeof(float));
    uint32_t r = 42;
    for (int64_t i = 0; i < n_tot; i++) {
        r = r * 1664525u + 1013904223u;
        ids[i] = (int32_t)(r % 150000u);
    }
    if (apollo__kv_cache_init(&kv, c) || apollo__kv_cache_reserve(&kv, n_tot))
        return 1;
    if (logits_path && !(logits_out = fopen(logits_path, "wb"))) {
        fprintf(stderr, "bench_llm: cannot write %s\n", logits_path);
        return 1;
    }
    if (n_prefill > 0) {
        apollo__qwen2_embed(m, ids, n_prefill, x);
        t0 = now_s();
        if (apollo__qwen2_forward(m, be, &kv, x, n_prefill, APOLLO__LOGITS_LAST, logits, NULL))
            return 1;
        double dt = now_s() - t0;
        printf("prefill_tokens %lld\nprefill_s %.3f\nprefill_tokens_per_s %.2f\n",
               (long long)n_prefill, dt, (double)n_prefill / dt);
        if (logits_out)
            fwrite(logits, sizeof(float), (size_t)V, logits_out);
    }
    if (n_decode > 0) {
        double best = 1e30, total = 0;
        for (int64_t i = 0; i < n_decode; i++) {
            int32_t id = ids[n_prefill + i];
            apollo__qwen2_embed(m, &id, 1, x);
            t0 = now_s();
            if (apollo__qwen2_forward(m, be, &kv, x, 1, APOLLO__LOGITS_LAST, logits, NULL))
                return 1;
            double dt = now_s() - t0;
            if (logits_out)
                fwrite(logits, sizeof(float), (size_t)V, logits_out);
            if (i > 0) { /* the first step also faults the weights in */
                total += dt;
                if (dt < best)
                    best = dt;
            }
        }
        if (n_decode > 1)
            printf("decode_tokens %lld\ndecode_tokens_per_s %.3f\ndecode_best_tokens_per_s "
                   "%.3f\ndecode_weight_gbs %.2f\n",
                   (long long)(n_decode - 1), (double)(n_decode - 1) / total, 1.0 / best,
                   wbytes * (double)(n_decode - 1) / total * 1e-9);
    }
    {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("peak_rss_mb %.1f\n", (double)ru.ru_maxrss / 1024.0);
#ifdef APOLLO_HAVE_ONEDNN
        if (be->vt->kind == APOLLO_BACKEND_ONEDNN) {
            apollo__onednn_stats st;
            apollo__onednn_get_stats(be, &st);
            printf("onednn_q8_calls %lld\nonednn_cpu_calls %lld\nonednn_q8_act_levels %d\n",
                   (long long)st.n_q8_onednn_calls, (long long)st.n_cpu_calls,
                   st.q8_act_levels);
        }
#endif
        printf("kv_cache_mb %.1f\n", 2.0 * (double)kv.capacity * (double)kv.kv_width *
                                         (double)c->n_layers * 4.0 / 1048576.0);
    }
    if (logits_out && fclose(logits_out)) {
        fprintf(stderr, "bench_llm: cannot write %s\n", logits_path);
        return 1;
    }
    apollo__kv_cache_free(&kv);
    free(ids);
    free(x);
    free(logits);
    apollo__backend_free(be);
    apollo__model_free(m);
    return 0;
}
