/* bench_vision: the vision side of a (synthetic, full-size) Apollo
 * checkpoint — SigLIP, InternVideo2 and the connector (fusion, projection,
 * Perceiver resampler) on one clip of random pixels.
 *
 *   bench_vision MODEL_DIR [--threads N] [--backend cpu|onednn]
 *                [--precision f32|bf16] [--clips C]
 *
 * Prints `key value` lines: per stage the milliseconds per clip (best of C
 * clips; stage boundaries from the encoder's stage hook), SigLIP per frame,
 * the stage's matrix-product work in GFLOP (from the loaded shapes: every
 * Linear and the attention products; norms and activations not counted)
 * and the GFLOP/s it reached, and the peak RSS. */
#include "apollo.h"
#include "backend.h"
#include "common/alloc.h"
#include "model/model.h"
#include "nn/internvideo2.h"
#include "nn/siglip.h"
#include "nn/vision_encode.h"

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

/* 2 * rows * numel(w): one Linear applied to `rows` rows. */
static double lin(double rows, const apollo__tensor *w)
{
    return 2.0 * rows * (double)apollo__tensor_numel(w);
}

/* Transformer encoder layers of a tower on n tokens (per frame for SigLIP,
 * per clip for InternVideo2): the Linears of every run layer + QK^T and AV. */
static double tower_flops(const apollo__tower *t, double n)
{
    const apollo__tower_config *c = &t->cfg;
    double f = 0, d = (double)c->hidden_size;
    for (int64_t l = 0; l < c->n_layers_run; l++) {
        if (t->siglip_layers) {
            const apollo__siglip_layer *L = &t->siglip_layers[l];
            f += lin(n, &L->q_w) + lin(n, &L->k_w) + lin(n, &L->v_w) + lin(n, &L->o_w) +
                 lin(n, &L->fc1_w) + lin(n, &L->fc2_w);
        } else {
            const apollo__iv2_block *B = &t->iv2_blocks[l];
            f += lin(n, &B->qkv_w) + lin(n, &B->proj_w) + lin(n, &B->fc1_w) + lin(n, &B->fc2_w);
        }
        f += 4.0 * n * n * d;
    }
    return f + lin(n, &t->patch_w);
}

static double connector_flops(const apollo__connector *cn, const apollo__vision_geom *g)
{
    double n = (double)g->n_tokens, nl = (double)cn->cfg.n_latents, f = 0;
    double inner = (double)(cn->cfg.n_heads * cn->cfg.head_dim);
    for (int i = 0; i < 4 && cn->proj_w[i].data; i++)
        f += lin(n, &cn->proj_w[i]);
    for (int64_t l = 0; l < cn->cfg.depth; l++) {
        const apollo__perceiver_layer *L = &cn->layers[l];
        /* keys/values over the tokens and the latents */
        f += lin(nl, &L->q_w) + lin(n + nl, &L->k_w) + lin(n + nl, &L->v_w) + lin(nl, &L->o_w) +
             lin(nl, &L->gate_w) + lin(nl, &L->up_w) + lin(nl, &L->down_w);
        f += 4.0 * nl * (n + nl) * inner;
    }
    return f;
}

typedef struct stage_clock {
    double t_start, t_tower[4], t_fused, t_proj, t_out;
} stage_clock;

static void on_stage(void *ud, int32_t stage, int32_t tower, const float *x, int64_t rows,
                     int64_t cols)
{
    stage_clock *c = ud;
    double t = now_s();
    (void)x, (void)rows, (void)cols;
    if (stage == APOLLO__VSTAGE_TOWER && tower >= 0 && tower < 4)
        c->t_tower[tower] = t;
    else if (stage == APOLLO__VSTAGE_FUSED)
        c->t_fused = t;
    else if (stage == APOLLO__VSTAGE_PROJ)
        c->t_proj = t;
    else if (stage == APOLLO__VSTAGE_OUT)
        c->t_out = t;
}

