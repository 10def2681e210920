/* Loading the Qwen2 tokenizer: tokenizer.json, or vocab.json + merges.txt
 * (+ tokenizer_config.json / added_tokens.json).  Encoding is in
 * tok_encode.c, decoding in tok_decode.c. */
#include "text/tok_internal.h"

#include "common/alloc.h"
#include "common/json_util.h"
#include "common/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The only pre-tokenizer pattern we implement (tok_encode.c hand-codes it). */
static const char QWEN2_SPLIT_REGEX[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

#define TOK__MAX_ID (1 << 24)

/* ======================================================================== */
/* Small helpers                                                            */
/* ======================================================================== */

static char *path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = apollo__malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Whole file into an apollo__malloc buffer (NUL-terminated). */
static int read_file(const char *path, const char *name, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long size;
    char *buf;
    if (!f) {
        int e = errno;
        return apollo__fail(e == ENOENT ? APOLLO_E_NOT_FOUND : APOLLO_E_IO, "%s: %s", name,
                            e == ENOENT ? "file not found" : strerror(e));
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return apollo__fail(APOLLO_E_IO, "%s: cannot read (not a regular file?)", name);
    }
    buf = apollo__malloc((size_t)size + 1);
    if (!buf) {
        fclose(f);
        return apollo__fail(APOLLO_E_NOMEM, "%s: out of memory reading %ld bytes", name, size);
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        apollo__free(buf);
        return apollo__fail(APOLLO_E_IO, "%s: read error", name);
    }
    fclose(f);
    buf[size] = '\0';
    *out = buf;
    *len = (size_t)size;
    return APOLLO_OK;
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n)
        p <<= 1;
    return p;
}

/* GPT-2's bytes_to_unicode, inverted: code point (< 324) -> byte, or -1. */
static void byte_level_inverse(int16_t u2b[324])
{
    int n = 0;
    for (int i = 0; i < 324; i++)
        u2b[i] = -1;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        if (printable)
            u2b[b] = (int16_t)b;
        else
            u2b[256 + n++] = (int16_t)b;
    }
}

/* ======================================================================== */
/* Builder                                                                  */
/* ======================================================================== */

typedef struct builder {
    apollo__tokenizer *t;
    int16_t u2b[324];
    unsigned char *scratch; /* decoded bytes of one or two tokens */
    size_t scratch_cap;
    const char *where; /* file name for messages */
} builder;

static int arena_add(apollo__tokenizer *t, const void *s, size_t n, uint32_t *off)
{
    if (t->arena_len + n + 1 > t->arena_cap) {
        size_t cap = t->arena_cap ? t->arena_cap : 1 << 20;
        char *p;
        while (cap < t->arena_len + n + 1)
            cap *= 2;
        if (cap > UINT32_MAX)
            return apollo__fail(APOLLO_E_CONFIG, "tokenizer: vocabulary too large");
        p = apollo__realloc(t->arena, cap);
        if (!p)
            return apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
        t->arena = p;
        t->arena_cap = cap;
    }
    memcpy(t->arena + t->arena_len, s, n);
    t->arena[t->arena_len + n] = '\0';
    *off = (uint32_t)t->arena_len;
    t->arena_len += n + 1;
    return APOLLO_OK;
}

static int scratch_reserve(builder *b, size_t n)
{
    if (n > b->scratch_cap) {
        size_t cap = pow2_at_least(n);
        unsigned char *p = apollo__realloc(b->scratch, cap);
        if (!p)
            return apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
        b->scratch = p;
        b->scratch_cap = cap;
    }
    return APOLLO_OK;
}

/* Byte-level string (UTF-8 of GPT-2 mapped code points) -> raw bytes,
 * appended at b->scratch + at.  *n receives the number of bytes. */
