/* Decoding ids to text, whole or streamed, with HF's lossy UTF-8 rule:
 * each maximal invalid subsequence becomes one U+FFFD (Rust's
 * String::from_utf8_lossy, Python's errors="replace"). */
#include "text/tok_internal.h"

#include "common/alloc.h"
#include "common/status.h"

static const char REPLACEMENT[3] = {(char)0xEF, (char)0xBF, (char)0xBD};

/* Growable output buffer. */
typedef struct obuf {
    char *p;
    size_t n, cap;
} obuf;

static int ob_reserve(obuf *o, size_t extra)
{
    if (o->n + extra + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        char *p;
        while (cap < o->n + extra + 1)
            cap *= 2;
        p = apollo__realloc(o->p, cap);
        if (!p)
            return apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
        o->p = p;
        o->cap = cap;
    }
    return APOLLO_OK;
}

/* Length of the valid prefix of the UTF-8 sequence starting at s[0]
 * (1..4 bytes available: n), and the length the lead byte asks for.
 * Returns the number of bytes that are consistent so far. */
static size_t utf8_prefix(const unsigned char *s, size_t n, size_t *need)
{
    unsigned c = s[0];
    unsigned lo = 0x80, hi = 0xBF;
    size_t k;
    if (c < 0x80) {
        *need = 1;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF)
        *need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        *need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        *need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        *need = 1; /* invalid lead byte */
        return 0;
    }
    for (k = 1; k < *need && k < n; k++) {
        unsigned b = s[k];
        if (k == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80)
            break;
    }
    return k;
}

/* Converts s[0..n) to valid UTF-8 into o.  With final == 0, an incomplete
 * (but so far valid) sequence at the end is not converted: its length is
 * returned so the caller can keep it for later.  Returns 0 or < 0 error
 * via *rc. */
static size_t lossy(obuf *o, const unsigned char *s, size_t n, int final, int *rc)
{
    size_t i = 0;
    *rc = ob_reserve(o, n * 3 + 3);
    if (*rc)
        return 0;
    while (i < n) {
        size_t need, ok;
        if (s[i] < 0x80) {
            o->p[o->n++] = (char)s[i++];
            continue;
        }
        ok = utf8_prefix(s + i, n - i, &need);
        if (ok == need) {
            memcpy(o->p + o->n, s + i, need);
            o->n += need;
            i += need;
        } else if (i + ok == n && ok > 0 && !final) {
            break; /* may still be completed by the next token */
        } else {
            memcpy(o->p + o->n, REPLACEMENT, 3);
            o->n += 3;
            i += ok ? ok : 1;
        }
    }
    o->p[o->n] = '\0';
    return n - i;
}

int apollo__tokenizer_decode(const apollo__tokenizer *tok, const int32_t *ids, size_t n_ids,
                             char **text, size_t *len)
{
    obuf raw = {0}, out = {0};
    int rc = APOLLO_OK;
    if (text)
        *text = NULL;
    if (len)
        *len = 0;
    if (!tok || !text || !len || (!ids && n_ids))
        return apollo__fail(APOLLO_E_INVALID_ARG, "tokenizer: NULL argument");
    for (size_t i = 0; i < n_ids; i++) {
        const char *b;
        size_t bl;
        if ((rc = apollo__tokenizer_decode_token(tok, ids[i], &b, &bl)) != 0 ||
            (rc = ob_reserve(&raw, bl)) != 0)
            goto out;
        memcpy(raw.p + raw.n, b, bl);
        raw.n += bl;
    }
    lossy(&out, (const unsigned char *)raw.p, raw.n, 1, &rc);
    if (rc)
        goto out;
    *text = out.p;
    *len = out.n;
    out.p = NULL;
out:
    apollo__free(raw.p);
    apollo__free(out.p);
    return rc;
}

/* ======================================================================== */
/* Streaming                                                                */
/* ======================================================================== */

void apollo__detok_init(apollo__detok *d, const apollo__tokenizer *tok)
{
    memset(d, 0, sizeof *d);
    d->tok = tok;
}

void apollo__detok_reset(apollo__detok *d)
{
    d->n_pending = 0;
}

void apollo__detok_free(apollo__detok *d)
{
    if (!d)
        return;
    apollo__free(d->buf);
    d->buf = NULL;
    d->cap = 0;
    d->n_pending = 0;
}

/* Runs pending + bytes through the lossy converter into d->buf; an
 * incomplete character at the end (at most 3 bytes) is held back. */
static int detok_feed(apollo__detok *d, const char *bytes, size_t n, int final, const char **text,
                      size_t *len)
{
    unsigned char small[256], *tmp = small;
    size_t tn = d->n_pending + n, keep;
    obuf o;
    int rc;
    if (tn > sizeof small) {
        tmp = apollo__malloc(tn);
        if (!tmp)
            return apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
    }
    memcpy(tmp, d->pending, d->n_pending);
    if (n)
        memcpy(tmp + d->n_pending, bytes, n);
    o.p = d->buf;
    o.n = 0;
    o.cap = d->cap;
    keep = lossy(&o, tmp, tn, final, &rc);
    d->buf = o.p;
    d->cap = o.cap;
    if (rc == APOLLO_OK) {
        memcpy(d->pending, tmp + tn - keep, keep);
        d->n_pending = keep;
        *text = d->buf;
        *len = o.n;
    }
    if (tmp != small)
        apollo__free(tmp);
    return rc;
}

int apollo__detok_push(apollo__detok *d, int32_t id, const char **text, size_t *len)
{
    const char *b;
    size_t bl;
    int rc;
    if (!d || !text || !len)
        return apollo__fail(APOLLO_E_INVALID_ARG, "detok: NULL argument");
    *text = "";
    *len = 0;
    if ((rc = apollo__tokenizer_decode_token(d->tok, id, &b, &bl)) != 0)
        return rc;
    return detok_feed(d, b, bl, 0, text, len);
}

int apollo__detok_flush(apollo__detok *d, const char **text, size_t *len)
{
    if (!d || !text || !len)
        return apollo__fail(APOLLO_E_INVALID_ARG, "detok: NULL argument");
    return detok_feed(d, "", 0, 1, text, len);
}
