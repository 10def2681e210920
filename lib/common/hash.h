/* A 128-bit non-cryptographic hash (two independent 64-bit lanes) for
 * fingerprints: it detects accidental mismatches (another model, other
 * settings), it is not a defence against deliberate forgery. */
#ifndef APOLLO_HASH_H
#define APOLLO_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct apollo__hash {
    uint64_t a, b;
} apollo__hash;

void apollo__hash_init(apollo__hash *h);
void apollo__hash_bytes(apollo__hash *h, const void *data, size_t n);
void apollo__hash_str(apollo__hash *h, const char *s); /* includes the length */
void apollo__hash_i64(apollo__hash *h, int64_t v);
void apollo__hash_f64(apollo__hash *h, double v);
void apollo__hash_final(const apollo__hash *h, uint8_t out[16]);

#endif
