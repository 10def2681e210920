/* Encoding: added tokens -> NFC -> Qwen2 pre-tokenizer -> byte-level BPE.
 * See tokenizer.h for the exact semantics reproduced here. */
#include "text/tok_internal.h"

#include "common/alloc.h"
#include "common/status.h"

#include <limits.h>
#include <utf8proc.h>

/* ======================================================================== */
/* UTF-8                                                                    */
/* ======================================================================== */

int apollo__utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            /* skip ASCII eight bytes at a time */
            while (i + 8 <= len) {
                uint64_t w;
                memcpy(&w, s + i, 8);
                if (w & 0x8080808080808080ull)
                    break;
                i += 8;
            }
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= len || (s[i + 1] & 0xC0) != 0x80)
                return 0;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
            if (i + 2 >= len || s[i + 1] < lo || s[i + 1] > hi || (s[i + 2] & 0xC0) != 0x80)
                return 0;
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
            if (i + 3 >= len || s[i + 1] < lo || s[i + 1] > hi || (s[i + 2] & 0xC0) != 0x80 ||
                (s[i + 3] & 0xC0) != 0x80)
                return 0;
            i += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

/* Decodes the (valid) character at s[i]; *n receives its length. */
static inline uint32_t utf8_at(const unsigned char *s, size_t i, size_t *n)
{
    unsigned c = s[i];
    if (c < 0x80) {
        *n = 1;
        return c;
    }
    if (c < 0xE0) {
        *n = 2;
        return (c & 0x1Fu) << 6 | (s[i + 1] & 0x3Fu);
    }
    if (c < 0xF0) {
        *n = 3;
        return (c & 0x0Fu) << 12 | (s[i + 1] & 0x3Fu) << 6 | (s[i + 2] & 0x3Fu);
    }
    *n = 4;
    return (c & 0x07u) << 18 | (s[i + 1] & 0x3Fu) << 12 | (s[i + 2] & 0x3Fu) << 6 | (s[i + 3] & 0x3Fu);
}

/* ======================================================================== */
/* Character classes of the pre-tokenizer regex                            */
/* ======================================================================== */

#define C_L 1u    /* \p{L} */
#define C_N 2u    /* \p{N} */
#define C_S 4u    /* \s: Unicode White_Space (Oniguruma's \s) */
#define C_CRLF 8u /* \r or \n */

static inline unsigned ascii_class(unsigned c)
{
    if ((c | 0x20u) - 'a' < 26u)
        return C_L;
    if (c - '0' < 10u)
        return C_N;
    if (c == '\r' || c == '\n')
        return C_S | C_CRLF;
    if (c == ' ' || (c >= 0x09 && c <= 0x0D))
        return C_S;
    return 0;
}

static inline int is_white_space(uint32_t cp)
{
    /* The 25 code points of the Unicode White_Space property (stable since 6.3). */
    if (cp < 0x80)
        return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Letters and digits of Unicode 16, which HF's regex engine (Oniguruma)
 * knows and utf8proc 2.8 (Unicode 15) does not; consulted only for what
 * utf8proc calls unassigned.  From tools/reference/tokenizer/unicode_diff.py:
 * unassigned (Cn) for utf8proc 2.8.0, \p{L} or \p{N} for HF: 5004 code points */
static const struct {
    uint32_t lo, hi;
    unsigned cls;
} HF_NEWER_CLASSES[] = {
    {0x01C89, 0x01C8A, C_L},
    {0x0A7CB, 0x0A7CD, C_L},
    {0x0A7DA, 0x0A7DC, C_L},
    {0x105C0, 0x105F3, C_L},
    {0x10D40, 0x10D49, C_N},
    {0x10D4A, 0x10D65, C_L},
    {0x10D6F, 0x10D85, C_L},
    {0x10EC2, 0x10EC4, C_L},
    {0x11380, 0x11389, C_L},
    {0x1138B, 0x1138B, C_L},
    {0x1138E, 0x1138E, C_L},
    {0x11390, 0x113B5, C_L},
    {0x113B7, 0x113B7, C_L},
    {0x113D1, 0x113D1, C_L},
    {0x113D3, 0x113D3, C_L},
    {0x116D0, 0x116E3, C_N},
    {0x11BC0, 0x11BE0, C_L},
    {0x11BF0, 0x11BF9, C_N},
    {0x13460, 0x143FA, C_L},
    {0x16100, 0x1611D, C_L},
    {0x16130, 0x16139, C_N},
    {0x16D40, 0x16D6C, C_L},
    {0x16D70, 0x16D79, C_N},
    {0x18CFF, 0x18CFF, C_L},
    {0x1CCF0, 0x1CCF9, C_N},
    {0x1E5D0, 0x1E5ED, C_L},
    {0x1E5F0, 0x1E5F0, C_L},
    {0x1E5F1, 0x1E5FA, C_N},
    {0x2EBF0, 0x2EE5D, C_L},
};

static unsigned unassigned_class(uint32_t cp)
{
    size_t lo = 0, hi = sizeof HF_NEWER_CLASSES / sizeof HF_NEWER_CLASSES[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < HF_NEWER_CLASSES[mid].lo)
            hi = mid;
        else if (cp > HF_NEWER_CLASSES[mid].hi)
            lo = mid + 1;
        else
            return HF_NEWER_CLASSES[mid].cls;
    }
    return 0;
}

