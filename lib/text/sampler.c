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

static int cmp_desc(const void *a, const void *b)
{
    const idx_logit *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int32_t apollo__sample_next(float *logits, int64_t n_vocab, const int32_t *prev, int64_t n_prev,
                            const apollo__sampling *s, apollo__rng *rng, void *scratch)
{
    idx_logit *cand = scratch;
    int64_t n = 0, keep;
    double maxl, sum = 0, u, acc = 0;

    apollo__apply_repetition_penalty(logits, n_vocab, prev, n_prev, s->repetition_penalty);
    if (!s->do_sample || s->temperature <= 0)
        return apollo__argmax(logits, n_vocab);
    for (int64_t i = 0; i < n_vocab; i++) {
        float l = logits[i] / s->temperature;
        if (isnan(l) || l == -INFINITY)
            continue;
        cand[n].logit = l;
        cand[n].id = (int32_t)i;
        n++;
    }
    if (n == 0)
        return apollo__argmax(logits, n_vocab);
    qsort(cand, (size_t)n, sizeof *cand, cmp_desc);
    keep = n;
    /* top-k keeps every logit equal to the k-th (transformers compares
     * against the k-th value). */
    if (s->top_k > 0 && s->top_k < n) {
        float kth = cand[s->top_k - 1].logit;
        keep = s->top_k;
        while (keep < n && cand[keep].logit >= kth)
            keep++;
    }
    maxl = cand[0].logit;
    /* top-p: transformers sorts ascending and drops tokens whose cumulative
     * probability is <= 1 - top_p, always keeping the most likely one.
     * Equivalently, descending: keep a token while the mass strictly after
     * it (in ascending order, before it) leaves it above 1 - top_p. */
    if (s->top_p < 1.0f) {
        double total = 0, below = 0;
        for (int64_t i = 0; i < keep; i++)
            total += exp(cand[i].logit - maxl);
        /* cumulative (ascending) probability of candidate i = 1 - mass of
         * the candidates ranked above it */
        int64_t new_keep = 0;
        for (int64_t i = 0; i < keep; i++) {
            double cum_asc = 1.0 - below / total; /* includes candidate i */
            if (cum_asc > 1.0 - (double)s->top_p || i == 0)
                new_keep = i + 1;
            below += exp(cand[i].logit - maxl);
        }
        keep = new_keep;
    }
    for (int64_t i = 0; i < keep; i++)
        sum += exp(cand[i].logit - maxl);
    u = apollo__rng_uniform(rng) * sum;
    for (int64_t i = 0; i < keep; i++) {
        acc += exp(cand[i].logit - maxl);
        if (u < acc)
            return cand[i].id;
    }
    return cand[keep - 1].id;
}
