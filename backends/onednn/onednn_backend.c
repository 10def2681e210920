/* oneDNN backend (C API): matmul with weights packed once into the layout
 * oneDNN's matmul prefers, and primitives made once per weight.
 *
 * Cache.  One entry per (weight data pointer, dtype, N, K, mode), where the
 * mode follows apollo__backend.precision:
 *   f32   PREC_F32 (and the fallback of the others): weights widened exactly
 *         to f32, f32 arithmetic -- within ~1e-6 of a double loop.  Only where
 *         oneDNN has a packed f32 kernel (brgemm, AVX-512): where its f32
 *         matmul is the plain gemm ("gemm:jit", AVX2 machines) it was slower
 *         than the CPU kernels at every M (bench/README.md) at twice the
 *         memory, so f32 products go to the CPU kernels there (f32_on_cpu);
 *   bf16  PREC_BF16 on bf16 weights, where oneDNN runs bf16 natively
 *         (AVX512_BF16/AMX): weights used as they are, activations rounded to
 *         bf16 per call.  Elsewhere oneDNN has no bf16 matmul, or emulates it
 *         (slower than f32): such CPUs compute PREC_BF16 as f32 (logged once);
 *   s8    PREC_INT8: weights quantized once, symmetric, per output row:
 *         s_n = max_k |W[n,k]| / L, q = round(W / s_n), |q| <= L, with L = 127,
 *         or L = 63 where oneDNN's u8*s8 kernels add pairs of products in
 *         saturating 16-bit lanes (AVX2 without VNNI; probed once, see
 *         int8_probe_levels).  Activations are quantized per call and per row:
 *         t_m = max_k |x[m,k]| / 127, p = round(x / t_m) in [-127, 127], passed
 *         as u = p + 128 in u8 (oneDNN's fast int8 source; s8 sources, and
 *         a source zero point, take slower paths on AVX2).  oneDNN computes
 *         A = sum_k u q exactly in int32; with c_n = sum_k q[n,k] (kept from
 *         packing) y = s_n t_m (A - 128 c_n) + bias = s_n t_m sum_k p q + bias.
 *         |error| <= sum_k (|x_k| s_n + |W_k| t_m) / 2 + s_n t_m / 4 per term.
 *   s8 from Q8  APOLLO__DT_Q8 weights (APOLLO_PRECISION_INT8's LLM weights,
 *         quantized at ctx open) once apollo__onednn_set_q8_int8 is on (the
 *         ctx does it for the oneDNN backend + INT8), at any precision: calls
 *         with M >= APOLLO__GEMM_MIN_M (prefill) run the same u8*s8 matmul on
 *         the Q8 rows and scales as they are (row-major, in place where that
 *         is oneDNN's plain layout; no re-quantization), activations
 *         quantized per row as above to [-A, A] with offset Z: A = 127, Z =
 *         128 where the probe finds 255 x 127 pairs exact; else A = 64, Z = 64
 *         (u <= 128: pairs of 128 x 127 stay below 2^15; probed too), and
 *         where neither holds the CPU kernels compute.  The weight is exact
 *         (the Q8 values are the weight), so |error| <= sum_k |W_k| t_m / 2
 *         with t_m = max_k |x[m,k]| / A.  M < 16 (decode) and the switch off
 *         leave Q8 weights to the CPU kernels (f32 activations), as before.
 * The entry holds the packed weight (its layout is the one oneDNN picks with
 * format_tag any for a prefill-sized M; it is used in place, without a
 * copy, when that is the weight's own layout and dtype; for s8, where that
 * layout is plain -- oneDNN's gemm-based int8, AVX2 -- rows are kept
 * row-major, i.e. as an APOLLO__DT_Q8 weight, and calls with M < 16 run the
 * CPU kernels' int8 GEMV on them: activations stay f32 there, well inside
 * the bound below, and decode is ~1.7x faster than oneDNN's) and the primitives:
 * one for M = 1 (decode) and one for any M >= 2 with M given at execution
 * (DNNL_RUNTIME_DIM_VAL), or -- where oneDNN cannot do runtime M with that
 * layout -- primitives for M in {256, 64, 16, 4, 1}, run over row chunks.
 *
 * Memory.  Packed bytes per weight: f32 4 N K, bf16 2 N K (0 in place),
 * s8 N K + 8 N; all entries together are capped by the pack budget (default
 * half the physical memory, apollo__onednn_set_pack_budget); weights beyond
 * it, and any weight dtype other than F32/BF16/F16 (the quantized dtypes of
 * the CPU backend; Q8 but for the "s8 from Q8" case above, which holds 8 N
 * bytes: its scales and row sums), are computed by the CPU kernels in place
 * (apollo__cpu_matmul_isa).  Packing needs a transient buffer of one plain
 * copy only where oneDNN's layout is blocked.  Everything is freed in destroy.
 *
 * Contract: a weight's data must stay unchanged and alive while the backend
 * caches it.  As a guard against reuse of freed memory, each call compares a
 * fingerprint of 16 sampled words of the weight; a mismatch repacks.
 *
 * Threads.  The cache is guarded by one mutex (held only for look-ups; a
 * weight is packed outside it, and concurrent callers of the same weight
 * wait for that packing).  Primitives use a caller-provided scratchpad, so
 * two sessions may execute the same primitive at once.  oneDNN threads with
 * OpenMP: the ctx's n_threads is applied to the calling thread before each
 * execution.  No C++ exception can cross: only oneDNN's C API is used. */
#include "backend.h"
#include "cpu/cpu_kernels.h"
#include "onednn/onednn_hooks.h"

#include "apollo.h"
#include "common/alloc.h"
#include "common/status.h"

#include <cblas.h>
#include <dnnl.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- types ------------------------------------------------------------------------- */

enum { MODE_F32, MODE_BF16, MODE_S8, N_MODES };
static const char *const mode_name[N_MODES] = {"f32", "bf16", "s8"};

enum {
    ST_PACKING,     /* a thread is packing it; others wait on cond */
    ST_READY,       /* packed weight and primitives ready */
    ST_UNSUPPORTED, /* oneDNN cannot run this mode for it: use MODE_F32 */
    ST_CPU          /* computed by the CPU kernels (over budget, no primitive) */
};

/* M of the bucket primitives, largest first; the last must be 1. */
#define N_BUCKETS 5
static const int64_t bucket_m[N_BUCKETS] = {256, 64, 16, 4, 1};
/* M of the primitive whose preferred weight layout is packed. */
#define LAYOUT_M 256
/* Offset of the int8 mode's activations (u = p + 128), and their levels
 * (p in [-127, 127]); Q8 weights may use INT8_Q8_NARROW instead (the header). */
#define INT8_SRC_ZP 128
#define INT8_ACT_LEVELS 127
#define INT8_Q8_NARROW 64
/* Beyond this K the int32 sum of 255 x 127 products could overflow. */
#define INT8_MAX_K 60000

typedef struct mm_prim {
    dnnl_primitive_t prim; /* NULL: not available */
    size_t scratch_bytes;
} mm_prim;

typedef struct wentry {
    /* key */
    const void *data;
    int32_t dtype, mode;
    int64_t N, K;
    uint64_t fingerprint;
    /* value */
    int state;
    dnnl_memory_desc_t wmd; /* the packed layout, dims {K, N} */
    void *wraw;             /* owned allocation behind wptr (NULL in place) */
    void *wptr;             /* what oneDNN reads: packed copy or the weight itself */
    float *wscale;          /* MODE_S8: s_n, [N] */
    int32_t *wsum;          /* MODE_S8: c_n = sum_k q[n,k], [N] */
    int32_t act_levels;     /* MODE_S8: activations p in [-A, A] ... */
    int32_t src_zp;         /* ... passed as u = p + Z */
    size_t bytes;           /* charged to the budget */
    int runtime_m;          /* rt is the M >= 2 primitive */
    int q8_view;            /* MODE_S8 packed row-major [N][K]: an APOLLO__DT_Q8 weight
                               for the CPU kernels' GEMV when M < APOLLO__GEMM_MIN_M */
    mm_prim one, rt, bucket[N_BUCKETS];
    char impl[48];
    char layout[24];
} wentry;

