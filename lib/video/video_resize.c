/* The two resize kernels of the reference preprocessing, reproduced in
 * integer arithmetic so that results match bit for bit:
 *   - Pillow's Image.resize(BICUBIC) (libImaging/Resample.c semantics),
 *   - OpenCV's cv2.resize(INTER_LINEAR) for 8-bit images (resize.cpp).
 * Written from the published algorithms; no code was copied. */
#include "video.h"
#include "video_resize_simd.h"

#include "common/alloc.h"
#include "common/status.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

/* Set by tests to compare the SIMD kernels with the scalar ones. */
static _Atomic int simd_disabled;

int apollo__resize_disable_simd(int disable)
{
    return atomic_exchange(&simd_disabled, disable);
}

static int use_avx2(void)
{
#if APOLLO__RESIZE_HAVE_AVX2
    return !atomic_load(&simd_disabled) && __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

/* ---- padding --------------------------------------------------------------------------- */

void apollo__pad_square_rgb(const uint8_t *src, int32_t w, int32_t h, size_t stride,
                            const uint8_t fill[3], uint8_t *dst)
{
    int32_t side = w > h ? w : h;
    int32_t top = (side - h) / 2, left = (side - w) / 2;
    size_t row = (size_t)side * 3;

    /* fill the first row, then copy it to the rows that need filling */
    for (int32_t x = 0; x < side; x++) {
        dst[3 * x + 0] = fill[0];
        dst[3 * x + 1] = fill[1];
        dst[3 * x + 2] = fill[2];
    }
    for (int32_t y = 0; y < side; y++) {
        uint8_t *d = dst + (size_t)y * row;
        if (y > 0)
            memcpy(d, dst, row);
        if (y >= top && y < top + h)
            memcpy(d + (size_t)left * 3, src + (size_t)(y - top) * stride, (size_t)w * 3);
    }
}

/* ---- virtual padded rows ------------------------------------------------------------- */

/* Rows of the centred square canvas without building it: fill rows are
 * one shared buffer, content rows are assembled in a one-row buffer. */
typedef struct pad_rows {
    const uint8_t *src;
    size_t stride;
    int32_t w, h, side, top, left;
    uint8_t *row;  /* side*3: fill, content copied into the middle */
    uint8_t *fill; /* side*3: fill only */
} pad_rows;

static int pad_rows_init(pad_rows *r, const uint8_t *src, int32_t w, int32_t h, size_t stride,
                         const uint8_t fill[3], int pad)
{
    r->src = src;
    r->stride = stride;
    r->w = w;
    r->h = h;
    r->side = pad ? (w > h ? w : h) : w;
    r->top = pad ? (r->side - h) / 2 : 0;
    r->left = pad ? (r->side - w) / 2 : 0;
    r->row = r->fill = NULL;
    if (!pad)
        return APOLLO_OK;
    r->row = apollo__malloc((size_t)r->side * 3);
    r->fill = apollo__malloc((size_t)r->side * 3);
    if (!r->row || !r->fill) {
        apollo__free(r->row);
        apollo__free(r->fill);
        return APOLLO_E_NOMEM;
    }
    for (int32_t x = 0; x < r->side; x++)
        for (int c = 0; c < 3; c++)
            r->row[3 * x + c] = r->fill[3 * x + c] = fill[c];
    return APOLLO_OK;
}

static void pad_rows_free(pad_rows *r)
{
    apollo__free(r->row);
    apollo__free(r->fill);
}

/* Row y of the canvas; *is_fill = 1 for a row of fill colour only.  The
 * pointer is valid until the next call. */
static const uint8_t *pad_row(pad_rows *r, int32_t y, int *is_fill)
{
    if (!r->row) { /* no padding */
        *is_fill = 0;
        return r->src + (size_t)y * r->stride;
    }
    if (y < r->top || y >= r->top + r->h) {
        *is_fill = 1;
        return r->fill;
    }
    *is_fill = 0;
    if (r->w == r->side)
        return r->src + (size_t)(y - r->top) * r->stride;
    memcpy(r->row + (size_t)r->left * 3, r->src + (size_t)(y - r->top) * r->stride, (size_t)r->w * 3);
    return r->row;
}

/* ---- Pillow bicubic ------------------------------------------------------------------ */

#define PIL_PRECISION_BITS (32 - 8 - 2)

static double pil_bicubic(double x)
{
    const double a = -0.5;
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

/* Coefficients for one axis: bounds[2*i] = first input sample, bounds[2*i+1]
 * = count; kk[i*ksize + j] fixed point.  Returns ksize, or 0 on OOM. */
static int32_t pil_coeffs(int32_t in_size, int32_t out_size, int32_t **boundsp, int32_t **kkp)
{
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    int32_t ksize = (int32_t)ceil(support) * 2 + 1;
    int32_t *bounds = apollo__malloc((size_t)out_size * 2 * sizeof *bounds);
    int32_t *kk = apollo__malloc((size_t)out_size * (size_t)ksize * sizeof *kk);
    double *k = apollo__malloc((size_t)ksize * sizeof *k);

    if (!bounds || !kk || !k) {
        apollo__free(bounds);
        apollo__free(kk);
        apollo__free(k);
        return 0;
    }
    for (int32_t xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int32_t xmin = (int32_t)(center - support + 0.5), xmax, x;
        if (xmin < 0)
            xmin = 0;
        xmax = (int32_t)(center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        for (x = 0; x < xmax; x++) {
            double w = pil_bicubic((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0)
                k[x] /= ww;
        for (; x < ksize; x++)
            k[x] = 0;
        for (x = 0; x < ksize; x++) {
            double v = k[x] * (1 << PIL_PRECISION_BITS);
            kk[xx * ksize + x] = (int32_t)(v < 0 ? v - 0.5 : v + 0.5);
        }
        bounds[xx * 2] = xmin;
        bounds[xx * 2 + 1] = xmax;
    }
    apollo__free(k);
    *boundsp = bounds;
    *kkp = kk;
    return ksize;
}

static inline uint8_t pil_clip8(int32_t v)
{
    /* v >> 22 (a floor), clamped to 0..255 */
    if (v < 0)
        return 0;
    v >>= PIL_PRECISION_BITS;
    return (uint8_t)(v > 255 ? 255 : v);
}

static void pil_hrow(const uint8_t *in, const int32_t *hb, const int32_t *hk, int32_t hks,
                     int32_t x0, int32_t x1, uint8_t *out)
{
    for (int32_t xx = x0; xx < x1; xx++) {
        int32_t xmin = hb[xx * 2], xmax = hb[xx * 2 + 1];
        const int32_t *k = hk + (size_t)xx * hks;
        int32_t s0 = 1 << (PIL_PRECISION_BITS - 1), s1 = s0, s2 = s0;
        const uint8_t *p = in + (size_t)xmin * 3;
        for (int32_t x = 0; x < xmax; x++) {
            s0 += p[3 * x + 0] * k[x];
            s1 += p[3 * x + 1] * k[x];
            s2 += p[3 * x + 2] * k[x];
        }
        out[3 * xx + 0] = pil_clip8(s0);
        out[3 * xx + 1] = pil_clip8(s1);
        out[3 * xx + 2] = pil_clip8(s2);
    }
}

/* Horizontal coefficients laid out for apollo__pil_hrow_avx2. */
typedef struct pil_simd {
    int32_t *kexp, n_groups, end;
} pil_simd;

static int pil_simd_init(pil_simd *v, const int32_t *hb, const int32_t *hk, int32_t hks,
                         int32_t sw, int32_t dw)
{
    v->kexp = NULL;
    v->n_groups = 0;
    v->end = 0;
#if APOLLO__RESIZE_HAVE_AVX2
    if (!use_avx2())
        return APOLLO_OK;
    v->n_groups = (hks + 3) / 4;
    v->kexp = apollo__malloc((size_t)dw * (size_t)v->n_groups * 16 * sizeof *v->kexp);
    if (!v->kexp)
        return APOLLO_E_NOMEM;
    for (int32_t xx = 0; xx < dw; xx++)
        for (int32_t j = 0; j < v->n_groups * 4; j++)
            for (int c = 0; c < 4; c++)
                v->kexp[((size_t)xx * v->n_groups * 4 + j) * 4 + c] =
                    j < hks ? hk[(size_t)xx * hks + j] : 0;
    v->end = apollo__pil_hrow_avx2_end(sw, hb, dw);
#else
    (void)hb, (void)hk, (void)hks, (void)sw, (void)dw;
#endif
    return APOLLO_OK;
}

static void pil_hrow_any(const pil_simd *v, const uint8_t *in, const int32_t *hb, const int32_t *hk,
                         int32_t hks, int32_t dw, uint8_t *out)
{
    int32_t x = 0;
#if APOLLO__RESIZE_HAVE_AVX2
    if (v->kexp) {
        apollo__pil_hrow_avx2(in, hb, v->kexp, v->n_groups, 0, v->end, out);
        x = v->end;
    }
#else
    (void)v;
#endif
    pil_hrow(in, hb, hk, hks, x, dw, out);
}

/* Pillow's two-pass resize of the (virtual) canvas r (sw x sh). */
static int pil_resize(pad_rows *r, int32_t sw, int32_t sh, uint8_t *dst, int32_t dw, int32_t dh)
{
    int32_t *hb = NULL, *hk = NULL, *vb = NULL, *vk = NULL;
    int32_t hks = 0, vks, y_first, y_last, rows;
    uint8_t *tmp = NULL, *fill_out = NULL;
    pil_simd simd = {NULL, 0, 0};
    int need_h = sw != dw, need_v = sh != dh, is_fill, avx2 = use_avx2();
    size_t orow = (size_t)dw * 3;

    if (!need_h && !need_v) {
        for (int32_t y = 0; y < dh; y++)
            memcpy(dst + (size_t)y * orow, pad_row(r, y, &is_fill), orow);
        return APOLLO_OK;
    }
    if (need_h && (!(hks = pil_coeffs(sw, dw, &hb, &hk)) || pil_simd_init(&simd, hb, hk, hks, sw, dw)))
        goto oom;
    if (!(vks = pil_coeffs(sh, dh, &vb, &vk)))
        goto oom;
    y_first = vb[0];
    y_last = vb[dh * 2 - 2] + vb[dh * 2 - 1];
    if (!need_v) {
        y_first = 0;
        y_last = sh;
    }
    rows = y_last - y_first;
    /* horizontal pass over the rows the vertical pass reads; rows of fill
     * colour all give the same output row: computed once */
    tmp = apollo__malloc((size_t)rows * (need_h ? orow : (size_t)sw * 3));
    if (!tmp)
        goto oom;
    for (int32_t y = 0; y < rows; y++) {
        const uint8_t *in = pad_row(r, y + y_first, &is_fill);
        uint8_t *out = tmp + (size_t)y * (need_h ? orow : (size_t)sw * 3);
        if (!need_h) {
            memcpy(out, in, (size_t)sw * 3);
        } else if (is_fill) {
            if (!fill_out) {
                pil_hrow_any(&simd, in, hb, hk, hks, dw, out);
                fill_out = out;
            } else {
                memcpy(out, fill_out, orow);
            }
        } else {
            pil_hrow_any(&simd, in, hb, hk, hks, dw, out);
        }
    }
    if (need_v) {
        size_t vstride = need_h ? orow : (size_t)sw * 3;
        int32_t w3 = (need_h ? dw : sw) * 3;
        for (int32_t yy = 0; yy < dh; yy++) {
            int32_t ymin = vb[yy * 2] - y_first, ymax = vb[yy * 2 + 1];
            const int32_t *k = vk + (size_t)yy * vks;
            uint8_t *out = dst + (size_t)yy * orow;
            const uint8_t *base = tmp + (size_t)ymin * vstride;
            int32_t xx = 0;
#if APOLLO__RESIZE_HAVE_AVX2
            if (avx2)
                xx = apollo__pil_vrow_avx2(base, vstride, k, ymax, w3, out);
#else
            (void)avx2;
#endif
            for (; xx < w3; xx++) {
                int32_t acc = 1 << (PIL_PRECISION_BITS - 1);
                const uint8_t *p = base + xx;
                for (int32_t y = 0; y < ymax; y++)
                    acc += p[(size_t)y * vstride] * k[y];
                out[xx] = pil_clip8(acc);
            }
        }
    } else {
        memcpy(dst, tmp, (size_t)dh * orow);
    }
    apollo__free(simd.kexp);
    apollo__free(hb);
    apollo__free(hk);
    apollo__free(vb);
    apollo__free(vk);
    apollo__free(tmp);
    return APOLLO_OK;
oom:
    apollo__free(simd.kexp);
    apollo__free(hb);
    apollo__free(hk);
    apollo__free(vb);
    apollo__free(vk);
    apollo__free(tmp);
    return apollo__fail(APOLLO_E_NOMEM, "out of memory (bicubic resize)");
}

int apollo__resize_pillow_bicubic(const uint8_t *src, int32_t sw, int32_t sh, size_t sstride,
                                  uint8_t *dst, int32_t dw, int32_t dh)
{
    pad_rows r;
    pad_rows_init(&r, src, sw, sh, sstride, NULL, 0);
    return pil_resize(&r, sw, sh, dst, dw, dh);
}

int apollo__resize_pillow_bicubic_padded(const uint8_t *src, int32_t w, int32_t h, size_t stride,
                                         const uint8_t fill[3], uint8_t *dst, int32_t S)
{
    pad_rows r;
    int rc;
    if (pad_rows_init(&r, src, w, h, stride, fill, 1))
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (bicubic resize)");
    rc = pil_resize(&r, r.side, r.side, dst, S, S);
    pad_rows_free(&r);
    return rc;
}

/* ---- OpenCV INTER_LINEAR (8-bit) ----------------------------------------------------- */

#define CV_COEF_BITS 11
#define CV_COEF_SCALE (1 << CV_COEF_BITS)

static inline int16_t cv_round_short(float v)
{
    long r = lrintf(v); /* round half to even, like cvRound */
    return (int16_t)(r < -32768 ? -32768 : r > 32767 ? 32767 : r);
}

static inline uint8_t sat_u8(int32_t v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* OpenCV's exact-2x INTER_AREA fast path: (a + b + c + d + 2) >> 2. */
static int cv_area2x(pad_rows *r, uint8_t *dst, int32_t dw, int32_t dh)
{
    int is_fill;
    uint8_t *r0 = apollo__malloc((size_t)dw * 6);
    if (!r0)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (bilinear resize)");
    for (int32_t y = 0; y < dh; y++) {
        const uint8_t *s1;
        uint8_t *d = dst + (size_t)y * dw * 3;
        memcpy(r0, pad_row(r, 2 * y, &is_fill), (size_t)dw * 6);
        s1 = pad_row(r, 2 * y + 1, &is_fill);
        for (int32_t x = 0; x < dw; x++)
            for (int c = 0; c < 3; c++) {
                int32_t i = 6 * x + c;
                d[3 * x + c] = (uint8_t)((r0[i] + r0[i + 3] + s1[i] + s1[i + 3] + 2) >> 2);
            }
    }
    apollo__free(r0);
    return APOLLO_OK;
}

static int cv_resize(pad_rows *r, int32_t sw, int32_t sh, uint8_t *dst, int32_t dw, int32_t dh)
{
    double inv_sx = (double)dw / sw, inv_sy = (double)dh / sh;
    double scale_x = 1. / inv_sx, scale_y = 1. / inv_sy;
    int32_t width = dw * 3;
    int32_t *xofs = NULL, *rows = NULL;
    int16_t *alpha = NULL;
    int32_t row_a = -1, row_b = -1; /* source rows held in rows[0], rows[1] */
    int is_fill;

    if (sw == dw && sh == dh) {
        for (int32_t y = 0; y < dh; y++)
            memcpy(dst + (size_t)y * dw * 3, pad_row(r, y, &is_fill), (size_t)dw * 3);
        return APOLLO_OK;
    }
    {
        int32_t isx = (int32_t)lrint(scale_x), isy = (int32_t)lrint(scale_y);
        int fast = fabs(scale_x - isx) < 2.220446049250313e-16 &&
                   fabs(scale_y - isy) < 2.220446049250313e-16;
        if (fast && isx == 2 && isy == 2)
            return cv_area2x(r, dst, dw, dh);
    }
    xofs = apollo__malloc((size_t)width * sizeof *xofs);
    alpha = apollo__malloc((size_t)width * 2 * sizeof *alpha);
    rows = apollo__malloc((size_t)width * 2 * sizeof *rows);
    if (!xofs || !alpha || !rows) {
        apollo__free(xofs);
        apollo__free(alpha);
        apollo__free(rows);
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (bilinear resize)");
    }
    for (int32_t dx = 0; dx < dw; dx++) {
        float fx = (float)((dx + 0.5) * scale_x - 0.5);
        int32_t sx = (int32_t)floorf(fx);
        fx -= (float)sx;
        if (sx < 0)
            fx = 0, sx = 0;
        if (sx >= sw - 1)
            fx = 0, sx = sw - 1;
        for (int c = 0; c < 3; c++) {
            int32_t i = dx * 3 + c;
            xofs[i] = sx * 3 + c;
            alpha[2 * i] = cv_round_short((1.f - fx) * CV_COEF_SCALE);
            alpha[2 * i + 1] = cv_round_short(fx * CV_COEF_SCALE);
        }
    }
    for (int32_t dy = 0; dy < dh; dy++) {
        float fy = (float)((dy + 0.5) * scale_y - 0.5);
        int32_t sy = (int32_t)floorf(fy);
        int16_t b0, b1;
        int32_t ry[2];
        uint8_t *d = dst + (size_t)dy * dw * 3;
        fy -= (float)sy;
        b0 = cv_round_short((1.f - fy) * CV_COEF_SCALE);
        b1 = cv_round_short(fy * CV_COEF_SCALE);
        for (int k = 0; k < 2; k++) {
            int32_t y = sy + k;
            ry[k] = y < 0 ? 0 : y >= sh ? sh - 1 : y;
        }
        /* horizontal pass for the two source rows (reused when possible) */
        for (int k = 0; k < 2; k++) {
            int32_t *D = rows + (size_t)k * width;
            const uint8_t *S;
            if ((k == 0 && row_a == ry[0]) || (k == 1 && row_b == ry[1]))
                continue;
            if (k == 0 && row_b == ry[0]) { /* slide the window */
                memcpy(D, rows + width, (size_t)width * sizeof *D);
                row_a = ry[0];
                continue;
            }
            S = pad_row(r, ry[k], &is_fill);
            for (int32_t i = 0; i < width; i++) {
                int32_t sx = xofs[i];
                int32_t a1 = alpha[2 * i + 1];
                D[i] = S[sx] * alpha[2 * i] + (a1 ? S[sx + 3] * a1 : 0);
            }
            if (k == 0)
                row_a = ry[0];
            else
                row_b = ry[1];
        }
        /* vertical pass: OpenCV's SIMD rounding for whole 16/8-lane blocks,
         * the scalar fixed-point cast for the tail */
        {
            const int32_t *S0 = rows, *S1 = rows + width;
            int32_t x = 0, simd_end = (width / 16) * 16;
            while (simd_end < width - 8)
                simd_end += 8;
            for (; x < simd_end; x++) {
                int16_t s0 = (int16_t)(S0[x] >> 4), s1 = (int16_t)(S1[x] >> 4);
                int32_t m = ((s0 * b0) >> 16) + ((s1 * b1) >> 16);
                d[x] = sat_u8((m + 2) >> 2);
            }
            for (; x < width; x++)
                d[x] = sat_u8((S0[x] * b0 + S1[x] * b1 + (1 << 21)) >> 22);
        }
    }
    apollo__free(xofs);
    apollo__free(alpha);
    apollo__free(rows);
    return APOLLO_OK;
}

int apollo__resize_cv_linear(const uint8_t *src, int32_t sw, int32_t sh, size_t sstride,
                             uint8_t *dst, int32_t dw, int32_t dh)
{
    pad_rows r;
    pad_rows_init(&r, src, sw, sh, sstride, NULL, 0);
    return cv_resize(&r, sw, sh, dst, dw, dh);
}

int apollo__resize_cv_linear_padded(const uint8_t *src, int32_t w, int32_t h, size_t stride,
                                    const uint8_t fill[3], uint8_t *dst, int32_t S)
{
    pad_rows r;
    int rc;
    if (pad_rows_init(&r, src, w, h, stride, fill, 1))
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (bilinear resize)");
    rc = cv_resize(&r, r.side, r.side, dst, S, S);
    pad_rows_free(&r);
    return rc;
}
