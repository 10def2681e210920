#include "hash.h"

#include <string.h>

void apollo__hash_init(apollo__hash *h)
{
    h->a = 0xcbf29ce484222325ull; /* FNV-1a offset basis */
    h->b = 0x9e3779b97f4a7c15ull;
}

void apollo__hash_bytes(apollo__hash *h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h->a = (h->a ^ p[i]) * 0x100000001b3ull;                 /* FNV-1a */
        h->b = (h->b + p[i] + 1) * 0xff51afd7ed558ccdull;        /* multiplicative mix */
        h->b ^= h->b >> 29;
    }
}

void apollo__hash_i64(apollo__hash *h, int64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)v >> (8 * i));
    apollo__hash_bytes(h, b, 8);
}

void apollo__hash_str(apollo__hash *h, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    apollo__hash_i64(h, (int64_t)n);
    if (n)
        apollo__hash_bytes(h, s, n);
}

void apollo__hash_f64(apollo__hash *h, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    apollo__hash_i64(h, (int64_t)u);
}

void apollo__hash_final(const apollo__hash *h, uint8_t out[16])
{
    uint64_t a = h->a, b = h->b;
    /* final avalanche so short inputs spread over all bits */
    a ^= a >> 33;
    a *= 0xc4ceb9fe1a85ec53ull;
    a ^= a >> 33;
    b ^= b >> 31;
    b *= 0x94d049bb133111ebull;
    b ^= b >> 32;
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(a >> (8 * i));
        out[8 + i] = (uint8_t)(b >> (8 * i));
    }
}
