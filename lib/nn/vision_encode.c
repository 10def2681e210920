#include "vision_encode.h"

#include "common/alloc.h"
#include "common/status.h"
#include "connector.h"
#include "internvideo2.h"
#include "siglip.h"
#include "vision_fusion.h"

#include <string.h>

static const apollo__tower *find_tower(const apollo__model *m, int kind)
{
    for (int32_t i = 0; i < m->n_towers; i++)
        if (m->towers[i].cfg.kind == kind)
            return &m->towers[i];
    return NULL;
}

/* Frames per clip: InternVideo2's num_frames when it is present, else the
 * temporal size of the token grid. */
static int64_t clip_frames(const apollo__model *m)
{
    const apollo__tower *iv = find_tower(m, APOLLO__TOWER_INTERNVIDEO2);
    return iv ? iv->cfg.num_frames : m->token_output_shape[0];
}

/* SigLIP sees single frames; the wrapper keeps every step-th frame with
 * step = n_frames / grid T (1 for Apollo) and encodes it on its own. */
static void siglip_grid(const apollo__model *m, const apollo__tower *t, int64_t *step,
                        int64_t grid[3])
{
    int64_t F = clip_frames(m), T = m->token_output_shape[0];
    int64_t g = t->cfg.image_size / t->cfg.patch_size;
    *step = F >= T && T > 0 ? F / T : 1;
    grid[0] = F / *step;
    grid[1] = g;
    grid[2] = g;
}

int apollo__vision_geometry(const apollo__model *m, apollo__vision_geom *g)
{
    const apollo__tower *sg, *iv;
    if (!m || !g)
        return apollo__fail(APOLLO_E_INVALID_ARG, "vision: bad arguments");
    memset(g, 0, sizeof *g);
    sg = find_tower(m, APOLLO__TOWER_SIGLIP);
    iv = find_tower(m, APOLLO__TOWER_INTERNVIDEO2);
    g->n_frames = clip_frames(m);
    g->siglip_size = sg ? sg->cfg.image_size : 0;
    g->iv2_size = iv ? iv->cfg.image_size : 0;
    memcpy(g->grid, m->token_output_shape, sizeof g->grid);
    g->n_tokens = g->grid[0] * g->grid[1] * g->grid[2];
    for (int32_t i = 0; i < m->n_towers; i++)
        g->fused_width += m->towers[i].cfg.hidden_size;
    g->out_dim = m->conn.cfg.text_hidden_size;
    g->n_latents = m->conn.cfg.n_latents;
    if (m->n_towers < 1 || m->n_towers > 4 || g->n_frames <= 0 || g->n_tokens <= 0)
        return apollo__fail(APOLLO_E_CONFIG, "vision: no usable tower / token grid");
    if (g->fused_width != m->conn.cfg.vision_hidden_size)
        return apollo__fail(APOLLO_E_CONFIG,
                            "vision: the towers' widths add up to %lld but the connector takes %lld",
                            (long long)g->fused_width, (long long)m->conn.cfg.vision_hidden_size);
    for (int32_t i = 0; i < m->n_towers; i++) {
        const apollo__tower *t = &m->towers[i];
        if (t->cfg.kind != APOLLO__TOWER_SIGLIP && t->cfg.kind != APOLLO__TOWER_INTERNVIDEO2)
            return apollo__fail(APOLLO_E_CONFIG, "vision: tower '%s' has an unknown kind",
                                t->cfg.name);
        if (t->cfg.kind == APOLLO__TOWER_INTERNVIDEO2 && t != iv)
            return apollo__fail(APOLLO_E_CONFIG, "vision: more than one InternVideo2 tower");
        if (t->cfg.kind == APOLLO__TOWER_SIGLIP && t != sg)
            return apollo__fail(APOLLO_E_CONFIG, "vision: more than one SigLIP tower");
    }
    return APOLLO_OK;
}

static int aborted(const apollo__vision_hooks *h)
{
    return h && h->should_abort && h->should_abort(h->user_data);
}

static void report(const apollo__vision_hooks *h, int32_t stage, int32_t tower, const float *x,
                   int64_t rows, int64_t cols)
{
    if (h && h->on_stage)
        h->on_stage(h->user_data, stage, tower, x, rows, cols);
}

/* Runs tower i, leaving its selected features (grid, channels last) in
 * *feat (allocated here). */