typedef struct onednn_backend {
    apollo__backend base;
    dnnl_engine_t engine;
    int32_t isa; /* the CPU kernels' level, for weights oneDNN does not take */
    int bf16_native;
    int f32_on_cpu; /* oneDNN's f32 matmul is its plain GEMM: f32 on the CPU kernels */
    char f32_impl[48];

    pthread_mutex_t mu;
    pthread_cond_t cond;
    int mu_ok;
    /* everything below is guarded by mu */
    wentry **tab; /* open addressing, NULL = empty, TOMB = removed */
    size_t tab_cap, tab_used, n_entries;
    int64_t budget, packed_bytes, n_packs, n_in_place;
    int32_t int8_levels;
    int32_t q8_act_levels; /* A for Q8 weights: 127, 64, -1 (none), 0 = not probed yet */
    uint32_t logged; /* one bit per one-off note */
    _Atomic int64_t n_cpu_calls, n_q8_calls, n_q8_onednn_calls;
    _Atomic uint32_t debug; /* APOLLO__ONEDNN_* switches */
    _Atomic int q8_int8;    /* Q8 weights' M >= 16 products on oneDNN's int8 */
} onednn_backend;

static wentry tomb_entry;
#define TOMB (&tomb_entry)

/* One-off notes (bits of onednn_backend.logged). */
enum { NOTE_BF16 = 1, NOTE_BF16_PRIM = 2, NOTE_S8_PRIM = 4, NOTE_BUDGET = 8, NOTE_F32_PRIM = 16,
       NOTE_INT8_LEVELS = 32, NOTE_F32_CPU = 64, NOTE_Q8_INT8 = 128, NOTE_Q8_NONE = 256 };

static void note_once(onednn_backend *b, uint32_t bit, int32_t level, const char *fmt, ...)
    APOLLO__PRINTF(4, 5);

static void note_once(onednn_backend *b, uint32_t bit, int32_t level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    int first;
    pthread_mutex_lock(&b->mu);
    first = !(b->logged & bit);
    b->logged |= bit;
    pthread_mutex_unlock(&b->mu);
    if (!first || !b->base.log_fn)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    b->base.log_fn(b->base.log_user_data, level, msg);
}

static int dnnl_fail(dnnl_status_t st, const char *what)
{
    return apollo__fail(st == dnnl_out_of_memory ? APOLLO_E_NOMEM : APOLLO_E_BACKEND,
                        "oneDNN: %s failed (status %d)", what, (int)st);
}

/* ---- small helpers ------------------------------------------------------------------ */

static uint64_t weight_fingerprint(const void *data, size_t bytes)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)bytes;
    if (bytes < 128) {
        for (size_t i = 0; i < bytes; i++)
            h = (h ^ p[i]) * 0x100000001b3ull;
        return h;
    }
    for (size_t i = 0; i < 16; i++) {
        uint64_t v;
        memcpy(&v, p + (bytes - 8) / 15 * i, 8);
        h = (h ^ v) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    return h;
}

static size_t key_hash(const void *data, int32_t dtype, int32_t mode, int64_t N, int64_t K)
{
    uint64_t h = (uint64_t)(uintptr_t)data * 0x9e3779b97f4a7c15ull;
    h ^= ((uint64_t)N << 20) ^ (uint64_t)K ^ ((uint64_t)dtype << 56) ^ ((uint64_t)mode << 60);
    h *= 0xff51afd7ed558ccdull;
    return (size_t)(h ^ (h >> 32));
}

static int is_ref_impl(const char *impl)
{
    return !impl || strstr(impl, "ref") != NULL;
}

static uint16_t f32_to_bf16_rne(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN stays a quiet NaN */
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static void *aligned_buf(size_t bytes, void **raw)
{
    unsigned char *p = apollo__malloc(bytes + 64);
    *raw = p;
    if (!p)
        return NULL;
    return p + (64 - ((uintptr_t)p & 63)) % 64;
}

static size_t dt_size(dnnl_data_type_t dt)
{
    return dt == dnnl_f32 ? 4 : dt == dnnl_bf16 ? 2 : 1;
}

/* ---- primitives ---------------------------------------------------------------------- */

static void mode_types(int mode, dnnl_data_type_t *src, dnnl_data_type_t *wei)
{
    *src = mode == MODE_F32 ? dnnl_f32 : mode == MODE_BF16 ? dnnl_bf16 : dnnl_u8;
    *wei = mode == MODE_F32 ? dnnl_f32 : mode == MODE_BF16 ? dnnl_bf16 : dnnl_s8;
}

/* A matmul primitive descriptor: src [M, K] (M may be DNNL_RUNTIME_DIM_VAL),
 * weights [K, N] in layout wmd (NULL: format_tag any), dst [M, N] f32 (s32
 * for MODE_S8), no attributes but a user scratchpad.
 * Returns NULL when oneDNN has no implementation or only a reference one
 * (impl, if not NULL, gets the name either way). */
static dnnl_primitive_desc_t make_pd(onednn_backend *b, int mode, int64_t M, int64_t K,
                                     int64_t N, const dnnl_memory_desc_t *wmd, char *impl,
                                     size_t impl_cap)
{
    dnnl_data_type_t sdt, wdt;
    dnnl_memory_desc_t smd, amd, dmd;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_dims_t sd = {M, K}, wd = {K, N}, dd = {M, N};
    const char *name = NULL;

    mode_types(mode, &sdt, &wdt);
    if (impl && impl_cap)
        impl[0] = '\0';
    if (dnnl_memory_desc_init_by_tag(&smd, 2, sd, sdt, dnnl_ab) ||
        dnnl_memory_desc_init_by_tag(&dmd, 2, dd, mode == MODE_S8 ? dnnl_s32 : dnnl_f32, dnnl_ab))
        return NULL;
    if (!wmd) {
        if (dnnl_memory_desc_init_by_tag(&amd, 2, wd, wdt, dnnl_format_tag_any))
            return NULL;
        wmd = &amd;
    }
    if (dnnl_matmul_desc_init(&desc, &smd, wmd, NULL, &dmd) ||
        dnnl_primitive_attr_create(&attr))
        return NULL;
    if (dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user))
        goto fail;
    if (dnnl_primitive_desc_create(&pd, &desc, attr, b->engine, NULL) != dnnl_success) {
        pd = NULL;
        goto fail;
    }
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    if (impl && impl_cap)
        snprintf(impl, impl_cap, "%s", name ? name : "?");
    if (is_ref_impl(name)) {
        dnnl_primitive_desc_destroy(pd);
        pd = NULL;
    }
fail:
    dnnl_primitive_attr_destroy(attr);
    return pd;
}

/* Makes the primitive of pd into p (and destroys pd).  0 or a dnnl status. */
static dnnl_status_t make_prim(dnnl_primitive_desc_t pd, mm_prim *p)
{
    const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    dnnl_status_t st;
    p->scratch_bytes = sp ? dnnl_memory_desc_get_size(sp) : 0;
    st = dnnl_primitive_create(&p->prim, pd);
    if (st != dnnl_success)
        p->prim = NULL;
    dnnl_primitive_desc_destroy(pd);
    return st;
}

static void entry_free_resources(wentry *e)
{
    if (e->one.prim)
        dnnl_primitive_destroy(e->one.prim);
    if (e->rt.prim)
        dnnl_primitive_destroy(e->rt.prim);
    for (int i = 0; i < N_BUCKETS; i++)
        if (e->bucket[i].prim)
            dnnl_primitive_destroy(e->bucket[i].prim);
    memset(&e->one, 0, sizeof e->one);
    memset(&e->rt, 0, sizeof e->rt);
    memset(e->bucket, 0, sizeof e->bucket);
    apollo__free(e->wraw);
    apollo__free(e->wscale);
    apollo__free(e->wsum);
    e->wraw = e->wptr = NULL;
    e->wscale = NULL;
    e->wsum = NULL;
}

/* ---- int8 level probe ------------------------------------------------------------------ */

/* Whether u8 x s8 matmuls of sources all u and weights all q (K = 64, M = 1
 * and 48) come out exact: 1, else 0. */
