#include "sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- xoshiro256** seeded by splitmix64 ------------------------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void apollo__rng_seed(apollo__rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t apollo__rng_next(apollo__rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double apollo__rng_uniform(apollo__rng *r)
{
    return (double)(apollo__rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- processors ------------------------------------------------------------------ */

void apollo__apply_repetition_penalty(float *logits, int64_t n_vocab, const int32_t *prev,
                                      int64_t n_prev, float penalty)
{
    if (penalty == 1.0f || n_prev <= 0)
        return;
    for (int64_t i = 0; i < n_prev; i++) {
        int32_t t = prev[i];
        int seen = 0;
        if (t < 0 || t >= n_vocab)
            continue;
        for (int64_t j = 0; j < i && !seen; j++) /* each distinct id once */
            seen = prev[j] == t;
        if (seen)
            continue;
        logits[t] = logits[t] < 0 ? logits[t] * penalty : logits[t] / penalty;
    }
}

int32_t apollo__argmax(const float *logits, int64_t n_vocab)
{
    int32_t best = 0;
    for (int64_t i = 1; i < n_vocab; i++)
        if (logits[i] > logits[best])
            best = (int32_t)i;
    return best;
}

typedef struct idx_logit {
    float logit;
    int32_t id;
} idx_logit;

/* Descending by logit, then descending id: transformers' top-p sorts
 * ascending with ties in id order and drops from the front, so among equal
 * logits the higher ids survive a cut.  A total order: the kept set does not
 * depend on how the candidates were arranged. */
static int before(const idx_logit *x, const idx_logit *y)
{
    return x->logit > y->logit || (x->logit == y->logit && x->id > y->id);
}

static int cmp_desc(const void *a, const void *b)
{
    const idx_logit *x = a, *y = b;
    return before(x, y) ? -1 : before(y, x) ? 1 : 0;
}

/* Moves the k first candidates (in the order above) to cand[0..k) in O(n)
 * expected time (quickselect), so top-k does not sort the whole vocabulary. */
static void select_top(idx_logit *cand, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    while (lo < hi) {
        idx_logit pivot, t;
        int64_t i = lo, j = hi;
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        pivot = cand[lo + (int64_t)((seed >> 33) % (uint64_t)(hi - lo + 1))];
        while (i <= j) {
            while (before(&cand[i], &pivot))
                i++;
            while (before(&pivot, &cand[j]))
                j--;
            if (i <= j) {
                t = cand[i];
                cand[i] = cand[j];
                cand[j] = t;
                i++;
                j--;
            }
        }
        if (k - 1 <= j)
            hi = j;
        else if (k - 1 >= i)
            lo = i;
        else
            break;
    }
}

size_t apollo__sampling_scratch_bytes(int64_t n_vocab)
{
    return (size_t)n_vocab * (sizeof(idx_logit) + 8 + sizeof(double));
}

int64_t apollo__sampling_dist(float *logits, int64_t n_vocab, const int32_t *prev,
                              int64_t n_prev, const apollo__sampling *s, void *scratch,
                              const int32_t **ids_out, const double **probs_out)
{
    idx_logit *cand = scratch;
    int32_t *ids;
    double *probs;
    int64_t n = 0, keep;
    double maxl, sum = 0;

    apollo__apply_repetition_penalty(logits, n_vocab, prev, n_prev, s->repetition_penalty);
    for (int64_t i = 0; i < n_vocab; i++) {
        float l = logits[i] / s->temperature;
        if (isnan(l) || l == -INFINITY)
            continue;
        cand[n].logit = l;
        cand[n].id = (int32_t)i;
        n++;
    }
    if (n == 0)
        return 0;
    keep = n;
    /* top-k keeps every logit equal to the k-th too (transformers compares
     * against the k-th value) */
    if (s->top_k > 0 && s->top_k < n) {
        int64_t k = s->top_k, m = k;
        float kth;
        select_top(cand, n, k);
        kth = cand[0].logit;
        for (int64_t i = 1; i < k; i++)
            if (cand[i].logit < kth)
                kth = cand[i].logit;
        for (int64_t i = k; i < n; i++)
            if (cand[i].logit >= kth) {
                idx_logit t = cand[m];
                cand[m++] = cand[i];
                cand[i] = t;
            }
        keep = m;
    }
    qsort(cand, (size_t)keep, sizeof *cand, cmp_desc);
    maxl = cand[0].logit;
    /* top-p: transformers sorts ascending and drops the tokens whose
     * cumulative probability is <= 1 - top_p (keeping at least the most
     * likely one).  Descending, the cumulative probability of candidate i is
     * 1 - (mass ranked above it) / total: the kept set is a prefix. */
    if (s->top_p < 1.0f) {
        double total = 0, above = 0;
        int64_t new_keep = 0;
        for (int64_t i = 0; i < keep; i++)
            total += exp(cand[i].logit - maxl);
        for (int64_t i = 0; i < keep; i++) {
            if (1.0 - above / total > 1.0 - (double)s->top_p || i == 0)
                new_keep = i + 1;
            above += exp(cand[i].logit - maxl);
        }
        keep = new_keep;
    }
    /* scratch layout: candidates [8 V bytes] | ids [4 V] + pad | probs [8 V] */
    ids = (int32_t *)(void *)((char *)scratch + (size_t)n_vocab * sizeof(idx_logit));
    probs = (double *)(void *)((char *)scratch + (size_t)n_vocab * (sizeof(idx_logit) + 8));
    for (int64_t i = 0; i < keep; i++)
        sum += exp(cand[i].logit - maxl);
    for (int64_t i = 0; i < keep; i++) {
        probs[i] = exp(cand[i].logit - maxl) / sum;
        ids[i] = cand[i].id;
    }
    *ids_out = ids;
    *probs_out = probs;
    return keep;
}

int32_t apollo__sample_next(float *logits, int64_t n_vocab, const int32_t *prev, int64_t n_prev,
                            const apollo__sampling *s, apollo__rng *rng, void *scratch)
{
    const int32_t *ids;
    const double *probs;
    double u, acc = 0;
    int64_t n;

    if (!s->do_sample || s->temperature <= 0) {
        apollo__apply_repetition_penalty(logits, n_vocab, prev, n_prev, s->repetition_penalty);
        return apollo__argmax(logits, n_vocab);
    }
    n = apollo__sampling_dist(logits, n_vocab, prev, n_prev, s, scratch, &ids, &probs);
    if (n == 0)
        return apollo__argmax(logits, n_vocab);
    u = apollo__rng_uniform(rng);
    for (int64_t i = 0; i < n; i++) {
        acc += probs[i];
        if (u < acc)
            return ids[i];
    }
    return ids[n - 1];
}