static int unmap_bytes(builder *b, const char *s, size_t slen, size_t at, size_t *n)
{
    size_t i = 0, k = 0;
    int rc = scratch_reserve(b, at + slen + 1);
    if (rc)
        return rc;
    while (i < slen) {
        unsigned c = (unsigned char)s[i];
        unsigned cp;
        if (c < 0x80) {
            cp = c;
            i += 1;
        } else if ((c & 0xE0) == 0xC0 && i + 1 < slen) {
            cp = (c & 0x1Fu) << 6 | ((unsigned char)s[i + 1] & 0x3Fu);
            i += 2;
        } else {
            cp = 0xFFFF; /* anything longer is outside the byte-level alphabet */
        }
        if (cp >= 324 || b->u2b[cp] < 0)
            return apollo__fail(APOLLO_E_CONFIG,
                                "%s: token '%.*s' is not a byte-level string (GPT-2 mapping)",
                                b->where, (int)(slen > 64 ? 64 : slen), s);
        b->scratch[at + k++] = (unsigned char)b->u2b[cp];
    }
    *n = k;
    return APOLLO_OK;
}

static int alloc_ids(builder *b, int32_t n_tokens)
{
    apollo__tokenizer *t = b->t;
    t->n_tokens = n_tokens;
    t->pieces = apollo__calloc((size_t)n_tokens, sizeof *t->pieces);
    t->flags = apollo__calloc((size_t)n_tokens, 1);
    if (!t->pieces || !t->flags)
        return apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
    return APOLLO_OK;
}

/* Pass 1 over the vocabulary: largest id. */
static int vocab_max_id(const builder *b, json_t *vocab, int64_t *max_id)
{
    const char *key;
    json_t *v;
    *max_id = -1;
    json_object_foreach(vocab, key, v) {
        json_int_t id;
        if (!json_is_integer(v))
            return apollo__fail(APOLLO_E_CONFIG, "%s: vocabulary entry '%.64s' is not an integer",
                                b->where, key);
        id = json_integer_value(v);
        if (id < 0 || id >= TOK__MAX_ID)
            return apollo__fail(APOLLO_E_CONFIG, "%s: vocabulary id %lld out of range", b->where,
                                (long long)id);
        if (id > *max_id)
            *max_id = id;
    }
    return APOLLO_OK;
}

static int vocab_insert(builder *b, json_t *vocab)
{
    apollo__tokenizer *t = b->t;
    size_t n = json_object_size(vocab);
    const char *key;
    json_t *v;
    int rc;

    t->vmask = pow2_at_least(n * 2 + 1) - 1;
    t->vmap = apollo__malloc((t->vmask + 1) * sizeof *t->vmap);
    if (!t->vmap)
        return apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
    for (size_t i = 0; i <= t->vmask; i++)
        t->vmap[i].id = -1;

    json_object_foreach(vocab, key, v) {
        int32_t id = (int32_t)json_integer_value(v);
        size_t nb;
        uint64_t h;
        size_t i;
        if ((rc = unmap_bytes(b, key, strlen(key), 0, &nb)) != 0)
            return rc;
        if (t->flags[id] & TOK__F_PRESENT)
            return apollo__fail(APOLLO_E_CONFIG, "%s: id %d is used by two tokens", b->where,
                                (int)id);
        if (nb == 0)
            return apollo__fail(APOLLO_E_CONFIG, "%s: empty token in the vocabulary", b->where);
        if (tok__vocab_find(t, b->scratch, nb) >= 0)
            return apollo__fail(APOLLO_E_CONFIG, "%s: token '%.64s' appears twice", b->where, key);
        if ((rc = arena_add(t, b->scratch, nb, &t->pieces[id].off)) != 0)
            return rc;
        t->pieces[id].len = (uint32_t)nb;
        t->flags[id] = TOK__F_PRESENT;
        h = tok__hash_bytes(b->scratch, nb);
        i = (size_t)h & t->vmask;
        while (t->vmap[i].id >= 0)
            i = (i + 1) & t->vmask;
        t->vmap[i].hash = (uint32_t)h;
        t->vmap[i].id = id;
    }
    for (int c = 0; c < 256; c++) {
        unsigned char byte = (unsigned char)c;
        t->byte_id[c] = tok__vocab_find(t, &byte, 1);
        if (t->byte_id[c] < 0)
            return apollo__fail(APOLLO_E_CONFIG,
                                "%s: the vocabulary has no token for byte 0x%02x (not byte-level BPE?)",
                                b->where, c);
    }
    return APOLLO_OK;
}