static unsigned unicode_class(uint32_t cp)
{
    if (is_white_space(cp))
        return C_S;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_CN:
        return unassigned_class(cp);
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        return C_L;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return C_N;
    default:
        return 0;
    }
}

/* Class of the character at s[i] (i < n); *cl receives its length. */
static inline unsigned class_at(const unsigned char *s, size_t i, size_t *cl)
{
    if (s[i] < 0x80) {
        *cl = 1;
        return ascii_class(s[i]);
    }
    return unicode_class(utf8_at(s, i, cl));
}

/* End of the run of characters whose class intersects `want` (or, with
 * negate, avoids it) starting at i. */
static inline size_t run_end(const unsigned char *s, size_t n, size_t i, unsigned want, int negate)
{
    while (i < n) {
        size_t cl;
        unsigned c = class_at(s, i, &cl);
        if (((c & want) != 0) == (negate != 0))
            break;
        i += cl;
    }
    return i;
}

static inline int ieq(unsigned char c, char lower)
{
    return (c | 0x20u) == (unsigned char)lower;
}

/* End of the regex match that starts at i (the pattern matches at every
 * position, so pieces tile the text).  Alternatives in the pattern's order:
 *   A1 (?i:'s|'t|'re|'ve|'m|'ll|'d)   A2 [^\r\n\p{L}\p{N}]?\p{L}+
 *   A3 \p{N}                          A4  ?[^\s\p{L}\p{N}]+[\r\n]*
 *   A5 \s*[\r\n]+                     A6 \s+(?!\S)        A7 \s+          */
static size_t piece_end(const unsigned char *s, size_t n, size_t i)
{
    size_t l0, l1, j;
    unsigned c0 = class_at(s, i, &l0), c1;

    /* A1.  Case-insensitive like Oniguruma: U+017F (long s) folds to 's'. */
    if (s[i] == '\'' && i + 1 < n) {
        unsigned char a = s[i + 1];
        if (ieq(a, 's') || ieq(a, 't') || ieq(a, 'm') || ieq(a, 'd'))
            return i + 2;
        if (a == 0xC5 && i + 2 < n && s[i + 2] == 0xBF)
            return i + 3;
        if (i + 2 < n) {
            unsigned char b = s[i + 2];
            if ((ieq(a, 'r') && ieq(b, 'e')) || (ieq(a, 'v') && ieq(b, 'e')) ||
                (ieq(a, 'l') && ieq(b, 'l')))
                return i + 3;
        }
    }
    /* A2 */
    if (!(c0 & (C_L | C_N | C_CRLF))) {
        j = i + l0;
        if (j < n && (class_at(s, j, &l1) & C_L))
            return run_end(s, n, j + l1, C_L, 0);
    } else if (c0 & C_L) {
        return run_end(s, n, i + l0, C_L, 0);
    }
    /* A3 */
    if (c0 & C_N)
        return i + l0;
    /* A4: c0 is neither a letter nor a digit here. */
    if (!(c0 & C_S)) {
        j = run_end(s, n, i + l0, C_S | C_L | C_N, 1);
        while (j < n && (s[j] == '\r' || s[j] == '\n'))
            j++;
        return j;
    }
    if (s[i] == ' ' && i + 1 < n) {
        c1 = class_at(s, i + 1, &l1);
        if (!(c1 & (C_S | C_L | C_N))) {
            j = run_end(s, n, i + 1 + l1, C_S | C_L | C_N, 1);
            while (j < n && (s[j] == '\r' || s[j] == '\n'))
                j++;
            return j;
        }
    }
    /* c0 is whitespace.  A5: up to the last \r or \n of the whitespace run. */
    {
        size_t k = i, last_crlf_end = 0, last_start = i;
        while (k < n) {
            size_t cl;
            unsigned c = class_at(s, k, &cl);
            if (!(c & C_S))
                break;
            if (c & C_CRLF)
                last_crlf_end = k + cl;
            last_start = k;
            k += cl;
        }
        if (last_crlf_end)
            return last_crlf_end;
        /* A6: the run, but leave its last character if a non-space follows. */
        if (k == n)
            return k;
        if (last_start > i)
            return last_start;
        /* A7 */
        return k;
    }
}

