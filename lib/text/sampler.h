/* Next-token selection with transformers' semantics: the repetition
 * penalty (always, greedy included), then -- only when sampling --
 * temperature, top-k and top-p, in that order, then a draw from the
 * softmax with a seeded generator (reproducible for a given seed; it is not
 * torch's generator, so sampled text differs from PyTorch's). */
#ifndef APOLLO_SAMPLER_H
#define APOLLO_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

typedef struct apollo__sampling {
    int do_sample;              /* 0: greedy (argmax) */
    float temperature;          /* > 0 when sampling */
    int32_t top_k;              /* 0: off */
    float top_p;                /* 1: off */
    float repetition_penalty;   /* 1: off */
} apollo__sampling;

typedef struct apollo__rng {
    uint64_t s[4];
} apollo__rng;

void apollo__rng_seed(apollo__rng *r, uint64_t seed);
uint64_t apollo__rng_next(apollo__rng *r);
double apollo__rng_uniform(apollo__rng *r); /* [0, 1) */

/* transformers' RepetitionPenaltyLogitsProcessor over the distinct ids in
 * prev[0..n_prev): negative logits are multiplied by p, others divided. */
void apollo__apply_repetition_penalty(float *logits, int64_t n_vocab, const int32_t *prev,
                                      int64_t n_prev, float penalty);

/* Index of the largest logit (the first one on ties, like torch.argmax). */
int32_t apollo__argmax(const float *logits, int64_t n_vocab);

/* The distribution sampling draws from (do_sample must be set): after the
 * penalty, temperature, top-k and top-p, the kept token ids (most likely
 * first) and their probabilities.  Returns the number kept (>= 1), or 0 if
 * every logit is -inf/NaN.  ids/probs point into `scratch` (of
 * apollo__sampling_scratch_bytes(n_vocab) bytes) and live until it is
 * reused.  `logits` is
 * modified in place (the penalty). */
int64_t apollo__sampling_dist(float *logits, int64_t n_vocab, const int32_t *prev,
                              int64_t n_prev, const apollo__sampling *s, void *scratch,
                              const int32_t **ids, const double **probs);

/* Bytes of scratch the two functions below need. */
size_t apollo__sampling_scratch_bytes(int64_t n_vocab);

/* Chooses the next token.  `logits` is modified in place; `scratch` holds
 * apollo__sampling_scratch_bytes(n_vocab) bytes. */
int32_t apollo__sample_next(float *logits, int64_t n_vocab, const int32_t *prev, int64_t n_prev,
                            const apollo__sampling *s, apollo__rng *rng, void *scratch);

#endif