static int merges_alloc(builder *b, size_t n)
{
    apollo__tokenizer *t = b->t;
    t->mmask = pow2_at_least(n * 2 + 1) - 1;
    t->mmap = apollo__malloc((t->mmask + 1) * sizeof *t->mmap);
    if (!t->mmap)
        return apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
    for (size_t i = 0; i <= t->mmask; i++)
        t->mmap[i].rank = -1;
    return APOLLO_OK;
}

/* Adds merge number `rank`: the byte-level strings a and b. */
static int merge_add(builder *b, const char *a, size_t alen, const char *bs, size_t blen,
                     size_t rank)
{
    apollo__tokenizer *t = b->t;
    size_t na, nb;
    int32_t ia, ib, inew;
    uint64_t key;
    size_t i;
    int rc;

    if ((rc = unmap_bytes(b, a, alen, 0, &na)) != 0)
        return rc;
    if ((rc = unmap_bytes(b, bs, blen, na, &nb)) != 0)
        return rc;
    ia = tok__vocab_find(t, b->scratch, na);
    ib = tok__vocab_find(t, b->scratch + na, nb);
    inew = tok__vocab_find(t, b->scratch, na + nb);
    if (ia < 0 || ib < 0 || inew < 0)
        return apollo__fail(APOLLO_E_CONFIG,
                            "%s: merge %zu ('%.*s %.*s') uses a token that is not in the vocabulary",
                            b->where, rank + 1, (int)(alen > 40 ? 40 : alen), a,
                            (int)(blen > 40 ? 40 : blen), bs);
    if (rank > INT32_MAX - 1)
        return apollo__fail(APOLLO_E_CONFIG, "%s: too many merges", b->where);
    key = (uint64_t)(uint32_t)ia << 32 | (uint32_t)ib;
    i = (size_t)tok__hash_pair(key) & t->mmask;
    while (t->mmap[i].rank >= 0 && t->mmap[i].key != key)
        i = (i + 1) & t->mmask;
    if (t->mmap[i].rank < 0)
        t->n_merges++;
    /* A repeated pair keeps its last rank, as HF's and Python's dicts do. */
    t->mmap[i].key = key;
    t->mmap[i].rank = (int32_t)rank;
    t->mmap[i].new_id = inew;
    return APOLLO_OK;
}

/* tokenizer.json "merges": ["a b", ...] (tokenizers < 0.20) or [["a", "b"], ...]. */
static int merges_from_json(builder *b, json_t *merges)
{
    size_t n = json_array_size(merges);
    int rc = merges_alloc(b, n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(merges, i);
        if (json_is_string(m)) {
            const char *s = json_string_value(m);
            size_t len = json_string_length(m);
            const char *sp = memchr(s, ' ', len);
            if (!sp || memchr(sp + 1, ' ', len - (size_t)(sp + 1 - s)) || sp == s ||
                sp + 1 == s + len)
                return apollo__fail(APOLLO_E_CONFIG, "%s: merge %zu is not \"left right\"",
                                    b->where, i + 1);
            rc = merge_add(b, s, (size_t)(sp - s), sp + 1, len - (size_t)(sp + 1 - s), i);
        } else if (json_is_array(m) && json_array_size(m) == 2 &&
                   json_is_string(json_array_get(m, 0)) && json_is_string(json_array_get(m, 1))) {
            json_t *l = json_array_get(m, 0), *r = json_array_get(m, 1);
            rc = merge_add(b, json_string_value(l), json_string_length(l), json_string_value(r),
                           json_string_length(r), i);
        } else {
            return apollo__fail(APOLLO_E_CONFIG, "%s: merge %zu is neither a string nor a pair",
                                b->where, i + 1);
        }
        if (rc)
            return rc;
    }
    return APOLLO_OK;
}