void apollo__tokenizer_pretokenize(const char *text, size_t len, apollo__pretok_fn fn, void *user)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        size_t e = piece_end(s, len, i);
        fn(user, i, e - i);
        i = e;
    }
}

/* ======================================================================== */
/* Output vector and per-call scratch                                       */
/* ======================================================================== */

typedef struct encoder {
    const apollo__tokenizer *t;
    int32_t *ids;
    size_t n, cap;
    /* BPE scratch */
    int32_t *sym;   /* symbol ids */
    int32_t *rank;  /* rank of (sym[k], sym[k+1]) */
    int32_t *nid;   /* merged id of that pair */
    int32_t *prev, *next; /* linked list (heap variant) */
    size_t scap;
    struct hent *heap;
    size_t hcap;
    /* NFC scratch */
    utf8proc_int32_t *nfc;
    size_t nfc_cap;
    unsigned char *nbuf; /* normalised text */
    size_t nbuf_len, nbuf_cap;
    struct wcent *cache; /* per-call word cache (long texts only) */
} encoder;

/* Per-call cache of short words' BPE results: direct-mapped, a collision
 * just replaces the entry.  Per call, so the tokenizer stays immutable. */
#define WC_SLOTS 4096
#define WC_MAXLEN 15
typedef struct wcent {
    uint32_t hash;
    uint8_t len; /* 0: empty */
    uint8_t n_ids;
    unsigned char bytes[WC_MAXLEN];
    int32_t ids[WC_MAXLEN];
} wcent;

typedef struct hent {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
} hent;

static int push_id(encoder *e, int32_t id)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 64;
        int32_t *p = apollo__realloc(e->ids, cap * sizeof *p);
        if (!p)
            return apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
        e->ids = p;
        e->cap = cap;
    }
    e->ids[e->n++] = id;
    return APOLLO_OK;
}

static int scratch_reserve(encoder *e, size_t n)
{
    if (n <= e->scap)
        return APOLLO_OK;
    {
        size_t cap = e->scap ? e->scap : 64;
        int32_t **arrs[5];
        while (cap < n)
            cap *= 2;
        arrs[0] = &e->sym;
        arrs[1] = &e->rank;
        arrs[2] = &e->nid;
        arrs[3] = &e->prev;
        arrs[4] = &e->next;
        for (int k = 0; k < 5; k++) {
            int32_t *p = apollo__realloc(*arrs[k], cap * sizeof *p);
            if (!p)
                return apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
            *arrs[k] = p;
        }
        e->scap = cap;
    }
    return APOLLO_OK;
}

/* ======================================================================== */
/* BPE                                                                      */
/* ======================================================================== */

#define NO_RANK INT32_MAX

static inline int32_t pair_rank(const apollo__tokenizer *t, int32_t a, int32_t b, int32_t *nid)
{
    int32_t r = tok__merge_find(t, a, b, nid);
    return r < 0 ? NO_RANK : r;
}

/* Short words: keep the pair ranks in an array and merge the lowest
 * (leftmost on ties) until none is left.  Same order as HF's heap. */