static int int8_probe_exact(onednn_backend *b, unsigned char u, signed char q)
{
    enum { PK = 64, PN = 32 };
    static const int64_t ms[2] = {1, 48};
    int exact = 1;
    dnnl_stream_t stream = NULL;
    unsigned char *xs = apollo__malloc(48 * PK);
    signed char *ws = apollo__malloc(PK * PN);
    int32_t *ys = apollo__malloc(48 * PN * sizeof(int32_t));

    if (!xs || !ws || !ys || dnnl_stream_create(&stream, b->engine, dnnl_stream_default_flags)) {
        exact = 0;
        goto done;
    }
    memset(xs, u, 48 * PK);
    memset(ws, q, PK * PN);
    for (int t = 0; t < 2 && exact; t++) {
        dnnl_memory_desc_t wmd, smd, dmd;
        dnnl_dims_t wd = {PK, PN}, sd = {ms[t], PK}, dd = {ms[t], PN};
        dnnl_memory_t sm = NULL, wm = NULL, dm = NULL;
        mm_prim p = {0};
        dnnl_primitive_desc_t pd;
        dnnl_memory_desc_init_by_tag(&wmd, 2, wd, dnnl_s8, dnnl_ab);
        dnnl_memory_desc_init_by_tag(&smd, 2, sd, dnnl_u8, dnnl_ab);
        dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dnnl_s32, dnnl_ab);
        pd = make_pd(b, MODE_S8, ms[t], PK, PN, &wmd, NULL, 0);
        if (!pd || make_prim(pd, &p) != dnnl_success || p.scratch_bytes) {
            exact = 0; /* cannot tell: stay safe */
        } else if (!dnnl_memory_create(&sm, &smd, b->engine, xs) &&
                   !dnnl_memory_create(&wm, &wmd, b->engine, ws) &&
                   !dnnl_memory_create(&dm, &dmd, b->engine, ys)) {
            dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, sm}, {DNNL_ARG_WEIGHTS, wm},
                                       {DNNL_ARG_DST, dm}};
            omp_set_num_threads(b->base.n_threads);
            if (dnnl_primitive_execute(p.prim, stream, 3, args) || dnnl_stream_wait(stream))
                exact = 0;
            for (int i = 0; i < ms[t] * PN; i++)
                if (ys[i] != (int32_t)u * q * PK)
                    exact = 0;
        } else {
            exact = 0;
        }
        if (sm) dnnl_memory_destroy(sm);
        if (wm) dnnl_memory_destroy(wm);
        if (dm) dnnl_memory_destroy(dm);
        if (p.prim) dnnl_primitive_destroy(p.prim);
    }
done:
    if (stream)
        dnnl_stream_destroy(stream);
    apollo__free(xs);
    apollo__free(ws);
    apollo__free(ys);
    return exact;
}

/* 127 if u8 x s8 products at the extremes (255 x 127, summed in pairs)
 * come out exact, else 63: then |q| <= 63 keeps every pair below 2^15. */
static int32_t int8_probe_levels(onednn_backend *b)
{
    return int8_probe_exact(b, 255, 127) ? 127 : 63;
}

/* The activation levels A (offset: INT8_SRC_ZP for 127, A for the narrow
 * range) for weights that use all of [-127, 127] (Q8): 127 where 255 x 127
 * pairs are exact (weight levels 127), else INT8_Q8_NARROW where u <= 2 A =
 * 128 is (128 x 127 pairs: below 2^15), else -1: none. */
static int32_t int8_probe_q8_act(onednn_backend *b, int32_t levels)
{
    if (levels == 127)
        return 127;
    return int8_probe_exact(b, 2 * INT8_Q8_NARROW, 127) ? INT8_Q8_NARROW : -1;
}

/* b->int8_levels, probed at the first use (noted once unless quiet: the
 * levels of the weights this backend quantizes). */
static int32_t int8_levels(onednn_backend *b, int quiet)
{
    int32_t levels;
    pthread_mutex_lock(&b->mu);
    levels = b->int8_levels;
    pthread_mutex_unlock(&b->mu);
    if (!levels) {
        levels = int8_probe_levels(b);
        pthread_mutex_lock(&b->mu);
        b->int8_levels = levels;
        pthread_mutex_unlock(&b->mu);
    }
    if (!quiet)
        note_once(b, NOTE_INT8_LEVELS, APOLLO_LOG_INFO,
                  "oneDNN int8: weights quantized to [-%d, %d]%s", (int)levels, (int)levels,
                  levels < 127 ? " (this CPU's u8*s8 kernels saturate 16-bit pair sums)" : "");
    return levels;
}

/* b->q8_act_levels, probed at the first use (noted once). */
static int32_t q8_act_levels(onednn_backend *b)
{
    int32_t a;
    pthread_mutex_lock(&b->mu);
    a = b->q8_act_levels;
    pthread_mutex_unlock(&b->mu);
    if (a)
        return a;
    a = int8_probe_q8_act(b, int8_levels(b, 1));
    pthread_mutex_lock(&b->mu);
    b->q8_act_levels = a;
    pthread_mutex_unlock(&b->mu);
    if (a > 0)
        note_once(b, NOTE_Q8_INT8, APOLLO_LOG_INFO,
                  "oneDNN int8: the int8 (Q8) weights' products with M >= %d run on oneDNN's "
                  "u8*s8 matmul, activations quantized per row to [-%d, %d]%s",
                  APOLLO__GEMM_MIN_M, (int)a, (int)a,
                  a < 127 ? " (this CPU's u8*s8 kernels saturate 16-bit pair sums)" : "");
    else
        note_once(b, NOTE_Q8_NONE, APOLLO_LOG_WARN,
                  "oneDNN int8: this CPU's u8*s8 kernels cannot take weights in [-127, 127] "
                  "exactly; the int8 (Q8) weights run on the CPU kernels");
    return a;
}

/* ---- packing ----------------------------------------------------------------------------- */

/* Converts rows [n0, n1) of w into the target dtype of mode and writes
 * element (n, k) at dst + (k * sk + n * sn) * element size.  MODE_S8 also
 * computes the row scales s_n (levels L) and sums c_n.  Rows go through a
 * float32 staging buffer of PACK_ROWS rows. */
#define PACK_ROWS 32

typedef struct pack_job {
    const apollo__tensor *w;
    int mode;
    int32_t levels;
    void *dst;
    int64_t sk, sn;
    float *scale;   /* MODE_S8: s_n */
    int32_t *colsum; /* MODE_S8: c_n */
    _Atomic int failed;
} pack_job;

static void pack_rows(pack_job *j, int64_t n0, int64_t n1)
{
    const int64_t K = j->w->shape[1];
    float *tmp;
    if (j->mode == MODE_BF16) { /* bf16 -> bf16: copy the bits */
        const unsigned char *src = j->w->data;
        uint16_t *d = j->dst;
        for (int64_t n = n0; n < n1; n++)
            for (int64_t k = 0; k < K; k++) {
                uint16_t v;
                memcpy(&v, src + (size_t)(n * K + k) * 2, 2);
                d[k * j->sk + n * j->sn] = v;
            }
        return;
    }
    tmp = apollo__malloc((size_t)((n1 - n0) * K) * sizeof(float));
    if (!tmp) {
        j->failed = 1;
        return;
    }
    apollo__to_f32(j->w->dtype, apollo__tensor_row(j->w, n0), tmp, (size_t)((n1 - n0) * K));
    if (j->mode == MODE_F32) {
        float *d = j->dst;
        /* k outer: each k writes n1 - n0 neighbours when the layout is [K][N] */
        for (int64_t k = 0; k < K; k++)
            for (int64_t n = n0; n < n1; n++)
                d[k * j->sk + n * j->sn] = tmp[(n - n0) * K + k];
    } else { /* quantize in place of the staging rows, then scatter */
        signed char *d = j->dst, *qs = (signed char *)tmp;
        const float L = (float)j->levels;
        for (int64_t n = n0; n < n1; n++) {
            const float *r = tmp + (n - n0) * K;
            signed char *qr = qs + (n - n0) * K; /* never ahead of r */
            float amax = 0, inv;
            int32_t sum = 0;
            for (int64_t k = 0; k < K; k++)
                amax = fmaxf(amax, fabsf(r[k]));
            j->scale[n] = amax / L;
            inv = amax > 0 ? L / amax : 0.0f;
            for (int64_t k = 0; k < K; k++) {
                long q = lrintf(r[k] * inv);
                q = q > j->levels ? j->levels : q < -j->levels ? -j->levels : q;
                qr[k] = (signed char)q;
                sum += (int32_t)q;
            }
            j->colsum[n] = sum;
        }
        for (int64_t k = 0; k < K; k++)
            for (int64_t n = n0; n < n1; n++)
                d[k * j->sk + n * j->sn] = qs[(n - n0) * K + k];
    }
    apollo__free(tmp);
}

static void pack_task(void *vp, int64_t t)
{
    pack_job *j = vp;
    const int64_t N = j->w->shape[0];
    int64_t n0 = t * PACK_ROWS, n1 = n0 + PACK_ROWS < N ? n0 + PACK_ROWS : N;
    if (!j->failed)
        pack_rows(j, n0, n1);
}

/* Plain layout of wmd: its strides for dims {K, N}.  0 if blocked. */
static int plain_strides(const dnnl_memory_desc_t *md, int64_t *sk, int64_t *sn)
{
    if (md->format_kind != dnnl_blocked || md->format_desc.blocking.inner_nblks != 0 ||
        md->extra.flags != 0)
        return 0;
    *sk = md->format_desc.blocking.strides[0];
    *sn = md->format_desc.blocking.strides[1];
    return 1;
}

/* Reorders src (plain [K, N] view with strides sk, sn) into the packed
 * layout e->wmd at e->wptr. */