static int is_space_char(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* merges.txt: optional "#version..." first line, then "left right" lines
 * (blank lines skipped), as transformers' Qwen2Tokenizer reads it. */
static int merges_from_text(builder *b, const char *buf, size_t len)
{
    size_t n_lines = 1, rank = 0, pos = 0, line_no = 0;
    int rc;
    for (size_t i = 0; i < len; i++)
        n_lines += buf[i] == '\n';
    if ((rc = merges_alloc(b, n_lines)) != 0)
        return rc;
    while (pos < len) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        size_t s = 0, e = ll;
        pos += ll + (nl ? 1 : 0);
        line_no++;
        while (s < e && is_space_char(line[s]))
            s++;
        while (e > s && is_space_char(line[e - 1]))
            e--;
        if (s == e)
            continue;
        if (line_no == 1 && e - s >= 9 && memcmp(line + s, "#version:", 9) == 0)
            continue;
        {
            const char *a = line + s;
            size_t k = 0, alen, bstart, blen;
            while (k < e - s && !is_space_char(a[k]))
                k++;
            alen = k;
            while (k < e - s && is_space_char(a[k]))
                k++;
            bstart = k;
            while (k < e - s && !is_space_char(a[k]))
                k++;
            blen = k - bstart;
            if (alen == 0 || blen == 0 || k != e - s)
                return apollo__fail(APOLLO_E_CONFIG, "%s: line %zu is not \"left right\"",
                                    b->where, line_no);
            if ((rc = merge_add(b, a, alen, a + bstart, blen, rank++)) != 0)
                return rc;
        }
    }
    return APOLLO_OK;
}

/* One added token.  Called for tokenizer.json "added_tokens" entries, for
 * tokenizer_config.json "added_tokens_decoder" and for added_tokens.json. */
static int added_add(builder *b, int64_t id, const char *content, size_t len, int special)
{
    apollo__tokenizer *t = b->t;
    tok__added *na;
    int rc;
    if (id < 0 || id >= t->n_tokens)
        return apollo__fail(APOLLO_E_CONFIG, "%s: added token id %lld out of range", b->where,
                            (long long)id);
    if (len == 0)
        return apollo__fail(APOLLO_E_CONFIG, "%s: added token %lld is empty", b->where,
                            (long long)id);
    if (t->flags[id] & TOK__F_PRESENT) {
        const tok__span *p = &t->pieces[id];
        if (p->len != len || memcmp(t->arena + p->off, content, len) != 0)
            return apollo__fail(APOLLO_E_CONFIG, "%s: id %lld is both '%.*s' and '%.40s'",
                                b->where, (long long)id, (int)(p->len > 40 ? 40 : p->len),
                                t->arena + p->off, content);
        if (t->flags[id] & TOK__F_ADDED) { /* listed twice (config and added_tokens.json) */
            if (special)
                t->flags[id] |= TOK__F_SPECIAL;
            return APOLLO_OK;
        }
        /* A regular token also declared as added: matched before BPE from now on. */
    } else {
        for (size_t i = 0; i < t->n_added; i++) {
            const tok__added *a = &t->added[i];
            if (a->len == len && memcmp(t->arena + a->off, content, len) == 0)
                return apollo__fail(APOLLO_E_CONFIG, "%s: added token '%.40s' has two ids",
                                    b->where, content);
        }
        if ((rc = arena_add(t, content, len, &t->pieces[id].off)) != 0)
            return rc;
        t->pieces[id].len = (uint32_t)len;
    }
    t->flags[id] |= TOK__F_PRESENT | TOK__F_ADDED | (special ? TOK__F_SPECIAL : 0);
    na = apollo__realloc(t->added, (t->n_added + 1) * sizeof *na);
    if (!na)
        return apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
    t->added = na;
    na[t->n_added].off = t->pieces[id].off;
    na[t->n_added].len = (uint32_t)len;
    na[t->n_added].id = (int32_t)id;
    na[t->n_added].first = (uint8_t)content[0];
    t->n_added++;
    return APOLLO_OK;
}

