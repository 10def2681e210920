/* APOLLO_PRECISION_INT8: per-row int8 copies of the LLM's Linear weights,
 * made once at ctx open on the ctx's thread pool (see model.h). */
#include "model.h"

#include "common/alloc.h"
#include "common/quant.h"
#include "common/status.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Rows per pool task: 64 rows are 192 KB (K = 1536) to 1.1 MB (K = 8960) of
 * bf16, enough to amortise the task and the madvise call, small enough to
 * balance ~10k tasks over the threads. */
#define Q8_TASK_ROWS 64

typedef struct q8_item {
    apollo__tensor *dst;  /* the model's view, replaced when all are done */
    apollo__tensor src;   /* the checkpoint's view, read by the tasks */
    int8_t *q;            /* [N, K] */
    float *scale;         /* [N] */
    int64_t first_task;
} q8_item;

typedef struct q8_job {
    q8_item *items;
    int64_t n_items;
    size_t page;
} q8_job;

/* Drops the resident pages lying wholly inside [p, p + n) of a read-only
 * file mapping: the process's resident set would otherwise keep the bf16
 * pages next to their int8 copy (~1.5x the model instead of ~0.5x).  The
 * file and the page cache are untouched; a later read (the tied embedding's
 * lookup rows) faults the page back in from the file. */
static void release_pages(const void *p, size_t n, size_t page)
{
#ifdef MADV_DONTNEED
    uintptr_t a = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t b = ((uintptr_t)p + n) & ~(uintptr_t)(page - 1);
    if (b > a)
        (void)madvise((void *)a, b - a, MADV_DONTNEED); /* advisory: failure is harmless */
#else
    (void)p, (void)n, (void)page;
#endif
}

static void q8_task(void *vp, int64_t t)
{
    const q8_job *j = vp;
    int64_t lo = 0, hi = j->n_items - 1;
    while (lo < hi) { /* last item with first_task <= t */
        int64_t mid = (lo + hi + 1) / 2;
        if (j->items[mid].first_task <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    const q8_item *it = &j->items[lo];
    const int64_t N = it->src.shape[0], K = it->src.shape[1];
    const int64_t r0 = (t - it->first_task) * Q8_TASK_ROWS;
    const int64_t r1 = r0 + Q8_TASK_ROWS < N ? r0 + Q8_TASK_ROWS : N;
    for (int64_t r = r0; r < r1; r++)
        it->scale[r] = apollo__q8_quantize_row(it->src.dtype, apollo__tensor_row(&it->src, r), K,
                                               it->q + r * K);
    if (j->page)
        release_pages(apollo__tensor_row(&it->src, r0),
                      (size_t)(r1 - r0) * (size_t)K * apollo__dtype_size(it->src.dtype),
                      j->page);
}

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

int apollo__model_quantize_llm(apollo__model *m, apollo__pool *pool)
{
    const int64_t n_layers = m->llm.n_layers;
    const int64_t n_items = 7 * n_layers + 1;
    q8_job job;
    size_t total = 64, off;
    unsigned char *base;
    int64_t n_tasks = 0;
    long page = sysconf(_SC_PAGESIZE);

    if (m->q8_arena)
        return APOLLO_OK;
    job.items = apollo__calloc((size_t)n_items, sizeof *job.items);
    if (!job.items)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory quantizing the LLM weights");
    job.n_items = n_items;
    job.page = page > 0 && (page & (page - 1)) == 0 ? (size_t)page : 0;
    for (int64_t l = 0; l < n_layers; l++) {
        apollo__llm_layer *L = &m->llm_w.layers[l];
        apollo__tensor *ts[7] = {&L->q_w, &L->k_w, &L->v_w, &L->o_w,
                                 &L->gate_w, &L->up_w, &L->down_w};
        for (int i = 0; i < 7; i++)
            job.items[7 * l + i].dst = ts[i];
    }
    job.items[n_items - 1].dst = &m->llm_w.lm_head;

    /* Layout: per tensor, its rows then its scales, each 64-byte aligned. */
    for (int64_t i = 0; i < n_items; i++) {
        q8_item *it = &job.items[i];
        size_t qb;
        it->src = *it->dst;
        if (apollo__mul_size((size_t)it->src.shape[0], (size_t)it->src.shape[1], &qb) ||
            total + align64(qb) + align64((size_t)it->src.shape[0] * sizeof(float)) < total) {
            apollo__free(job.items);
            return apollo__fail(APOLLO_E_NOMEM, "LLM weights too large to quantize");
        }
        total += align64(qb) + align64((size_t)it->src.shape[0] * sizeof(float));
        it->first_task = n_tasks;
        n_tasks += (it->src.shape[0] + Q8_TASK_ROWS - 1) / Q8_TASK_ROWS;
    }
    m->q8_arena = apollo__malloc(total);
    if (!m->q8_arena) {
        apollo__free(job.items);
        return apollo__fail(APOLLO_E_NOMEM, "out of memory for the int8 LLM weights "
                            "(%.1f MB)", (double)total / 1048576.0);
    }
    m->q8_bytes = total;
    base = (unsigned char *)(((uintptr_t)m->q8_arena + 63) & ~(uintptr_t)63);
    off = 0;
    for (int64_t i = 0; i < n_items; i++) {
        q8_item *it = &job.items[i];
        size_t qb = (size_t)it->src.shape[0] * (size_t)it->src.shape[1];
        it->q = (int8_t *)(base + off);
        off += align64(qb);
        it->scale = (float *)(void *)(base + off);
        off += align64((size_t)it->src.shape[0] * sizeof(float));
    }

    apollo__pool_for(pool, n_tasks, q8_task, &job);

    for (int64_t i = 0; i < n_items; i++) {
        q8_item *it = &job.items[i];
        it->dst->dtype = APOLLO__DT_Q8;
        it->dst->data = it->q;
        it->dst->scale = it->scale;
        it->dst->f32 = NULL;
    }
    apollo__free(job.items);
    return APOLLO_OK;
}