static int bpe_small(encoder *e, const unsigned char *w, size_t n)
{
    const apollo__tokenizer *t = e->t;
    int32_t *sym = e->sym, *rank = e->rank, *nid = e->nid;
    size_t m = n;
    for (size_t k = 0; k < n; k++)
        sym[k] = t->byte_id[w[k]];
    for (size_t k = 0; k + 1 < n; k++)
        rank[k] = pair_rank(t, sym[k], sym[k + 1], &nid[k]);
    while (m > 1) {
        size_t best = 0;
        int32_t br = rank[0];
        for (size_t k = 1; k + 1 < m; k++) {
            if (rank[k] < br) {
                br = rank[k];
                best = k;
            }
        }
        if (br == NO_RANK)
            break;
        sym[best] = nid[best];
        /* drop symbol best+1 and pair best+1 */
        for (size_t k = best + 1; k + 1 < m; k++) {
            sym[k] = sym[k + 1];
            rank[k] = rank[k + 1];
            nid[k] = nid[k + 1];
        }
        m--;
        if (best > 0)
            rank[best - 1] = pair_rank(t, sym[best - 1], sym[best], &nid[best - 1]);
        if (best + 1 < m)
            rank[best] = pair_rank(t, sym[best], sym[best + 1], &nid[best]);
    }
    for (size_t k = 0; k < m; k++) {
        int rc = push_id(e, sym[k]);
        if (rc)
            return rc;
    }
    return APOLLO_OK;
}

/* Long words: HF's algorithm, a heap of (rank, position) over a linked
 * list of symbols with lazy invalidation, O(n log n). */
static inline int hless(const hent *a, const hent *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static int heap_push(encoder *e, size_t *hn, hent v)
{
    size_t i;
    if (*hn == e->hcap) {
        size_t cap = e->hcap ? e->hcap * 2 : 256;
        hent *p = apollo__realloc(e->heap, cap * sizeof *p);
        if (!p)
            return apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
        e->heap = p;
        e->hcap = cap;
    }
    i = (*hn)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!hless(&v, &e->heap[p]))
            break;
        e->heap[i] = e->heap[p];
        i = p;
    }
    e->heap[i] = v;
    return APOLLO_OK;
}

static hent heap_pop(encoder *e, size_t *hn)
{
    hent top = e->heap[0], last = e->heap[--(*hn)];
    size_t i = 0, n = *hn;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && hless(&e->heap[c + 1], &e->heap[c]))
            c++;
        if (!hless(&e->heap[c], &last))
            break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (n)
        e->heap[i] = last;
    return top;
}

static int bpe_large(encoder *e, const unsigned char *w, size_t n)
{
    const apollo__tokenizer *t = e->t;
    int32_t *sym = e->sym, *prev = e->prev, *next = e->next;
    size_t hn = 0;
    int rc;
    for (size_t k = 0; k < n; k++) {
        sym[k] = t->byte_id[w[k]];
        prev[k] = (int32_t)k - 1;
        next[k] = k + 1 < n ? (int32_t)k + 1 : -1;
    }
    for (size_t k = 0; k + 1 < n; k++) {
        hent h;
        h.rank = pair_rank(t, sym[k], sym[k + 1], &h.new_id);
        h.pos = (int32_t)k;
        if (h.rank != NO_RANK && (rc = heap_push(e, &hn, h)) != 0)
            return rc;
    }
    while (hn) {
        hent h = heap_pop(e, &hn);
        int32_t p = h.pos, q = next[p], nid2;
        if (sym[p] < 0 || q < 0)
            continue;
        if (tok__merge_find(t, sym[p], sym[q], &nid2) < 0 || nid2 != h.new_id)
            continue;
        sym[p] = h.new_id;
        sym[q] = -1; /* dead */
        next[p] = next[q];
        if (next[q] >= 0)
            prev[next[q]] = p;
        if (prev[p] >= 0) {
            hent g;
            g.rank = pair_rank(t, sym[prev[p]], sym[p], &g.new_id);
            g.pos = prev[p];
            if (g.rank != NO_RANK && (rc = heap_push(e, &hn, g)) != 0)
                return rc;
        }
        if (next[p] >= 0) {
            hent g;
            g.rank = pair_rank(t, sym[p], sym[next[p]], &g.new_id);
            g.pos = p;
            if (g.rank != NO_RANK && (rc = heap_push(e, &hn, g)) != 0)
                return rc;
        }
    }
    for (int32_t k = 0; k >= 0; k = next[k]) {
        if ((rc = push_id(e, sym[k])) != 0)
            return rc;
    }
    return APOLLO_OK;
}

#define BPE_SMALL_MAX 48