/* Flags of an AddedToken object; lstrip/rstrip/single_word change matching
 * in ways Qwen never uses, so they are refused rather than ignored. */
static int added_flags(builder *b, json_t *o, const char *content, int *special)
{
    static const char *const unsupported[] = {"lstrip", "rstrip", "single_word"};
    json_t *sp = json_object_get(o, "special");
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        json_t *v = json_object_get(o, unsupported[i]);
        if (v && !json_is_boolean(v))
            return apollo__fail(APOLLO_E_CONFIG, "%s: added token '%.40s': '%s' must be a boolean",
                                b->where, content, unsupported[i]);
        if (json_is_true(v))
            return apollo__fail(APOLLO_E_UNSUPPORTED,
                                "%s: added token '%.40s' has %s=true (not supported)", b->where,
                                content, unsupported[i]);
    }
    if (sp && !json_is_boolean(sp))
        return apollo__fail(APOLLO_E_CONFIG, "%s: added token '%.40s': 'special' must be a boolean",
                            b->where, content);
    *special = json_is_true(sp);
    return APOLLO_OK;
}

static int cmp_added(const void *pa, const void *pb)
{
    const tok__added *a = pa, *b = pb;
    if (a->first != b->first)
        return a->first < b->first ? -1 : 1;
    if (a->len != b->len)
        return a->len > b->len ? -1 : 1; /* longest first */
    return a->id < b->id ? -1 : a->id > b->id;
}

static void finish_added(apollo__tokenizer *t)
{
    size_t k = 0;
    if (t->n_added)
        qsort(t->added, t->n_added, sizeof *t->added, cmp_added);
    for (int c = 0; c <= 256; c++) {
        while (k < t->n_added && t->added[k].first < c)
            k++;
        t->added_first[c] = (uint16_t)k;
    }
}

/* ======================================================================== */
/* tokenizer.json                                                           */
/* ======================================================================== */

static int check_str(json_t *o, const char *key, const char *want)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