static int reorder_into(onednn_backend *b, wentry *e, dnnl_data_type_t wdt, void *src,
                        int64_t sk, int64_t sn)
{
    dnnl_memory_desc_t smd;
    dnnl_dims_t wd = {e->K, e->N}, st = {sk, sn};
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t r = NULL;
    dnnl_memory_t sm = NULL, dm = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_status_t s;
    int rc = APOLLO_OK;

    if ((s = dnnl_memory_desc_init_by_strides(&smd, 2, wd, wdt, st)) ||
        (s = dnnl_reorder_primitive_desc_create(&rpd, &smd, b->engine, &e->wmd, b->engine,
                                                NULL)) ||
        (s = dnnl_primitive_create(&r, rpd)) ||
        (s = dnnl_stream_create(&stream, b->engine, dnnl_stream_default_flags)) ||
        (s = dnnl_memory_create(&sm, &smd, b->engine, src)) ||
        (s = dnnl_memory_create(&dm, &e->wmd, b->engine, e->wptr))) {
        rc = dnnl_fail(s, "weight reorder");
    } else {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, sm}, {DNNL_ARG_TO, dm}};
        omp_set_num_threads(b->base.n_threads);
        if ((s = dnnl_primitive_execute(r, stream, 2, args)) || (s = dnnl_stream_wait(stream)))
            rc = dnnl_fail(s, "weight reorder");
    }
    if (sm) dnnl_memory_destroy(sm);
    if (dm) dnnl_memory_destroy(dm);
    if (stream) dnnl_stream_destroy(stream);
    if (r) dnnl_primitive_destroy(r);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    return rc;
}

/* Fills the allocated e->wptr in layout e->wmd (and e->wscale for s8).
 * Fails with APOLLO_E_NOMEM, or APOLLO_E_BACKEND if oneDNN cannot reorder. */
static int pack_weight(onednn_backend *b, wentry *e, const apollo__tensor *w, int32_t levels,
                       uint32_t debug)
{
    dnnl_data_type_t sdt, wdt;
    size_t plain;
    int64_t sk = 0, sn = 0;
    int rc = APOLLO_OK, plain_target;
    pack_job j = {w, e->mode, levels, NULL, 0, 0, e->wscale, e->wsum, 0};

    mode_types(e->mode, &sdt, &wdt);
    if (w->dtype == APOLLO__DT_Q8) /* already s8 rows: oneDNN's reorder into wmd */
        return reorder_into(b, e, dnnl_s8, (void *)w->data, 1, e->K);
    plain = (size_t)e->N * (size_t)e->K * dt_size(wdt);
    plain_target = plain_strides(&e->wmd, &sk, &sn) &&
                   dnnl_memory_desc_get_size(&e->wmd) == plain &&
                   !(debug & APOLLO__ONEDNN_FORCE_REORDER);
    if (plain_target) { /* convert straight into the packed buffer */
        j.dst = e->wptr;
        j.sk = sk;
        j.sn = sn;
        apollo__pool_for(b->base.pool, (e->N + PACK_ROWS - 1) / PACK_ROWS, pack_task, &j);
        return j.failed ? apollo__fail(APOLLO_E_NOMEM, "oneDNN: out of memory packing a weight")
                        : APOLLO_OK;
    }
    /* blocked layout: the weight as a plain [N, K] in the target dtype (a
     * transient copy unless it already is one), then oneDNN's reorder */
    if (e->mode == MODE_BF16 && (uintptr_t)w->data % 2 == 0)
        return reorder_into(b, e, wdt, (void *)w->data, 1, e->K);
    {
        void *raw, *tmp = aligned_buf(plain, &raw);
        if (!tmp)
            return apollo__fail(APOLLO_E_NOMEM, "oneDNN: out of memory packing a weight");
        j.dst = tmp;
        j.sk = 1;
        j.sn = e->K;
        apollo__pool_for(b->base.pool, (e->N + PACK_ROWS - 1) / PACK_ROWS, pack_task, &j);
        if (j.failed)
            rc = apollo__fail(APOLLO_E_NOMEM, "oneDNN: out of memory packing a weight");
        else
            rc = reorder_into(b, e, wdt, tmp, 1, e->K);
        apollo__free(raw);
    }
    return rc;
}

/* A Q8 weight's scales (copied) and row sums c_n, rows in parallel. */
typedef struct q8_sum_job {
    const apollo__tensor *w;
    wentry *e;
} q8_sum_job;

/* sum_k q[k]: 8 bytes at a time (q + 128 as unsigned bytes, added in 16-bit
 * lanes: 128 words of 4 x 510 stay below 2^16), the tail one by one. */
static int32_t q8_row_sum(const signed char *q, int64_t K)
{
    const uint64_t lo = 0x00ff00ff00ff00ffull;
    int64_t k = 0, sum = 0;
    while (K - k >= 8) {
        uint64_t acc = 0;
        int64_t n = (K - k) / 8 < 128 ? (K - k) / 8 : 128;
        for (int64_t i = 0; i < n; i++, k += 8) {
            uint64_t v;
            memcpy(&v, q + k, 8);
            v ^= 0x8080808080808080ull; /* q + 128 */
            acc += (v & lo) + ((v >> 8) & lo);
        }
        acc = (acc & 0x0000ffff0000ffffull) + ((acc >> 16) & 0x0000ffff0000ffffull);
        sum += (int64_t)((acc & 0xffffffffull) + (acc >> 32)) - 128 * 8 * n;
    }
    for (; k < K; k++)
        sum += q[k];
    return (int32_t)sum;
}

static void q8_sum_task(void *vp, int64_t t)
{
    const q8_sum_job *j = vp;
    const int64_t K = j->e->K, n0 = t * PACK_ROWS;
    const int64_t n1 = n0 + PACK_ROWS < j->e->N ? n0 + PACK_ROWS : j->e->N;
    for (int64_t n = n0; n < n1; n++) {
        j->e->wsum[n] = q8_row_sum((const signed char *)j->w->data + n * K, K);
        j->e->wscale[n] = j->w->scale[n];
    }
}

/* Decides the layout, makes the primitives and packs the weight of a new
 * entry (in state ST_PACKING; not under the mutex).  *state gets the final
 * state, which the caller publishes under the mutex; returns an error only
 * for out-of-memory (then the entry is dropped and a later call retries). */