static int run_tower(const apollo__model *m, apollo__backend *be, int32_t i,
                     const float *siglip_pixels, const float *iv2_pixels,
                     const apollo__vision_hooks *hooks, float **feat, apollo__vision_grid *vg)
{
    const apollo__tower *t = &m->towers[i];
    const int64_t C = t->cfg.hidden_size;
    apollo__abort_fn ab = hooks ? hooks->should_abort : NULL;
    void *ud = hooks ? hooks->user_data : NULL;
    float *buf;
    int rc;

    *feat = NULL;
    if (t->cfg.kind == APOLLO__TOWER_SIGLIP) {
        const int64_t N = apollo__siglip_n_tokens(&t->cfg), S = t->cfg.image_size;
        int64_t step;
        siglip_grid(m, t, &step, vg->grid);
        if (!siglip_pixels)
            return apollo__fail(APOLLO_E_INVALID_ARG, "vision: SigLIP pixels are required");
        buf = apollo__malloc((size_t)(vg->grid[0] * N * C) * sizeof(float));
        if (!buf)
            return apollo__fail(APOLLO_E_NOMEM, "vision: out of memory for SigLIP features");
        if (step == 1) {
            rc = apollo__siglip_forward(t, be, siglip_pixels, vg->grid[0], buf, ab, ud);
        } else {
            rc = APOLLO_OK;
            for (int64_t f = 0; f < vg->grid[0] && !rc; f++)
                rc = apollo__siglip_forward(t, be, siglip_pixels + f * step * 3 * S * S, 1,
                                            buf + f * N * C, ab, ud);
        }
        if (rc) {
            apollo__free(buf);
            return apollo__fail_context(rc, "%s", t->cfg.name);
        }
        vg->x = buf;
    } else {
        const int64_t R = apollo__iv2_n_tokens(&t->cfg);
        const int64_t skip = m->select_patch_only ? 1 : 0;
        const int64_t side = apollo__iv2_side(&t->cfg);
        if (!iv2_pixels)
            return apollo__fail(APOLLO_E_INVALID_ARG, "vision: InternVideo2 pixels are required");
        if (!skip)
            return apollo__fail(APOLLO_E_UNSUPPORTED,
                                "vision: mm_vision_select_feature other than \"patch\" does not "
                                "give a token grid for InternVideo2");
        buf = apollo__malloc((size_t)(R * C) * sizeof(float));
        if (!buf)
            return apollo__fail(APOLLO_E_NOMEM, "vision: out of memory for InternVideo2 features");
        if ((rc = apollo__iv2_forward(t, be, iv2_pixels, buf, ab, ud))) {
            apollo__free(buf);
            return apollo__fail_context(rc, "%s", t->cfg.name);
        }
        vg->x = buf + skip * C;
        vg->grid[0] = apollo__iv2_t_slots(&t->cfg);
        vg->grid[1] = side;
        vg->grid[2] = side;
    }
    vg->C = C;
    *feat = buf;
    report(hooks, APOLLO__VSTAGE_TOWER, i, vg->x, vg->grid[0] * vg->grid[1] * vg->grid[2], C);
    return APOLLO_OK;
}

int apollo__vision_encode_clip(const apollo__model *m, apollo__backend *be,
                               const float *siglip_pixels, const float *iv2_pixels, float *out,
                               const apollo__vision_hooks *hooks)
{
    apollo__vision_geom g;
    apollo__vision_grid vg[4];
    float *feat[4] = {NULL, NULL, NULL, NULL};
    float *fused = NULL, *proj = NULL;
    int rc;

    if (!m || !be || !out)
        return apollo__fail(APOLLO_E_INVALID_ARG, "vision: bad arguments");
    if ((rc = apollo__vision_geometry(m, &g)))
        return rc;
    memset(vg, 0, sizeof vg);

    for (int32_t i = 0; i < m->n_towers; i++) {
        if (aborted(hooks)) {
            rc = apollo__fail(APOLLO_E_CANCELLED, "cancelled");
            goto done;
        }
        if ((rc = run_tower(m, be, i, siglip_pixels, iv2_pixels, hooks, &feat[i], &vg[i])))
            goto done;
    }

    fused = apollo__malloc((size_t)(g.n_tokens * g.fused_width) * sizeof(float));
    if (!fused) {
        rc = apollo__fail(APOLLO_E_NOMEM, "vision: out of memory for the fused tokens");
        goto done;
    }
    if ((rc = apollo__vision_fuse(vg, m->n_towers, g.grid, fused)))
        goto done;
    for (int32_t i = 0; i < m->n_towers; i++) {
        apollo__free(feat[i]);
        feat[i] = NULL;
    }
    report(hooks, APOLLO__VSTAGE_FUSED, -1, fused, g.n_tokens, g.fused_width);

    if (aborted(hooks)) {
        rc = apollo__fail(APOLLO_E_CANCELLED, "cancelled");
        goto done;
    }
    proj = apollo__malloc((size_t)(g.n_tokens * g.out_dim) * sizeof(float));
    if (!proj) {
        rc = apollo__fail(APOLLO_E_NOMEM, "vision: out of memory for the projected tokens");
        goto done;
    }
    if ((rc = apollo__connector_project(&m->conn, be, fused, g.n_tokens, proj)))
        goto done;
    apollo__free(fused);
    fused = NULL;
    report(hooks, APOLLO__VSTAGE_PROJ, -1, proj, g.n_tokens, g.out_dim);

    if ((rc = apollo__connector_resample(&m->conn, be, proj, g.n_tokens, out,
                                         hooks ? hooks->should_abort : NULL,
                                         hooks ? hooks->user_data : NULL)))
        goto done;
    report(hooks, APOLLO__VSTAGE_OUT, -1, out, g.n_latents, g.out_dim);
done:
    for (int32_t i = 0; i < m->n_towers; i++)
        apollo__free(feat[i]);
    apollo__free(fused);
    apollo__free(proj);
    return rc;
}
