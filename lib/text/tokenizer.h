/* Qwen2 byte-level BPE tokenizer, id-for-id identical to Hugging Face
 * `tokenizers` (Tokenizer.from_file("tokenizer.json"), add_special_tokens
 * false); see apollo-model.md 6.2.
 *
 * Encoding, in HF's order:
 *   1. added tokens (<|im_start|>, <tool_call>, ...) are cut out of the raw
 *      text first: leftmost match, longest among those starting there; they
 *      become their own id and are never split or normalised;
 *   2. each remaining span is NFC-normalised with utf8proc, except that
 *      the ~100 combining marks HF's older normalisation tables do not know
 *      are treated as HF treats them (plain starters);
 *   3. split by the Qwen2 pre-tokenizer regex
 *        (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|
 *         ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *      hand-coded with Oniguruma's semantics as HF uses it: \s is the
 *      Unicode White_Space property, \p{L}/\p{N} are general categories from
 *      utf8proc (plus the Unicode 16 letters/digits Oniguruma knows and
 *      utf8proc 2.8 does not), and (?i) lets U+017F (long s) match 's';
 *   4. each piece goes through BPE on its UTF-8 bytes (GPT-2 byte-to-unicode
 *      mapping only matters for reading the vocabulary), lowest merge rank
 *      first, leftmost among equal ranks.
 * The Unicode tables come from tools/reference/tokenizer/unicode_diff.py;
 * tests/fixtures/tokenizer/corpus.jsonl is the reference (100% required).
 *
 * Note: transformers' slow Qwen2Tokenizer (use_fast=False, what the Apollo
 * reference loads) normalises with Python's unicodedata and so differs from
 * HF tokenizers on those ~100 rare marks; we follow HF tokenizers.
 *
 * Files: <dir>/tokenizer.json, or, when it is absent, <dir>/vocab.json +
 * <dir>/merges.txt with the added tokens from tokenizer_config.json
 * ("added_tokens_decoder") and/or added_tokens.json.
 *
 * Threads: a loaded tokenizer is immutable; any number of threads may call
 * encode/decode on it at once (encode keeps its scratch and its word cache
 * per call).  An apollo__detok belongs to one thread at a
 * time.  Errors: negative APOLLO_E_* codes with a message via apollo__fail().
 */
#ifndef APOLLO_TEXT_TOKENIZER_H
#define APOLLO_TEXT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct apollo__tokenizer apollo__tokenizer;

/* Loads the tokenizer of a checkpoint's llm/ folder (or any folder holding
 * the files above).  APOLLO_E_NOT_FOUND when neither tokenizer.json nor
 * vocab.json + merges.txt exist; APOLLO_E_JSON / APOLLO_E_CONFIG for
 * malformed files; APOLLO_E_UNSUPPORTED for a tokenizer.json whose model,
 * normaliser or pre-tokenizer is not Qwen2's; APOLLO_E_NOMEM. */
int apollo__tokenizer_load(const char *dir, apollo__tokenizer **out);

/* NULL is a no-op. */
void apollo__tokenizer_free(apollo__tokenizer *tok);

/* Encodes len bytes of UTF-8 text (NUL bytes allowed inside) into ids; no
 * BOS/EOS are added and special tokens in the text map to their ids.
 * *ids is allocated with apollo__malloc (release with apollo__free; never
 * NULL on success, even for 0 ids).  APOLLO_E_INVALID_ARG for invalid UTF-8
 * or NULL arguments, APOLLO_E_NOMEM. */
int apollo__tokenizer_encode(const apollo__tokenizer *tok, const char *text, size_t len,
                             int32_t **ids, size_t *n_ids);

/* The bytes of one token: the raw UTF-8 (possibly a fragment of a
 * character) for a regular token, the literal text for an added token.
 * *bytes points into the tokenizer and lives as long as it.
 * APOLLO_E_INVALID_ARG for an id outside [0, n_tokens) or a hole. */
int apollo__tokenizer_decode_token(const apollo__tokenizer *tok, int32_t id,
                                   const char **bytes, size_t *len);

/* Decodes ids to text like HF's decode(ids, skip_special_tokens=False):
 * the tokens' bytes concatenated, every maximal invalid UTF-8 subsequence
 * replaced by U+FFFD.  *text is NUL-terminated, from apollo__malloc.
 * APOLLO_E_INVALID_ARG for an unknown id. */
int apollo__tokenizer_decode(const apollo__tokenizer *tok, const int32_t *ids, size_t n_ids,
                             char **text, size_t *len);

/* Id of a token given as its text: an added token ("<|im_end|>") or the raw
 * bytes of a regular token ("user", " the").  -1 if there is none. */
int32_t apollo__tokenizer_token_id(const apollo__tokenizer *tok, const char *token);

/* One past the largest id (151665 for Qwen2.5). */
int32_t apollo__tokenizer_n_tokens(const apollo__tokenizer *tok);

/* Non-zero when id is an added token flagged "special" (<|im_end|>, ...). */
int apollo__tokenizer_is_special(const apollo__tokenizer *tok, int32_t id);

/* ---- streaming detokenizer ----------------------------------------------
 * Turns ids into text as they are generated.  Every chunk it returns is
 * valid UTF-8: bytes of a character that is not complete yet are held back
 * until the next token completes it; invalid bytes become U+FFFD exactly as
 * apollo__tokenizer_decode would replace them, so the concatenation of all
 * chunks (push..., then flush) equals apollo__tokenizer_decode of the ids.
 *
 *   apollo__detok d;
 *   apollo__detok_init(&d, tok);
 *   for each id: apollo__detok_push(&d, id, &s, &n);  write(s, n);
 *   apollo__detok_flush(&d, &s, &n);  write(s, n);
 *   apollo__detok_free(&d);
 */
typedef struct apollo__detok {
    const apollo__tokenizer *tok;
    unsigned char pending[4]; /* start of an incomplete UTF-8 sequence */
    size_t n_pending;
    char *buf; /* output of the last call (NUL-terminated) */
    size_t cap;
} apollo__detok;

void apollo__detok_init(apollo__detok *d, const apollo__tokenizer *tok);

/* Adds one token.  *text / *len: the text that is now complete (possibly
 * empty), valid until the next call on d.  APOLLO_E_INVALID_ARG for an
 * unknown id (d is unchanged), APOLLO_E_NOMEM. */
int apollo__detok_push(apollo__detok *d, int32_t id, const char **text, size_t *len);

/* Ends the stream: held-back bytes become U+FFFD.  d can be reused. */
int apollo__detok_flush(apollo__detok *d, const char **text, size_t *len);

/* Forgets held-back bytes without emitting them (e.g. after a reset). */
void apollo__detok_reset(apollo__detok *d);

/* Releases the buffer; d can be initialised again. */
void apollo__detok_free(apollo__detok *d);

/* ---- internals exposed for tests and benchmarks ------------------------- */

/* Pre-tokenizer on already-normalised UTF-8 text (valid UTF-8 required):
 * calls fn(user, offset, length) for each piece in order. */
typedef void (*apollo__pretok_fn)(void *user, size_t off, size_t len);
void apollo__tokenizer_pretokenize(const char *text, size_t len, apollo__pretok_fn fn, void *user);

/* 1 if [s, s+len) is valid UTF-8 (no surrogates, no overlongs, <= U+10FFFF). */
int apollo__utf8_valid(const char *s, size_t len);

#endif
