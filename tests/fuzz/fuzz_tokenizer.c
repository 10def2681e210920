/* Fuzz target: the Qwen2 tokenizer (loaded once from the fixture).
 *   - encode the input as text: invalid UTF-8 must give
 *     APOLLO_E_INVALID_ARG, valid text ids inside the vocabulary; pure
 *     ASCII (which NFC leaves alone) must decode back to the same bytes;
 *   - decode the input read as little-endian int32 ids (modulo a bit more
 *     than the vocabulary, so unknown ids are tried too), in one call and
 *     through the streaming detokenizer. */
#include "fuzz_common.h"

#include "apollo.h"
#include "common/alloc.h"
#include "text/tokenizer.h"

static apollo__tokenizer *tok;
static int32_t n_tok;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[1024];
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "%s/tokenizer/qwen2.5", APOLLO_TEST_FIXTURES);
    if (apollo__tokenizer_load(dir, &tok) != APOLLO_OK) {
        fprintf(stderr, "cannot load the tokenizer from %s\n", dir);
        abort();
    }
    n_tok = apollo__tokenizer_n_tokens(tok);
    return 0;
}

static void check_encode(const uint8_t *data, size_t size)
{
    int32_t *ids = NULL;
    size_t n = 0;
    int ascii = 1;
    int rc = apollo__tokenizer_encode(tok, (const char *)data, size, &ids, &n);
    for (size_t i = 0; i < size; i++)
        ascii &= data[i] < 0x80;
    if (!apollo__utf8_valid((const char *)data, size)) {
        FUZZ_ASSERT(rc == APOLLO_E_INVALID_ARG);
        FUZZ_ASSERT(ids == NULL);
        return;
    }
    FUZZ_ASSERT(rc == APOLLO_OK);
    FUZZ_ASSERT(ids != NULL);
    FUZZ_ASSERT(n <= size);
    for (size_t i = 0; i < n; i++)
        FUZZ_ASSERT(ids[i] >= 0 && ids[i] < n_tok);
    {
        char *text = NULL;
        size_t len = 0;
        FUZZ_ASSERT(apollo__tokenizer_decode(tok, ids, n, &text, &len) == APOLLO_OK);
        FUZZ_ASSERT(text && text[len] == '\0');
        if (ascii) {
            if (len != size || memcmp(text, data, size) != 0) {
                fprintf(stderr, "round trip differs: %zu bytes in, %zu out\n", size, len);
                abort();
            }
        }
        apollo__free(text);
    }
    apollo__free(ids);
}

static void check_decode(const uint8_t *data, size_t size)
{
    size_t n = size / 4;
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    char *text = NULL;
    size_t len = 0;
    int bad = 0, rc;
    apollo__detok dt;

    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)data[4 * i] | (uint32_t)data[4 * i + 1] << 8 |
                     (uint32_t)data[4 * i + 2] << 16 | (uint32_t)data[4 * i + 3] << 24;
        /* mostly valid ids, sometimes just past the end, sometimes negative */
        ids[i] = (v >> 31) && (v & 1) ? -(int32_t)(v & 0xff)
                                      : (int32_t)(v % (uint32_t)(n_tok + 64));
        {
            const char *b;
            size_t bl;
            if (apollo__tokenizer_decode_token(tok, ids[i], &b, &bl) != APOLLO_OK)
                bad = 1;
        }
    }
    rc = apollo__tokenizer_decode(tok, ids, n, &text, &len);
    if (rc == APOLLO_OK) {
        FUZZ_ASSERT(!bad);
        FUZZ_ASSERT(text && text[len] == '\0');
        FUZZ_ASSERT(apollo__utf8_valid(text, len));
    } else {
        FUZZ_ASSERT(rc == APOLLO_E_INVALID_ARG && bad);
    }

    /* streaming: pieces are whole UTF-8 characters, and (when every id is
     * known) their concatenation is the one-call decoding */
    {
        char *cat = malloc(len + 1);
        size_t cl = 0;
        int over = 0;
        apollo__detok_init(&dt, tok);
        for (size_t i = 0; i < n; i++) {
            const char *piece = NULL;
            size_t plen = 0;
            rc = apollo__detok_push(&dt, ids[i], &piece, &plen);
            if (rc != APOLLO_OK) {
                FUZZ_ASSERT(rc == APOLLO_E_INVALID_ARG && bad);
                continue;
            }
            FUZZ_ASSERT(plen == 0 || apollo__utf8_valid(piece, plen));
            if (!bad && !over) {
                if (cl + plen > len)
                    over = 1;
                else
                    memcpy(cat + cl, piece, plen), cl += plen;
            }
        }
        {
            const char *piece = NULL;
            size_t plen = 0;
            FUZZ_ASSERT(apollo__detok_flush(&dt, &piece, &plen) == APOLLO_OK);
            FUZZ_ASSERT(plen == 0 || apollo__utf8_valid(piece, plen));
            if (!bad && !over) {
                if (cl + plen > len)
                    over = 1;
                else
                    memcpy(cat + cl, piece, plen), cl += plen;
            }
        }
        if (!bad)
            FUZZ_ASSERT(!over && cl == len && memcmp(cat, text, len) == 0);
        apollo__detok_free(&dt);
        free(cat);
    }
    apollo__free(text);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tok)
        LLVMFuzzerInitialize(NULL, NULL);
    if (size > 64 * 1024)
        return 0;
    check_encode(data, size);
    check_decode(data, size);
    return 0;
}