/* Empty string, null or absent. */
static int is_empty_opt(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return !v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

static int check_pipeline(builder *b, json_t *root)
{
    json_t *norm = json_object_get(root, "normalizer");
    json_t *pre = json_object_get(root, "pre_tokenizer");
    json_t *model = json_object_get(root, "model");
    json_t *split = NULL, *bl = NULL, *list;

    if (norm && !json_is_null(norm) && !check_str(norm, "type", "NFC"))
        return apollo__fail(APOLLO_E_UNSUPPORTED, "%s: normalizer is not NFC", b->where);

    if (!json_is_object(pre))
        return apollo__fail(APOLLO_E_UNSUPPORTED, "%s: no pre_tokenizer", b->where);
    if (check_str(pre, "type", "Sequence")) {
        list = json_object_get(pre, "pretokenizers");
        if (json_array_size(list) == 2) {
            split = json_array_get(list, 0);
            bl = json_array_get(list, 1);
        }
    }
    if (!split || !check_str(split, "type", "Split") || !check_str(split, "behavior", "Isolated") ||
        json_is_true(json_object_get(split, "invert")) ||
        !check_str(json_object_get(split, "pattern"), "Regex", QWEN2_SPLIT_REGEX) ||
        !check_str(bl, "type", "ByteLevel") || json_is_true(json_object_get(bl, "add_prefix_space")) ||
        json_is_true(json_object_get(bl, "use_regex")))
        return apollo__fail(APOLLO_E_UNSUPPORTED,
                            "%s: pre_tokenizer is not Qwen2's (Split with its regex, then ByteLevel)",
                            b->where);

    if (!json_is_object(model) || !check_str(model, "type", "BPE"))
        return apollo__fail(APOLLO_E_UNSUPPORTED, "%s: model is not BPE", b->where);
    if (!is_empty_opt(model, "continuing_subword_prefix") ||
        !is_empty_opt(model, "end_of_word_suffix") ||
        json_is_true(json_object_get(model, "byte_fallback")) ||
        (json_object_get(model, "dropout") && !json_is_null(json_object_get(model, "dropout"))))
        return apollo__fail(APOLLO_E_UNSUPPORTED,
                            "%s: BPE options (dropout, affixes, byte_fallback) are not supported",
                            b->where);
    b->t->ignore_merges = json_is_true(json_object_get(model, "ignore_merges"));
    return APOLLO_OK;
}

static int load_tokenizer_json(builder *b, const char *path)
{
    int rc;
    json_t *root = apollo__json_load_file(path, "tokenizer.json", &rc);
    json_t *model, *vocab, *merges, *added;
    int64_t max_id;
    if (!root)
        return rc;
    b->where = "tokenizer.json";
    if (!json_is_object(root)) {
        rc = apollo__fail(APOLLO_E_CONFIG, "tokenizer.json: not a JSON object");
        goto out;
    }
    if ((rc = check_pipeline(b, root)) != 0)
        goto out;
    model = json_object_get(root, "model");
    vocab = json_object_get(model, "vocab");
    merges = json_object_get(model, "merges");
    added = json_object_get(root, "added_tokens");
    if (!json_is_object(vocab) || !json_is_array(merges) || (added && !json_is_array(added))) {
        rc = apollo__fail(APOLLO_E_CONFIG,
                          "tokenizer.json: model.vocab must be an object, model.merges and "
                          "added_tokens arrays");
        goto out;
    }
    if ((rc = vocab_max_id(b, vocab, &max_id)) != 0)
        goto out;
    for (size_t i = 0; i < json_array_size(added); i++) {
        json_t *id = json_object_get(json_array_get(added, i), "id");
        if (!json_is_integer(id) || json_integer_value(id) < 0 ||
            json_integer_value(id) >= TOK__MAX_ID) {
            rc = apollo__fail(APOLLO_E_CONFIG, "tokenizer.json: added_tokens[%zu].id is invalid", i);
            goto out;
        }
        if (json_integer_value(id) > max_id)
            max_id = json_integer_value(id);
    }
    if ((rc = alloc_ids(b, (int32_t)(max_id + 1))) != 0 || (rc = vocab_insert(b, vocab)) != 0 ||
        (rc = merges_from_json(b, merges)) != 0)
        goto out;
    for (size_t i = 0; i < json_array_size(added); i++) {
        json_t *o = json_array_get(added, i);
        json_t *content = json_object_get(o, "content");
        int special;
        if (!json_is_string(content)) {
            rc = apollo__fail(APOLLO_E_CONFIG, "tokenizer.json: added_tokens[%zu].content is not a string", i);
            goto out;
        }
        if ((rc = added_flags(b, o, json_string_value(content), &special)) != 0 ||
            (rc = added_add(b, json_integer_value(json_object_get(o, "id")), json_string_value(content),
                            json_string_length(content), special)) != 0)
            goto out;
    }
out:
    json_decref(root);
    return rc;
}

/* ======================================================================== */
/* vocab.json + merges.txt (+ tokenizer_config.json, added_tokens.json)     */
/* ======================================================================== */

static int load_vocab_merges(builder *b, const char *dir, const char *vocab_path,
                             const char *merges_path)
{
    json_t *vocab = NULL, *cfg = NULL, *atj = NULL, *dec = NULL;
    char *merges_buf = NULL, *cfg_path = NULL, *at_path = NULL;
    size_t merges_len = 0;
    int64_t max_id;
    int rc;

    cfg_path = path_join(dir, "tokenizer_config.json");
    at_path = path_join(dir, "added_tokens.json");
    if (!cfg_path || !at_path) {
        rc = apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
        goto out;
    }
    if (file_exists(cfg_path)) {
        json_t *cls;
        if (!(cfg = apollo__json_load_file(cfg_path, "tokenizer_config.json", &rc)))
            goto out;
        cls = json_object_get(cfg, "tokenizer_class");
        if (cls && !(json_is_string(cls) && (strcmp(json_string_value(cls), "Qwen2Tokenizer") == 0 ||
                                             strcmp(json_string_value(cls), "Qwen2TokenizerFast") == 0))) {
            rc = apollo__fail(APOLLO_E_UNSUPPORTED,
                              "tokenizer_config.json: tokenizer_class is not Qwen2Tokenizer");
            goto out;
        }
        dec = json_object_get(cfg, "added_tokens_decoder");
        if (dec && !json_is_object(dec)) {
            rc = apollo__fail(APOLLO_E_CONFIG,
                              "tokenizer_config.json: added_tokens_decoder must be an object");
            goto out;
        }
    }
    if (file_exists(at_path)) {
        if (!(atj = apollo__json_load_file(at_path, "added_tokens.json", &rc)))
            goto out;
        if (!json_is_object(atj)) {
            rc = apollo__fail(APOLLO_E_CONFIG, "added_tokens.json: not a JSON object");
            goto out;
        }
    }
    if (!(vocab = apollo__json_load_file(vocab_path, "vocab.json", &rc)))
        goto out;
    b->where = "vocab.json";
    if (!json_is_object(vocab)) {
        rc = apollo__fail(APOLLO_E_CONFIG, "vocab.json: not a JSON object");
        goto out;
    }
    if ((rc = vocab_max_id(b, vocab, &max_id)) != 0)
        goto out;
    {
        const char *key;
        json_t *v;
        json_object_foreach(dec, key, v) {
            char *end;
            long long id = strtoll(key, &end, 10);
            if (*key == '\0' || *end != '\0' || id < 0 || id >= TOK__MAX_ID) {
                rc = apollo__fail(APOLLO_E_CONFIG,
                                  "tokenizer_config.json: added_tokens_decoder key '%.20s' is not an id", key);
                goto out;
            }
            if (id > max_id)
                max_id = id;
        }
        json_object_foreach(atj, key, v) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= TOK__MAX_ID) {
                rc = apollo__fail(APOLLO_E_CONFIG, "added_tokens.json: '%.40s' has no valid id", key);
                goto out;
            }
            if (json_integer_value(v) > max_id)
                max_id = json_integer_value(v);
        }
    }
    if ((rc = alloc_ids(b, (int32_t)(max_id + 1))) != 0 || (rc = vocab_insert(b, vocab)) != 0)
        goto out;
    json_decref(vocab);
    vocab = NULL;

    if ((rc = read_file(merges_path, "merges.txt", &merges_buf, &merges_len)) != 0)
        goto out;
    b->where = "merges.txt";
    if ((rc = merges_from_text(b, merges_buf, merges_len)) != 0)
        goto out;

    {
        const char *key;
        json_t *v;
        b->where = "tokenizer_config.json";
        json_object_foreach(dec, key, v) {
            json_t *content = json_object_get(v, "content");
            int special;
            if (!json_is_string(content)) {
                rc = apollo__fail(APOLLO_E_CONFIG,
                                  "tokenizer_config.json: added_tokens_decoder['%.20s'].content is not a string", key);
                goto out;
            }
            if ((rc = added_flags(b, v, json_string_value(content), &special)) != 0 ||
                (rc = added_add(b, strtoll(key, NULL, 10), json_string_value(content),
                                json_string_length(content), special)) != 0)
                goto out;
        }
        b->where = "added_tokens.json";
        json_object_foreach(atj, key, v) {
            if ((rc = added_add(b, json_integer_value(v), key, strlen(key), 0)) != 0)
                goto out;
        }
    }