static int build_entry(onednn_backend *b, wentry *e, const apollo__tensor *w, int *state)
{
    const int64_t N = e->N, K = e->K;
    dnnl_primitive_desc_t pd_big, pd;
    dnnl_data_type_t sdt, wdt;
    int32_t levels = 0;
    size_t need;
    int in_place, rc;
    char impl[48];
    uint32_t debug;
    int64_t sk, sn;

    mode_types(e->mode, &sdt, &wdt);
    *state = ST_UNSUPPORTED;
    debug = atomic_load(&b->debug);
    e->act_levels = INT8_ACT_LEVELS;
    e->src_zp = INT8_SRC_ZP;
    if (w->dtype == APOLLO__DT_Q8) { /* weights in [-127, 127]: the probe decides A */
        int32_t a = q8_act_levels(b);
        if (a < 0) {
            snprintf(e->impl, sizeof e->impl, "cpu-kernels (u8*s8 saturates at |q| 127)");
            return APOLLO_OK; /* ST_UNSUPPORTED */
        }
        e->act_levels = a;
        e->src_zp = a == 127 ? INT8_SRC_ZP : a;
    }

    /* 1. the layout oneDNN prefers for a prefill-sized M */
    pd_big = make_pd(b, e->mode, LAYOUT_M, K, N, NULL, impl, sizeof impl);
    snprintf(e->impl, sizeof e->impl, "%s", impl);
    if (!pd_big)
        return APOLLO_OK; /* ST_UNSUPPORTED */
    e->wmd = *dnnl_primitive_desc_query_md(pd_big, dnnl_query_weights_md, 0);
    if (e->mode == MODE_S8 && plain_strides(&e->wmd, &sk, &sn) &&
        !(debug & APOLLO__ONEDNN_NO_Q8_VIEW)) {
        /* oneDNN's int8 matmul is its plain gemm here (no packed layout of
         * its own; AVX2): keep the s8 rows row-major instead, which is the
         * CPU kernels' APOLLO__DT_Q8, so that M < 16 runs their int8 GEMV
         * (~1.7x oneDNN's at M = 1, bench/README.md) on the same bytes; the
         * gemm reads that layout about as fast. */
        dnnl_memory_desc_t rm;
        dnnl_dims_t wd = {K, N}, st = {1, K};
        if (!dnnl_memory_desc_init_by_strides(&rm, 2, wd, dnnl_s8, st) &&
            (pd = make_pd(b, e->mode, LAYOUT_M, K, N, &rm, impl, sizeof impl))) {
            dnnl_primitive_desc_destroy(pd_big);
            pd_big = pd;
            e->wmd = rm;
            e->q8_view = 1;
        }
    }
    if (plain_strides(&e->wmd, &sk, &sn))
        snprintf(e->layout, sizeof e->layout, "plain-%s",
                 sk == N && sn == 1 ? "ab" : sk == 1 && sn == K ? "ba" : "strided");
    else
        snprintf(e->layout, sizeof e->layout, "blocked");

    /* 2. in place (the weight already is in that layout and dtype), or a
     *    packed copy charged to the budget */
    {
        dnnl_memory_desc_t own;
        dnnl_dims_t wd = {K, N}, st = {1, K};
        in_place = e->mode != MODE_S8 && !(debug & APOLLO__ONEDNN_FORCE_REORDER) &&
                   ((e->mode == MODE_F32 && w->dtype == APOLLO__DT_F32) ||
                    (e->mode == MODE_BF16 && w->dtype == APOLLO__DT_BF16)) &&
                   (uintptr_t)w->data % dt_size(wdt) == 0 &&
                   !dnnl_memory_desc_init_by_strides(&own, 2, wd, wdt, st) &&
                   dnnl_memory_desc_equal(&own, &e->wmd);
        if (w->dtype == APOLLO__DT_Q8) /* the Q8 rows themselves, where wmd is row-major */
            in_place = e->q8_view && !(debug & APOLLO__ONEDNN_FORCE_REORDER);
    }
    need = (in_place ? 0 : dnnl_memory_desc_get_size(&e->wmd)) +
           (e->mode == MODE_S8 ? (size_t)N * (sizeof(float) + sizeof(int32_t)) : 0);
    pthread_mutex_lock(&b->mu);
    if (b->packed_bytes + (int64_t)need > b->budget) {
        pthread_mutex_unlock(&b->mu);
        dnnl_primitive_desc_destroy(pd_big);
        *state = ST_CPU;
        snprintf(e->impl, sizeof e->impl, "cpu-kernels (over the pack budget)");
        note_once(b, NOTE_BUDGET, APOLLO_LOG_WARN,
                  "oneDNN: pack budget of %.0f MB reached; further weights run on the CPU "
                  "kernels in place",
                  (double)b->budget / 1048576.0);
        return APOLLO_OK;
    }
    b->packed_bytes += (int64_t)need;
    pthread_mutex_unlock(&b->mu);
    e->bytes = need;

    /* 3. primitives: any M >= 2 given at run time (else M buckets), and M = 1 */
    if (!(debug & APOLLO__ONEDNN_FORCE_BUCKETS) &&
        (pd = make_pd(b, e->mode, DNNL_RUNTIME_DIM_VAL, K, N, &e->wmd, NULL, 0)))
        e->runtime_m = make_prim(pd, &e->rt) == dnnl_success;
    if (!e->runtime_m) {
        for (int i = 0; i < N_BUCKETS - 1; i++) { /* the M = 1 bucket is e->one */
            if (bucket_m[i] == LAYOUT_M) {
                make_prim(pd_big, &e->bucket[i]);
                pd_big = NULL;
            } else if ((pd = make_pd(b, e->mode, bucket_m[i], K, N, &e->wmd, NULL, 0))) {
                make_prim(pd, &e->bucket[i]);
            }
        }
    }
    if (pd_big)
        dnnl_primitive_desc_destroy(pd_big);
    if ((pd = make_pd(b, e->mode, 1, K, N, &e->wmd, NULL, 0)))
        make_prim(pd, &e->one);
    rc = APOLLO_OK;
    if (!e->runtime_m && !e->one.prim) { /* some M would not be covered */
        entry_free_resources(e);
        pthread_mutex_lock(&b->mu);
        b->packed_bytes -= (int64_t)e->bytes;
        pthread_mutex_unlock(&b->mu);
        e->bytes = 0;
        return APOLLO_OK; /* ST_UNSUPPORTED */
    }

    /* 4. the weight itself (and, for s8, its row scales) */
    if (e->mode == MODE_S8) {
        if (w->dtype != APOLLO__DT_Q8)
            levels = int8_levels(b, 0);
        e->wscale = apollo__malloc((size_t)N * sizeof(float));
        e->wsum = apollo__malloc((size_t)N * sizeof(int32_t));
        if (!e->wscale || !e->wsum) {
            rc = apollo__fail(APOLLO_E_NOMEM, "oneDNN: out of memory for int8 scales");
        } else if (w->dtype == APOLLO__DT_Q8) { /* the Q8 scales as they are */
            q8_sum_job j = {w, e};
            apollo__pool_for(b->base.pool, (N + PACK_ROWS - 1) / PACK_ROWS, q8_sum_task, &j);
        }
    }
    if (!rc && in_place) {
        e->wptr = (void *)w->data;
    } else if (!rc) {
        e->wptr = aligned_buf(dnnl_memory_desc_get_size(&e->wmd), &e->wraw);
        rc = e->wptr ? pack_weight(b, e, w, levels, debug)
                     : apollo__fail(APOLLO_E_NOMEM, "oneDNN: out of memory for a packed weight");
    }
    if (rc == APOLLO_E_BACKEND) { /* no reorder into that layout: not this mode */
        snprintf(e->impl, sizeof e->impl, "reorder: %.38s", apollo__errmsg());
        apollo__clear_error();
        pthread_mutex_lock(&b->mu);
        b->packed_bytes -= (int64_t)e->bytes;
        pthread_mutex_unlock(&b->mu);
        entry_free_resources(e);
        e->bytes = 0;
        return APOLLO_OK; /* ST_UNSUPPORTED */
    }
    pthread_mutex_lock(&b->mu);
    if (rc)
        b->packed_bytes -= (int64_t)e->bytes;
    else if (in_place)
        b->n_in_place++;
    else
        b->n_packs++;
    pthread_mutex_unlock(&b->mu);
    if (rc) {
        entry_free_resources(e);
        e->bytes = 0;
        return rc;
    }
    *state = ST_READY;
    return APOLLO_OK;
}

/* ---- the cache ------------------------------------------------------------------------------ */

/* Under mu.  Finds the slot of key, or the first free slot for it. */
static size_t tab_find(onednn_backend *b, const void *data, int32_t dtype, int32_t mode, int64_t N,
                       int64_t K, int *found)
{
    size_t mask = b->tab_cap - 1, i, free_slot = SIZE_MAX;
    *found = 0;
    if (!b->tab_cap)
        return SIZE_MAX;
    i = key_hash(data, dtype, mode, N, K) & mask;
    for (;; i = (i + 1) & mask) {
        wentry *e = b->tab[i];
        if (!e)
            return free_slot != SIZE_MAX ? free_slot : i;
        if (e == TOMB) {
            if (free_slot == SIZE_MAX)
                free_slot = i;
            continue;
        }
        if (e->data == data && e->dtype == dtype && e->mode == mode && e->N == N && e->K == K) {
            *found = 1;
            return i;
        }
    }
}

/* Under mu.  Keeps the load (entries + tombstones) below one half. */
static int tab_grow(onednn_backend *b)
{
    size_t cap = b->tab_cap ? b->tab_cap : 64;
    wentry **old = b->tab, **nt;
    size_t old_cap = b->tab_cap;
    if (b->tab && (b->tab_used + 1) * 2 <= b->tab_cap)
        return APOLLO_OK;
    while ((b->n_entries + 1) * 4 > cap)
        cap *= 2;
    nt = apollo__calloc(cap, sizeof *nt);
    if (!nt)
        return apollo__fail(APOLLO_E_NOMEM, "oneDNN: out of memory for the weight cache");
    b->tab = nt;
    b->tab_cap = cap;
    b->tab_used = 0;
    for (size_t i = 0; i < old_cap; i++) {
        wentry *e = old[i];
        int found;
        if (e && e != TOMB) {
            b->tab[tab_find(b, e->data, e->dtype, e->mode, e->N, e->K, &found)] = e;
            b->tab_used++;
        }
    }
    apollo__free(old);
    return APOLLO_OK;
}