static void fill_random(float *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int nt = 2, backend = APOLLO_BACKEND_CPU, prec = APOLLO__PREC_F32, clips = 1;
    apollo__model *m = NULL;
    apollo__backend *be = NULL;
    apollo__vision_geom g;
    double best[4] = {1e30, 1e30, 1e30, 1e30}, best_clip = 1e30, fl[3] = {0, 0, 0};
    int siglip = -1, iv2 = -1;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            nt = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc)
            backend = !strcmp(argv[++i], "onednn") ? APOLLO_BACKEND_ONEDNN : APOLLO_BACKEND_CPU;
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc)
            prec = !strcmp(argv[++i], "bf16") ? APOLLO__PREC_BF16 : APOLLO__PREC_F32;
        else if (!strcmp(argv[i], "--clips") && i + 1 < argc)
            clips = atoi(argv[++i]);
        else
            dir = argv[i];
    }
    if (!dir || clips < 1) {
        fprintf(stderr, "usage: bench_vision MODEL_DIR [--threads N] [--backend cpu|onednn] "
                        "[--precision f32|bf16] [--clips C]\n");
        return 2;
    }
    if (apollo__model_load(dir, &m) || apollo__backend_create(backend, nt, &be) ||
        apollo__vision_geometry(m, &g)) {
        fprintf(stderr, "bench_vision: cannot load %s\n", dir);
        return 1;
    }
    be->precision = prec;
    for (int i = 0; i < m->n_towers; i++) {
        const apollo__tower *t = &m->towers[i];
        if (t->siglip_layers) {
            siglip = i;
            fl[0] = tower_flops(t, (double)apollo__siglip_n_tokens(&t->cfg)) * (double)g.n_frames;
        } else {
            iv2 = i;
            fl[1] = tower_flops(t, (double)apollo__iv2_n_tokens(&t->cfg));
        }
    }
    fl[2] = connector_flops(&m->conn, &g);

    size_t ns = (size_t)(g.n_frames * 3 * g.siglip_size * g.siglip_size);
    size_t ni = (size_t)(g.n_frames * 3 * g.iv2_size * g.iv2_size);
    float *sp = ns ? malloc(ns * sizeof(float)) : NULL, *ip = ni ? malloc(ni * sizeof(float)) : NULL;
    float *out = malloc((size_t)(g.n_latents * g.out_dim) * sizeof(float));
    if ((ns && !sp) || (ni && !ip) || !out)
        return 1;
    fill_random(sp, ns, 1);
    fill_random(ip, ni, 2);
    for (int c = 0; c < clips; c++) {
        stage_clock ck;
        apollo__vision_hooks hooks = {NULL, on_stage, &ck};
        double prev;
        memset(&ck, 0, sizeof ck);
        ck.t_start = now_s();
        if (apollo__vision_encode_clip(m, be, sp, ip, out, &hooks)) {
            fprintf(stderr, "bench_vision: encode failed\n");
            return 1;
        }
        /* towers run in model order; each tower's time ends at its hook */
        prev = ck.t_start;
        for (int i = 0; i < m->n_towers; i++) {
            double dt = ck.t_tower[i] - prev;
            int slot = i == siglip ? 0 : i == iv2 ? 1 : -1;
            if (slot >= 0 && dt < best[slot])
                best[slot] = dt;
            prev = ck.t_tower[i];
        }
        if (ck.t_out - prev < best[2])
            best[2] = ck.t_out - prev;
        if (ck.t_out - ck.t_start < best_clip)
            best_clip = ck.t_out - ck.t_start;
    }
    printf("threads %d\nframes_per_clip %lld\n", nt, (long long)g.n_frames);
    if (siglip >= 0)
        printf("siglip_ms_per_clip %.1f\nsiglip_ms_per_frame %.1f\nsiglip_gflop_per_clip %.1f\n"
               "siglip_gflops %.2f\n",
               best[0] * 1e3, best[0] * 1e3 / (double)g.n_frames, fl[0] * 1e-9, fl[0] / best[0] * 1e-9);
    if (iv2 >= 0)
        printf("iv2_ms_per_clip %.1f\niv2_gflop_per_clip %.1f\niv2_gflops %.2f\n", best[1] * 1e3,
               fl[1] * 1e-9, fl[1] / best[1] * 1e-9);
    printf("connector_ms_per_clip %.1f\nconnector_gflop_per_clip %.2f\nconnector_gflops %.2f\n",
           best[2] * 1e3, fl[2] * 1e-9, fl[2] / best[2] * 1e-9);
    printf("clip_ms %.1f\n", best_clip * 1e3);
    {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("peak_rss_mb %.1f\n", (double)ru.ru_maxrss / 1024.0);
    }
    free(sp);
    free(ip);
    free(out);
    apollo__backend_free(be);
    apollo__model_free(m);
    return 0;
}