static int bpe_word(encoder *e, const unsigned char *w, size_t n)
{
    const apollo__tokenizer *t = e->t;
    int rc;
    if (n == 1)
        return push_id(e, t->byte_id[w[0]]);
    if (n > (size_t)INT32_MAX / 2)
        return apollo__fail(APOLLO_E_INVALID_ARG, "tokenizer: a %zu-byte word is too long", n);
    if (t->ignore_merges || n <= BPE_SMALL_MAX) {
        /* A word that is a token whose own BPE gives itself back (checked at
         * load time) needs no merging: one lookup instead of ~3n. */
        int32_t id = tok__vocab_find(t, w, n);
        if (id >= 0 && (t->ignore_merges || (t->flags[id] & TOK__F_WHOLE)))
            return push_id(e, id);
    }
    if (e->cache && n <= WC_MAXLEN) {
        uint64_t h = tok__hash_bytes(w, n);
        wcent *c = &e->cache[h & (WC_SLOTS - 1)];
        size_t first = e->n;
        if (c->len == n && c->hash == (uint32_t)(h >> 32) && memcmp(c->bytes, w, n) == 0) {
            for (size_t k = 0; k < c->n_ids; k++)
                if ((rc = push_id(e, c->ids[k])) != 0)
                    return rc;
            return APOLLO_OK;
        }
        if ((rc = scratch_reserve(e, n)) != 0 || (rc = bpe_small(e, w, n)) != 0)
            return rc;
        c->hash = (uint32_t)(h >> 32);
        c->len = (uint8_t)n;
        c->n_ids = (uint8_t)(e->n - first);
        memcpy(c->bytes, w, n);
        memcpy(c->ids, e->ids + first, (e->n - first) * sizeof *c->ids);
        return APOLLO_OK;
    }
    if ((rc = scratch_reserve(e, n)) != 0)
        return rc;
    return n <= BPE_SMALL_MAX ? bpe_small(e, w, n) : bpe_large(e, w, n);
}

int apollo__tok_mark_whole(apollo__tokenizer *t)
{
    encoder e;
    int rc = APOLLO_OK;
    memset(&e, 0, sizeof e);
    e.t = t;
    if ((rc = scratch_reserve(&e, BPE_SMALL_MAX)) != 0)
        goto out;
    for (int32_t id = 0; id < t->n_tokens; id++) {
        const tok__span *p = &t->pieces[id];
        if ((t->flags[id] & (TOK__F_PRESENT | TOK__F_ADDED)) != TOK__F_PRESENT)
            continue;
        if (p->len == 1) {
            t->flags[id] |= TOK__F_WHOLE;
            continue;
        }
        if (p->len > BPE_SMALL_MAX)
            continue;
        e.n = 0;
        if ((rc = bpe_small(&e, (const unsigned char *)t->arena + p->off, p->len)) != 0)
            goto out;
        if (e.n == 1 && e.ids[0] == id)
            t->flags[id] |= TOK__F_WHOLE;
    }
out:
    apollo__free(e.ids);
    apollo__free(e.sym);
    apollo__free(e.rank);
    apollo__free(e.nid);
    apollo__free(e.prev);
    apollo__free(e.next);
    return rc;
}

/* ======================================================================== */
/* Normalisation and segments                                               */
/* ======================================================================== */

/* Combining marks that utf8proc gives a non-zero canonical combining class
 * but HF tokenizers' NFC (the unicode-normalization-alignments crate, with
 * older Unicode tables) treats as unknown starters (class 0, no
 * composition).  Found by tools/reference/tokenizer/nfc_diff.py:
 * utf8proc 2.8.0 (Unicode 15.0.0) vs tokenizers' NFC: 108 code points */
static const struct {
    uint32_t lo, hi;
} HF_NFC_STARTERS[] = {
    {0x007FD, 0x007FD},
    {0x00898, 0x0089F},
    {0x008CA, 0x008D3},
    {0x009FE, 0x009FE},
    {0x00C3C, 0x00C3C},
    {0x00D3B, 0x00D3C},
    {0x00EBA, 0x00EBA},
    {0x01715, 0x01715},
    {0x01ABF, 0x01ACE},
    {0x01DF6, 0x01DFA},
    {0x0A82C, 0x0A82C},
    {0x10D24, 0x10D27},
    {0x10EAB, 0x10EAC},
    {0x10EFD, 0x10EFF},
    {0x10F46, 0x10F50},
    {0x10F82, 0x10F85},
    {0x11070, 0x11070},
    {0x1133B, 0x1133B},
    {0x1145E, 0x1145E},
    {0x11839, 0x1183A},
    {0x1193D, 0x1193E},
    {0x11943, 0x11943},
    {0x119E0, 0x119E0},
    {0x11A34, 0x11A34},
    {0x11A47, 0x11A47},
    {0x11A99, 0x11A99},
    {0x11D42, 0x11D42},
    {0x11D44, 0x11D45},
    {0x11D97, 0x11D97},
    {0x11F41, 0x11F42},
    {0x16FF0, 0x16FF1},
    {0x1E08F, 0x1E08F},
    {0x1E130, 0x1E136},
    {0x1E2AE, 0x1E2AE},
    {0x1E2EC, 0x1E2EF},
    {0x1E4EC, 0x1E4EF},
};