/* The ready (or unsupported / CPU) entry for (w, mode), packing it when new. */
static int cache_get(onednn_backend *b, const apollo__tensor *w, int mode, wentry **out)
{
    const int64_t N = w->shape[0], K = w->shape[1];
    const uint64_t fp = weight_fingerprint(w->data, (size_t)(N * K) * apollo__dtype_size(w->dtype));
    wentry *e;
    size_t slot;
    int found, rc, state = ST_UNSUPPORTED;

    pthread_mutex_lock(&b->mu);
    for (;;) {
        slot = tab_find(b, w->data, (int32_t)w->dtype, mode, N, K, &found);
        if (!found)
            break;
        e = b->tab[slot];
        if (e->state == ST_PACKING) {
            pthread_cond_wait(&b->cond, &b->mu);
            continue;
        }
        if (e->fingerprint == fp) {
            pthread_mutex_unlock(&b->mu);
            *out = e;
            return APOLLO_OK;
        }
        /* the memory now holds another weight (the old one was freed) */
        b->tab[slot] = TOMB;
        b->n_entries--;
        b->packed_bytes -= (int64_t)e->bytes;
        entry_free_resources(e);
        apollo__free(e);
    }
    if ((rc = tab_grow(b))) {
        pthread_mutex_unlock(&b->mu);
        return rc;
    }
    e = apollo__calloc(1, sizeof *e);
    if (!e) {
        pthread_mutex_unlock(&b->mu);
        return apollo__fail(APOLLO_E_NOMEM, "oneDNN: out of memory for the weight cache");
    }
    e->data = w->data;
    e->dtype = (int32_t)w->dtype;
    e->mode = mode;
    e->N = N;
    e->K = K;
    e->fingerprint = fp;
    e->state = ST_PACKING;
    slot = tab_find(b, w->data, (int32_t)w->dtype, mode, N, K, &found);
    if (!b->tab[slot])
        b->tab_used++;
    b->tab[slot] = e;
    b->n_entries++;
    pthread_mutex_unlock(&b->mu);

    rc = build_entry(b, e, w, &state);

    pthread_mutex_lock(&b->mu);
    e->state = state;
    if (rc) { /* out of memory: forget it, a later call retries */
        slot = tab_find(b, w->data, (int32_t)w->dtype, mode, N, K, &found);
        b->tab[slot] = TOMB;
        b->n_entries--;
        entry_free_resources(e);
        apollo__free(e);
        e = NULL;
    }
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->mu);
    *out = e;
    return rc;
}

static void cache_clear(onednn_backend *b)
{
    for (size_t i = 0; i < b->tab_cap; i++) {
        wentry *e = b->tab[i];
        if (e && e != TOMB) {
            entry_free_resources(e);
            apollo__free(e);
        }
    }
    apollo__free(b->tab);
    b->tab = NULL;
    b->tab_cap = b->tab_used = b->n_entries = 0;
    b->packed_bytes = 0;
}

/* ---- execution --------------------------------------------------------------------------- */

/* Runs primitive p on rows [m0, m0 + M) (src already in the mode's dtype;
 * MODE_S8 writes int32 sums into y's memory). */
static int run_prim(onednn_backend *b, const mm_prim *p, dnnl_stream_t stream, wentry *e,
                    const void *src, size_t src_row_bytes, dnnl_data_type_t sdt, int64_t m0,
                    int64_t M, float *y)
{
    dnnl_memory_desc_t smd, dmd, pmd;
    dnnl_dims_t sd = {M, e->K}, dd = {M, e->N}, pd1 = {(int64_t)p->scratch_bytes};
    dnnl_memory_t sm = NULL, wm = NULL, dm = NULL, pm = NULL;
    dnnl_exec_arg_t args[4];
    void *scratch = NULL;
    dnnl_status_t s;
    int rc = APOLLO_OK, na = 3;

    if (p->scratch_bytes && !(scratch = apollo__malloc(p->scratch_bytes)))
        return apollo__fail(APOLLO_E_NOMEM, "oneDNN: out of memory for a scratchpad");
    if ((s = dnnl_memory_desc_init_by_tag(&smd, 2, sd, sdt, dnnl_ab)) ||
        (s = dnnl_memory_desc_init_by_tag(&dmd, 2, dd, e->mode == MODE_S8 ? dnnl_s32 : dnnl_f32,
                                          dnnl_ab)) ||
        (s = dnnl_memory_create(&sm, &smd, b->engine,
                                (void *)((const unsigned char *)src + (size_t)m0 * src_row_bytes))) ||
        (s = dnnl_memory_create(&wm, &e->wmd, b->engine, e->wptr)) ||
        (s = dnnl_memory_create(&dm, &dmd, b->engine, y + m0 * e->N)) ||
        (p->scratch_bytes &&
         ((s = dnnl_memory_desc_init_by_tag(&pmd, 1, pd1, dnnl_u8, dnnl_a)) ||
          (s = dnnl_memory_create(&pm, &pmd, b->engine, scratch))))) {
        rc = dnnl_fail(s, "matmul arguments");
    } else {
        args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, sm};
        args[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, wm};
        args[2] = (dnnl_exec_arg_t){DNNL_ARG_DST, dm};
        if (pm)
            args[na++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, pm};
        if ((s = dnnl_primitive_execute(p->prim, stream, na, args)) ||
            (s = dnnl_stream_wait(stream)))
            rc = dnnl_fail(s, "matmul");
    }
    if (sm) dnnl_memory_destroy(sm);
    if (wm) dnnl_memory_destroy(wm);
    if (dm) dnnl_memory_destroy(dm);
    if (pm) dnnl_memory_destroy(pm);
    apollo__free(scratch);
    return rc;
}

/* Whether the entry's primitives cover M rows. */
static const mm_prim *bucket_prim(const wentry *e, int i)
{
    return bucket_m[i] == 1 ? &e->one : &e->bucket[i];
}

static int covers(const wentry *e, int64_t M)
{
    if ((M == 1 && e->one.prim) || e->runtime_m)
        return 1;
    for (int i = 0; i < N_BUCKETS; i++) /* greedy over the buckets present */
        if (bucket_prim(e, i)->prim)
            M %= bucket_m[i];
    return M == 0;
}

static int run_entry(onednn_backend *b, wentry *e, const void *src, size_t src_row_bytes,
                     dnnl_data_type_t sdt, int64_t M, float *y)
{
    dnnl_stream_t stream;
    dnnl_status_t s;
    int rc = APOLLO_OK;

    if ((s = dnnl_stream_create(&stream, b->engine, dnnl_stream_default_flags)))
        return dnnl_fail(s, "stream");
    omp_set_num_threads(b->base.n_threads);
    if (M == 1 && e->one.prim) {
        rc = run_prim(b, &e->one, stream, e, src, src_row_bytes, sdt, 0, 1, y);
    } else if (e->runtime_m) {
        rc = run_prim(b, &e->rt, stream, e, src, src_row_bytes, sdt, 0, M, y);
    } else {
        int64_t m0 = 0;
        for (int i = 0; i < N_BUCKETS && !rc; i++)
            while (bucket_prim(e, i)->prim && M - m0 >= bucket_m[i] && !rc) {
                rc = run_prim(b, bucket_prim(e, i), stream, e, src, src_row_bytes, sdt, m0,
                              bucket_m[i], y);
                m0 += bucket_m[i];
            }
    }
    dnnl_stream_destroy(stream);
    return rc;
}

/* Activations in the mode's source dtype, rows in parallel. */
typedef struct src_job {
    const float *x;
    int64_t M, K, rows_per_task;
    int mode;
    int32_t levels, zp; /* MODE_S8: p in [-levels, levels], u = p + zp */
    void *dst;
    float *row_scale; /* MODE_S8: t_m */
} src_job;

static void src_task(void *vp, int64_t t)
{
    src_job *j = vp;
    int64_t m0 = t * j->rows_per_task, m1 = m0 + j->rows_per_task < j->M ? m0 + j->rows_per_task : j->M;
    for (int64_t m = m0; m < m1; m++) {
        const float *r = j->x + m * j->K;
        if (j->mode == MODE_BF16) {
            uint16_t *d = (uint16_t *)j->dst + m * j->K;
            for (int64_t k = 0; k < j->K; k++)
                d[k] = f32_to_bf16_rne(r[k]);
        } else {
            unsigned char *d = (unsigned char *)j->dst + m * j->K;
            const float L = (float)j->levels;
            float amax = 0, inv;
            /* no libm calls (fmaxf, lrintf): this runs over every prefill
             * activation; same results (NaN ignored by the max, then -L) */
            for (int64_t k = 0; k < j->K; k++) {
                float a = fabsf(r[k]);
                amax = a > amax ? a : amax;
            }
            j->row_scale[m] = amax / L;
            inv = amax > 0 ? L / amax : 0.0f;
            for (int64_t k = 0; k < j->K; k++) {
                float v = r[k] * inv;
                v = v > L ? L : v;
                v = v >= -L ? v : -L;
                /* round to nearest even: exact for |v| < 2^22 */
                v = (v + 12582912.0f) - 12582912.0f;
                d[k] = (unsigned char)((int32_t)v + j->zp);
            }
        }
    }
}

/* Rows in parallel: MODE_S8 turns the int32 sums A in y's memory into
 * y = s_n t_m (A - Z c_n) + bias (Z = 128, or 64: src_zp); the others add
 * the bias. */