out:
    json_decref(vocab);
    json_decref(cfg);
    json_decref(atj);
    apollo__free(merges_buf);
    apollo__free(cfg_path);
    apollo__free(at_path);
    return rc;
}

/* ======================================================================== */
/* Public (internal) entry points                                           */
/* ======================================================================== */

int apollo__tokenizer_load(const char *dir, apollo__tokenizer **out)
{
    builder b;
    char *tj = NULL, *vj = NULL, *mt = NULL;
    int rc;

    if (!out)
        return apollo__fail(APOLLO_E_INVALID_ARG, "tokenizer: out is NULL");
    *out = NULL;
    if (!dir)
        return apollo__fail(APOLLO_E_INVALID_ARG, "tokenizer: directory is NULL");

    memset(&b, 0, sizeof b);
    byte_level_inverse(b.u2b);
    b.t = apollo__calloc(1, sizeof *b.t);
    tj = path_join(dir, "tokenizer.json");
    vj = path_join(dir, "vocab.json");
    mt = path_join(dir, "merges.txt");
    if (!b.t || !tj || !vj || !mt) {
        rc = apollo__fail(APOLLO_E_NOMEM, "tokenizer: out of memory");
        goto out;
    }
    b.t->magic = APOLLO__TOK_MAGIC;
    if (file_exists(tj)) {
        rc = load_tokenizer_json(&b, tj);
    } else if (file_exists(vj) && file_exists(mt)) {
        rc = load_vocab_merges(&b, dir, vj, mt);
    } else {
        rc = apollo__fail(APOLLO_E_NOT_FOUND,
                          "%s: no tokenizer.json, and no vocab.json + merges.txt", dir);
    }
    if (rc == APOLLO_OK) {
        if (b.t->n_added > 0xFFFF)
            rc = apollo__fail(APOLLO_E_CONFIG, "tokenizer: too many added tokens");
        else {
            finish_added(b.t);
            rc = apollo__tok_mark_whole(b.t);
        }
    }
out:
    apollo__free(b.scratch);
    apollo__free(tj);
    apollo__free(vj);
    apollo__free(mt);
    if (rc != APOLLO_OK) {
        apollo__tokenizer_free(b.t);
        return rc;
    }
    *out = b.t;
    return APOLLO_OK;
}