static int is_hf_nfc_starter(uint32_t cp)
{
    size_t lo = 0, hi = sizeof HF_NFC_STARTERS / sizeof HF_NFC_STARTERS[0];
    if (cp < HF_NFC_STARTERS[0].lo || cp > HF_NFC_STARTERS[hi - 1].hi)
        return 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < HF_NFC_STARTERS[mid].lo)
            hi = mid;
        else if (cp > HF_NFC_STARTERS[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

static int nbuf_append(encoder *e, const void *p, size_t n)
{
    if (n == 0)
        return APOLLO_OK;
    if (e->nbuf_len + n > e->nbuf_cap) {
        size_t cap = e->nbuf_cap ? e->nbuf_cap : 256;
        unsigned char *q;
        while (cap < e->nbuf_len + n)
            cap *= 2;
        q = apollo__realloc(e->nbuf, cap);
        if (!q)
            return apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
        e->nbuf = q;
        e->nbuf_cap = cap;
    }
    memcpy(e->nbuf + e->nbuf_len, p, n);
    e->nbuf_len += n;
    return APOLLO_OK;
}

/* Appends utf8proc's NFC of s[0..n) to e->nbuf. */
static int nfc_append(encoder *e, const unsigned char *s, size_t n)
{
    const utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    utf8proc_ssize_t need, got;
    if (n == 0)
        return APOLLO_OK;
    if (n > (size_t)(PTRDIFF_MAX / 8))
        return apollo__fail(APOLLO_E_INVALID_ARG, "tokenizer: text too long");
    need = utf8proc_decompose(s, (utf8proc_ssize_t)n, NULL, 0, opt);
    if (need < 0)
        return apollo__fail(APOLLO_E_INVALID_ARG, "tokenizer: %s", utf8proc_errmsg(need));
    if ((size_t)need + 1 > e->nfc_cap) {
        utf8proc_int32_t *p = apollo__realloc(e->nfc, ((size_t)need + 1) * sizeof *p);
        if (!p)
            return apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
        e->nfc = p;
        e->nfc_cap = (size_t)need + 1;
    }
    got = utf8proc_decompose(s, (utf8proc_ssize_t)n, e->nfc, need, opt);
    if (got < 0 || got > need)
        return apollo__fail(APOLLO_E_INVALID_ARG, "tokenizer: NFC failed");
    /* Composes (COMPOSE in opt) and re-encodes in place: UTF-8 never needs
     * more than 4 bytes per code point, plus the NUL it appends. */
    got = utf8proc_reencode(e->nfc, got, opt);
    if (got < 0)
        return apollo__fail(APOLLO_E_INVALID_ARG, "tokenizer: %s", utf8proc_errmsg(got));
    return nbuf_append(e, e->nfc, (size_t)got);
}

/* Appends HF's NFC of s[0..n) to e->nbuf.  The marks of HF_NFC_STARTERS
 * cut the text into independently normalised parts and are copied as they
 * are: for a starter that never composes that is what NFC does. */
static int nfc_run(encoder *e, const unsigned char *s, size_t n)
{
    size_t i = 0, start = 0;
    int rc;
    while (i < n) {
        size_t cl;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if (!is_hf_nfc_starter(utf8_at(s, i, &cl))) {
            i += cl;
            continue;
        }
        if ((rc = nfc_append(e, s + start, i - start)) != 0 || (rc = nbuf_append(e, s + i, cl)) != 0)
            return rc;
        i += cl;
        start = i;
    }
    return nfc_append(e, s + start, n - start);
}

/* NFC of s[0..n) as HF computes it; *out points to s itself (all ASCII) or
 * into e->nbuf.  Only runs of non-ASCII characters, with the ASCII
 * character before each (a combining mark may compose with it), go through
 * utf8proc: no ASCII character combines with what precedes it, so the text
 * can be normalised piecewise at every ASCII character. */
static int nfc(encoder *e, const unsigned char *s, size_t n, const unsigned char **out,
               size_t *out_len)
{
    size_t i, copied = 0;
    int rc;
    for (i = 0; i < n && s[i] < 0x80; i++)
        ;
    if (i == n) {
        *out = s;
        *out_len = n;
        return APOLLO_OK;
    }
    e->nbuf_len = 0;
    while (i < n) {
        size_t rs = i > copied ? i - 1 : i, re = i;
        while (re < n && s[re] >= 0x80)
            re++;
        if ((rc = nbuf_append(e, s + copied, rs - copied)) != 0 || (rc = nfc_run(e, s + rs, re - rs)) != 0)
            return rc;
        copied = re;
        for (i = re; i < n && s[i] < 0x80; i++)
            ;
    }
    if ((rc = nbuf_append(e, s + copied, n - copied)) != 0)
        return rc;
    *out = e->nbuf;
    *out_len = e->nbuf_len;
    return APOLLO_OK;
}

/* One span of ordinary text: NFC, pre-tokenize, BPE each piece. */
static int encode_span(encoder *e, const unsigned char *s, size_t n)
{
    const unsigned char *t = s;
    size_t tn = 0, i = 0;
    int rc;
    if (n == 0)
        return APOLLO_OK;
    if ((rc = nfc(e, s, n, &t, &tn)) != 0)
        return rc;
    while (i < tn) {
        size_t end = piece_end(t, tn, i);
        if ((rc = bpe_word(e, t + i, end - i)) != 0)
            return rc;
        i = end;
    }
    return APOLLO_OK;
}

/* Longest added token starting at s[i], or NULL. */
static inline const tok__added *added_at(const apollo__tokenizer *t, const unsigned char *s,
                                         size_t n, size_t i)
{
    unsigned c = s[i];
    for (size_t k = t->added_first[c]; k < t->added_first[c + 1]; k++) {
        const tok__added *a = &t->added[k];
        if (a->len <= n - i && memcmp(t->arena + a->off, s + i, a->len) == 0)
            return a; /* sorted longest first */
    }
    return NULL;
}

int apollo__tokenizer_encode(const apollo__tokenizer *tok, const char *text, size_t len,
                             int32_t **ids, size_t *n_ids)
{
    const unsigned char *s = (const unsigned char *)text;
    encoder e;
    size_t i, start = 0;
    int rc = APOLLO_OK;

    if (ids)
        *ids = NULL;
    if (n_ids)
        *n_ids = 0;
    if (!tok || !ids || !n_ids || (!text && len))
        return apollo__fail(APOLLO_E_INVALID_ARG, "tokenizer: NULL argument");
    if (tok->magic != APOLLO__TOK_MAGIC)
        return apollo__fail(APOLLO_E_MISUSE, "tokenizer: not a loaded tokenizer");
    if (!apollo__utf8_valid(text, len))
        return apollo__fail(APOLLO_E_INVALID_ARG, "tokenizer: text is not valid UTF-8");

    memset(&e, 0, sizeof e);
    e.t = tok;
    e.cap = len / 3 + 16;
    e.ids = apollo__malloc(e.cap * sizeof *e.ids);
    if (!e.ids) {
        rc = apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
        goto out;
    }
    if (len >= 2048) {
        e.cache = apollo__calloc(WC_SLOTS, sizeof *e.cache);
        if (!e.cache) {
            rc = apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
            goto out;
        }
    }
    for (i = 0; i < len;) {
        const tok__added *a = tok->added_first[s[i]] != tok->added_first[s[i] + 1]
                                  ? added_at(tok, s, len, i)
                                  : NULL;
        if (!a) {
            i++;
            continue;
        }
        if ((rc = encode_span(&e, s + start, i - start)) != 0 || (rc = push_id(&e, a->id)) != 0)
            goto out;
        i += a->len;
        start = i;
    }
    rc = encode_span(&e, s + start, len - start);
out:
    apollo__free(e.sym);
    apollo__free(e.rank);
    apollo__free(e.nid);
    apollo__free(e.prev);
    apollo__free(e.next);
    apollo__free(e.heap);
    apollo__free(e.nfc);
    apollo__free(e.nbuf);
    apollo__free(e.cache);
    if (rc != APOLLO_OK) {
        apollo__free(e.ids);
        return rc;
    }
    *ids = e.ids;
    *n_ids = e.n;
    return APOLLO_OK;
}