typedef struct post_job {
    float *y;
    const float *row_scale, *bias; /* row_scale: t_m, MODE_S8 only */
    const float *wscale;           /* s_n */
    const int32_t *wsum;           /* c_n */
    int32_t zp;                    /* the activations' offset */
    int64_t M, N, rows_per_task;
} post_job;

static void post_task(void *vp, int64_t t)
{
    post_job *j = vp;
    int64_t m0 = t * j->rows_per_task, m1 = m0 + j->rows_per_task < j->M ? m0 + j->rows_per_task : j->M;
    for (int64_t m = m0; m < m1; m++) {
        float *r = j->y + m * j->N;
        if (j->row_scale) {
            const float tm = j->row_scale[m];
            for (int64_t n = 0; n < j->N; n++) {
                int32_t a;
                float v;
                memcpy(&a, r + n, sizeof a);
                /* exact: |A| and 128 |c_n| are below 2^31 for K <= INT8_MAX_K */
                v = (float)(a - j->zp * j->wsum[n]) * (j->wscale[n] * tm);
                r[n] = j->bias ? v + j->bias[n] : v;
            }
        } else {
            for (int64_t n = 0; n < j->N; n++)
                r[n] += j->bias[n];
        }
    }
}

/* Parallel over rows when there is enough work to pay for the dispatch. */
static void for_rows(onednn_backend *b, int64_t M, int64_t row_elems, int64_t *rows_per_task,
                     apollo__task_fn fn, void *job)
{
    if (M * row_elems < 65536 || b->base.n_threads < 2) {
        *rows_per_task = M;
        fn(job, 0);
        return;
    }
    *rows_per_task = (M + 4 * b->base.n_threads - 1) / (4 * b->base.n_threads);
    apollo__pool_for(b->base.pool, (M + *rows_per_task - 1) / *rows_per_task, fn, job);
}

static int onednn_matmul(apollo__backend *be, const float *x, int64_t M, int64_t K,
                         const apollo__tensor *w, const float *bias, float *y)
{
    onednn_backend *b = (onednn_backend *)be;
    const int64_t N = w->shape[0];
    wentry *e = NULL;
    int mode, rc;
    void *conv = NULL;
    float *row_scale = NULL;
    const void *src = x;
    size_t src_row_bytes = (size_t)K * sizeof(float);
    dnnl_data_type_t sdt = dnnl_f32, wdt;

    if (w->n_dims != 2 || w->shape[1] != K)
        return apollo__fail(APOLLO_E_INVALID_ARG, "matmul: weight shape does not match K=%lld",
                            (long long)K);
    if (M <= 0)
        return APOLLO_OK;
    if (w->dtype == APOLLO__DT_Q8) {
        /* APOLLO_PRECISION_INT8's weights: prefill-sized M on oneDNN's int8
         * matmul, from the Q8 rows and scales, once the ctx turned it on;
         * decode (M < 16) stays on the CPU kernels' Q8 GEMV */
        if (!atomic_load(&b->q8_int8) || M < APOLLO__GEMM_MIN_M || K <= 0 || N <= 0 ||
            K > INT8_MAX_K || !w->scale)
            goto cpu;
        if ((rc = cache_get(b, w, MODE_S8, &e)))
            return rc;
        if (e->state != ST_READY || !covers(e, M)) {
            if (e->state == ST_UNSUPPORTED)
                note_once(b, NOTE_S8_PRIM, APOLLO_LOG_WARN,
                          "oneDNN: no usable s8 matmul for a %lldx%lld int8 (Q8) weight (%s); "
                          "using the CPU kernels",
                          (long long)N, (long long)K, e->impl[0] ? e->impl : "not implemented");
            goto cpu;
        }
        mode = MODE_S8;
        atomic_fetch_add(&b->n_q8_onednn_calls, 1);
        goto run;
    }
    if ((w->dtype != APOLLO__DT_F32 && w->dtype != APOLLO__DT_BF16 &&
         w->dtype != APOLLO__DT_F16) || K <= 0 || N <= 0)
        goto cpu; /* quantized dtypes of the CPU backend, degenerate shapes */

    mode = be->precision == APOLLO__PREC_INT8 && K <= INT8_MAX_K ? MODE_S8 : MODE_F32;
    if (be->precision == APOLLO__PREC_BF16 && w->dtype == APOLLO__DT_BF16) {
        if (b->bf16_native || (atomic_load(&b->debug) & APOLLO__ONEDNN_TRY_BF16))
            mode = MODE_BF16;
        else
            note_once(b, NOTE_BF16, APOLLO_LOG_INFO,
                      "oneDNN: no native bf16 matmul on this CPU (needs AVX512_BF16 or AMX); "
                      "PREC_BF16 computes as f32");
    }
    for (;;) {
        if (mode == MODE_F32 && b->f32_on_cpu &&
            !(atomic_load(&b->debug) & APOLLO__ONEDNN_FORCE_F32)) {
            note_once(b, NOTE_F32_CPU, APOLLO_LOG_INFO,
                      "oneDNN: its f32 matmul on this CPU is the plain GEMM (%s), slower than "
                      "the CPU kernels on the weights in place: f32 products run there",
                      b->f32_impl);
            goto cpu;
        }
        if ((rc = cache_get(b, w, mode, &e)))
            return rc;
        if (e->state != ST_UNSUPPORTED || mode == MODE_F32)
            break;
        note_once(b, mode == MODE_BF16 ? NOTE_BF16_PRIM : NOTE_S8_PRIM, APOLLO_LOG_WARN,
                  "oneDNN: no usable %s matmul for a %lldx%lld weight (%s); computing as f32",
                  mode_name[mode], (long long)N, (long long)K,
                  e->impl[0] ? e->impl : "not implemented");
        mode = MODE_F32;
    }
    if (e->state != ST_READY || !covers(e, M)) {
        if (e->state == ST_UNSUPPORTED)
            note_once(b, NOTE_F32_PRIM, APOLLO_LOG_WARN,
                      "oneDNN: no usable f32 matmul for a %lldx%lld weight (%s); "
                      "using the CPU kernels",
                      (long long)N, (long long)K, e->impl[0] ? e->impl : "not implemented");
        goto cpu;
    }

    if (e->q8_view && M < APOLLO__GEMM_MIN_M) { /* the int8 rows as the CPU kernels' Q8 */
        apollo__tensor q;
        memset(&q, 0, sizeof q);
        q.dtype = APOLLO__DT_Q8;
        q.n_dims = 2;
        q.shape[0] = N;
        q.shape[1] = K;
        q.data = e->wptr;
        q.scale = e->wscale;
        atomic_fetch_add(&b->n_q8_calls, 1);
        return apollo__cpu_matmul_isa(be, b->isa, x, M, K, &q, bias, y);
    }
run:
    mode_types(mode, &sdt, &wdt);
    if (mode != MODE_F32) {
        src_job j = {x, M, K, 0, mode, e->act_levels, e->src_zp, NULL, NULL};
        size_t n;
        if (apollo__mul_size((size_t)M * (size_t)K, dt_size(sdt), &n) ||
            !(conv = apollo__malloc(n)) ||
            (mode == MODE_S8 && !(row_scale = apollo__malloc((size_t)M * sizeof(float))))) {
            apollo__free(conv);
            return apollo__fail(APOLLO_E_NOMEM, "oneDNN: out of memory converting activations");
        }
        j.dst = conv;
        j.row_scale = row_scale;
        for_rows(b, M, K, &j.rows_per_task, src_task, &j);
        src = conv;
        src_row_bytes = (size_t)K * dt_size(sdt);
    }
    rc = run_entry(b, e, src, src_row_bytes, sdt, M, y);
    if (!rc && (row_scale || bias)) {
        post_job j = {y, row_scale, bias, e->wscale, e->wsum, e->src_zp, M, N, 0};
        for_rows(b, M, N, &j.rows_per_task, post_task, &j);
    }
    apollo__free(conv);
    apollo__free(row_scale);
    return rc;

cpu:
    atomic_fetch_add(&b->n_cpu_calls, 1);
    return apollo__cpu_matmul_isa(be, b->isa, x, M, K, w, bias, y);
}

/* ---- hooks ------------------------------------------------------------------------------- */

static onednn_backend *as_onednn(apollo__backend *be)
{
    return be && be->vt->kind == APOLLO_BACKEND_ONEDNN ? (onednn_backend *)be : NULL;
}