void apollo__tokenizer_free(apollo__tokenizer *tok)
{
    if (!tok)
        return;
    tok->magic = 0;
    apollo__free(tok->arena);
    apollo__free(tok->pieces);
    apollo__free(tok->flags);
    apollo__free(tok->vmap);
    apollo__free(tok->mmap);
    apollo__free(tok->added);
    apollo__free(tok);
}

int32_t apollo__tokenizer_n_tokens(const apollo__tokenizer *tok)
{
    return tok ? tok->n_tokens : 0;
}

int apollo__tokenizer_is_special(const apollo__tokenizer *tok, int32_t id)
{
    return tok && id >= 0 && id < tok->n_tokens && (tok->flags[id] & TOK__F_SPECIAL) != 0;
}

int32_t apollo__tokenizer_token_id(const apollo__tokenizer *tok, const char *token)
{
    size_t n;
    if (!tok || !token)
        return -1;
    n = strlen(token);
    for (size_t i = 0; i < tok->n_added; i++) {
        const tok__added *a = &tok->added[i];
        if (a->len == n && memcmp(tok->arena + a->off, token, n) == 0)
            return a->id;
    }
    if (n == 0)
        return -1;
    return tok__vocab_find(tok, (const unsigned char *)token, n);
}

int apollo__tokenizer_decode_token(const apollo__tokenizer *tok, int32_t id, const char **bytes,
                                   size_t *len)
{
    if (!tok || !bytes || !len)
        return apollo__fail(APOLLO_E_INVALID_ARG, "tokenizer: NULL argument");
    if (id < 0 || id >= tok->n_tokens || !(tok->flags[id] & TOK__F_PRESENT))
        return apollo__fail(APOLLO_E_INVALID_ARG, "tokenizer: unknown token id %d", (int)id);
    *bytes = tok->arena + tok->pieces[id].off;
    *len = tok->pieces[id].len;
    return APOLLO_OK;
}
