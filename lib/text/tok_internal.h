/* Shared between tokenizer.c (loading), tok_encode.c and tok_decode.c.
 * Not a public or cross-module interface: include tokenizer.h instead. */
#ifndef APOLLO_TEXT_TOK_INTERNAL_H
#define APOLLO_TEXT_TOK_INTERNAL_H

#include "text/tokenizer.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define APOLLO__TOK_MAGIC 0x546f6b31u /* "Tok1" */

/* Per-id flags. */
#define TOK__F_PRESENT 1u /* the id has bytes (else a hole in the id space) */
#define TOK__F_ADDED   2u /* an added token (matched before BPE) */
#define TOK__F_SPECIAL 4u /* added token with "special": true */
#define TOK__F_WHOLE   8u /* BPE of this token's bytes gives back this token */

/* Where a token's bytes live in the arena. */
typedef struct tok__span {
    uint32_t off;
    uint32_t len;
} tok__span;

/* Open-addressing slot of the bytes -> id map of regular tokens. */
typedef struct tok__vslot {
    uint32_t hash; /* low 32 bits of the hash */
    int32_t id;    /* -1: empty */
} tok__vslot;

/* Open-addressing slot of the (left id, right id) -> merge map. */
typedef struct tok__mslot {
    uint64_t key; /* (uint64_t)left << 32 | right */
    int32_t rank; /* -1: empty; else the merge's line number (lower merges first) */
    int32_t new_id;
} tok__mslot;

typedef struct tok__added {
    uint32_t off, len; /* content bytes in the arena */
    int32_t id;
    uint8_t first; /* first content byte (sort key) */
} tok__added;

struct apollo__tokenizer {
    uint32_t magic;
    int32_t n_tokens; /* one past the largest id */
    int ignore_merges; /* tokenizer.json model.ignore_merges */

    char *arena; /* token bytes, each NUL-terminated */
    size_t arena_len, arena_cap;
    tok__span *pieces; /* [n_tokens] */
    uint8_t *flags;    /* [n_tokens] TOK__F_* */

    tok__vslot *vmap; /* regular tokens by their bytes */
    size_t vmask;

    tok__mslot *mmap; /* merges */
    size_t mmask;
    size_t n_merges;

    int32_t byte_id[256]; /* the token of each single byte */

    tok__added *added; /* sorted by first byte, then longest first */
    size_t n_added;
    uint16_t added_first[257]; /* added[added_first[b] .. added_first[b+1]) start with byte b */
};

/* Sets TOK__F_WHOLE on every regular token that BPE reproduces as itself,
 * so that encoding can take such words in one lookup (tok_encode.c). */
int apollo__tok_mark_whole(apollo__tokenizer *t);

static inline uint64_t tok__hash_bytes(const unsigned char *s, size_t n)
{
    /* FNV-1a, then a final mix so that the low bits are usable. */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
}

static inline uint64_t tok__hash_pair(uint64_t key)
{
    key *= 0x9e3779b97f4a7c15ull;
    key ^= key >> 31;
    key *= 0xbf58476d1ce4e5b9ull;
    key ^= key >> 29;
    return key;
}

/* Regular-token id of the byte string s[0..n), or -1. */
static inline int32_t tok__vocab_find(const apollo__tokenizer *t, const unsigned char *s, size_t n)
{
    uint64_t h = tok__hash_bytes(s, n);
    size_t i = (size_t)h & t->vmask;
    for (;;) {
        const tok__vslot *sl = &t->vmap[i];
        if (sl->id < 0)
            return -1;
        if (sl->hash == (uint32_t)h) {
            const tok__span *p = &t->pieces[sl->id];
            if (p->len == n && memcmp(t->arena + p->off, s, n) == 0)
                return sl->id;
        }
        i = (i + 1) & t->vmask;
    }
}

/* The merge of (a, b): its rank, or -1 (and *new_id untouched). */
static inline int32_t tok__merge_find(const apollo__tokenizer *t, int32_t a, int32_t b,
                                      int32_t *new_id)
{
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t i = (size_t)tok__hash_pair(key) & t->mmask;
    for (;;) {
        const tok__mslot *sl = &t->mmap[i];
        if (sl->rank < 0)
            return -1;
        if (sl->key == key) {
            *new_id = sl->new_id;
            return sl->rank;
        }
        i = (i + 1) & t->mmask;
    }
}

#endif