void apollo__onednn_get_stats(apollo__backend *be, apollo__onednn_stats *out)
{
    onednn_backend *b = as_onednn(be);
    memset(out, 0, sizeof *out);
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    out->n_packs = b->n_packs;
    out->n_in_place = b->n_in_place;
    out->n_entries = (int64_t)b->n_entries;
    out->packed_bytes = b->packed_bytes;
    out->budget_bytes = b->budget;
    out->int8_levels = b->int8_levels;
    out->q8_act_levels = b->q8_act_levels;
    pthread_mutex_unlock(&b->mu);
    out->n_cpu_calls = atomic_load(&b->n_cpu_calls);
    out->n_q8_calls = atomic_load(&b->n_q8_calls);
    out->n_q8_onednn_calls = atomic_load(&b->n_q8_onednn_calls);
    out->q8_int8 = atomic_load(&b->q8_int8);
    out->bf16_native = b->bf16_native;
    out->f32_on_cpu = b->f32_on_cpu;
}

void apollo__onednn_set_pack_budget(apollo__backend *be, int64_t bytes)
{
    onednn_backend *b = as_onednn(be);
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->budget = bytes < 0 ? 0 : bytes;
    pthread_mutex_unlock(&b->mu);
}

void apollo__onednn_set_q8_int8(apollo__backend *be, int on)
{
    onednn_backend *b = as_onednn(be);
    if (b)
        atomic_store(&b->q8_int8, on != 0);
}

void apollo__onednn_set_debug(apollo__backend *be, uint32_t flags)
{
    onednn_backend *b = as_onednn(be);
    if (!b)
        return;
    atomic_store(&b->debug, flags);
}

void apollo__onednn_clear_cache(apollo__backend *be)
{
    onednn_backend *b = as_onednn(be);
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    cache_clear(b);
    pthread_mutex_unlock(&b->mu);
}

int apollo__onednn_describe(apollo__backend *be, const apollo__tensor *w, int32_t prec,
                            char *buf, size_t cap, int64_t *read_bytes)
{
    onednn_backend *b = as_onednn(be);
    int rc = -1;
    if (!b || w->n_dims != 2)
        return -1;
    pthread_mutex_lock(&b->mu);
    for (int pass = 0; pass < 2 && rc; pass++) {
        /* the mode the precision asks for; then f32, which it may have fallen to */
        int mode = pass ? MODE_F32
                   : prec == APOLLO__PREC_INT8 || w->dtype == APOLLO__DT_Q8 ? MODE_S8
                   : prec == APOLLO__PREC_BF16 && w->dtype == APOLLO__DT_BF16 &&
                           (b->bf16_native || (atomic_load(&b->debug) & APOLLO__ONEDNN_TRY_BF16))
                       ? MODE_BF16
                       : MODE_F32;
        int found;
        size_t slot;
        const wentry *e;
        if (pass && w->dtype == APOLLO__DT_Q8) /* only ever s8 in oneDNN */
            break;
        if (mode == MODE_F32 && b->f32_on_cpu &&
            !(atomic_load(&b->debug) & APOLLO__ONEDNN_FORCE_F32)) {
            snprintf(buf, cap, "cpu-kernels (oneDNN f32 is %s here)", b->f32_impl);
            if (read_bytes)
                *read_bytes = w->shape[0] * w->shape[1] * (int64_t)apollo__dtype_size(w->dtype);
            rc = 0;
            break;
        }
        if (!b->tab)
            break;
        slot = tab_find(b, w->data, (int32_t)w->dtype, mode, w->shape[0], w->shape[1], &found);
        if (!found)
            continue;
        e = b->tab[slot];
        if (read_bytes)
            *read_bytes = e->state == ST_READY && e->wraw
                              ? (int64_t)e->bytes
                              : w->shape[0] * w->shape[1] * (int64_t)apollo__dtype_size(w->dtype);
        if (e->state == ST_READY) {
            int l = snprintf(buf, cap, "%s%s %s %lldx%lld %s %s%s %.1f MB", mode_name[mode],
                             e->dtype == APOLLO__DT_Q8 ? " from Q8" : "", e->impl,
                             (long long)e->N, (long long)e->K, e->layout,
                             e->runtime_m ? "runtime-M" : "M-buckets",
                             e->q8_view ? " (M<16: CPU Q8 GEMV)" : "",
                             (double)e->bytes / 1048576.0);
            if (e->dtype == APOLLO__DT_Q8 && l >= 0 && (size_t)l < cap)
                snprintf(buf + l, cap - (size_t)l, ", activations [-%d, %d]",
                         (int)e->act_levels, (int)e->act_levels);
        } else if (e->state == ST_CPU)
            snprintf(buf, cap, "%s", e->impl);
        else if (e->state == ST_UNSUPPORTED && mode == MODE_F32)
            snprintf(buf, cap, "cpu-kernels (no oneDNN f32 primitive: %s)", e->impl);
        else
            continue;
        rc = 0;
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

/* ---- lifetime ----------------------------------------------------------------------------- */

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_single_threaded(void)
{
    /* Process-wide, idempotent, as the CPU backend does: the CPU kernels
     * this backend calls (attention's OpenBLAS GEMMs, apollo__gemm_f32) run
     * inside pool tasks; OpenBLAS's own threads would only spin beside them
     * and oneDNN's (measured: 16 % of a 2-thread prefill). */
    openblas_set_num_threads(1);
}

static void onednn_destroy(apollo__backend *be)
{
    onednn_backend *b = (onednn_backend *)be;
    if (b->mu_ok) {
        cache_clear(b);
        pthread_cond_destroy(&b->cond);
        pthread_mutex_destroy(&b->mu);
    }
    if (b->engine)
        dnnl_engine_destroy(b->engine);
    apollo__pool_free(be->pool);
    apollo__free(b);
}

static const apollo__backend_vtbl onednn_vtbl = {
    .name = "onednn",
    .kind = APOLLO_BACKEND_ONEDNN,
    .destroy = onednn_destroy,
    .matmul = onednn_matmul,
};

int apollo__onednn_backend_create(int32_t n_threads, apollo__backend **out)
{
    onednn_backend *b = apollo__calloc(1, sizeof *b);
    int rc;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    dnnl_cpu_isa_t eff;

    if (!b)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory creating the oneDNN backend");
    pthread_once(&blas_once, blas_single_threaded);
    b->base.vt = &onednn_vtbl;
    b->base.n_threads = n_threads;
    b->base.precision = APOLLO__PREC_F32;
    b->isa = apollo__cpu_isa_detect();
    b->budget = pages > 0 && page > 0 ? (int64_t)pages * page / 2 : (int64_t)1 << 32;
    atomic_init(&b->n_cpu_calls, 0);
    atomic_init(&b->n_q8_calls, 0);
    atomic_init(&b->n_q8_onednn_calls, 0);
    atomic_init(&b->debug, 0u);
    atomic_init(&b->q8_int8, 0);
    if (pthread_mutex_init(&b->mu, NULL)) {
        apollo__free(b);
        return apollo__fail(APOLLO_E_NOMEM, "oneDNN backend: cannot create a mutex");
    }
    if (pthread_cond_init(&b->cond, NULL)) {
        pthread_mutex_destroy(&b->mu);
        apollo__free(b);
        return apollo__fail(APOLLO_E_NOMEM, "oneDNN backend: cannot create a condition");
    }
    b->mu_ok = 1;
    if (dnnl_engine_create(&b->engine, dnnl_cpu, 0) != dnnl_success) {
        b->engine = NULL;
        onednn_destroy(&b->base);
        return apollo__fail(APOLLO_E_BACKEND, "oneDNN: cannot create a CPU engine");
    }
    /* bf16 natively only with vdpbf16ps (AVX512_BF16) or AMX; on avx512_core
     * oneDNN emulates bf16 (slower than f32), on AVX2 it has no bf16 matmul. */
    eff = dnnl_get_effective_cpu_isa();
    b->bf16_native = ((unsigned)eff & (unsigned)dnnl_cpu_isa_avx512_core_bf16) ==
                     (unsigned)dnnl_cpu_isa_avx512_core_bf16;
    /* Where oneDNN's f32 matmul is its gemm-based one (AVX2: "gemm:jit"), it
     * has no layout of its own to pack into, reads 4 bytes per weight where
     * the CPU kernels read the 2 of bf16 in place, and re-packs the weight on
     * every call with 2 <= M < 16: measured slower than the CPU kernels at
     * every M (bench/README.md), at twice the memory.  f32 then stays there. */
    {
        dnnl_primitive_desc_t pd = make_pd(b, MODE_F32, LAYOUT_M, 256, 256, NULL, b->f32_impl,
                                           sizeof b->f32_impl);
        b->f32_on_cpu = !pd || !strncmp(b->f32_impl, "gemm:", 5);
        if (pd)
            dnnl_primitive_desc_destroy(pd);
    }
    rc = apollo__pool_create(n_threads, &b->base.pool);
    if (rc) {
        onednn_destroy(&b->base);
        return rc;
    }
    *out = &b->base;
    return APOLLO_OK;
}
