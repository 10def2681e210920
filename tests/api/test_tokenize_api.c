/* The public tokenizer calls against Hugging Face `tokenizers`: every line
 * of the reference corpus (tests/fixtures/tokenizer/corpus.jsonl, made by
 * tools/reference/tokenizer) must give the same ids through apollo_tokenize
 * and decode back to HF's text through apollo_detokenize -- 100%. */
#include <apollo.h>

#include "testutil.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char path[1024];
    apollo_ctx *ctx = NULL;
    FILE *f;
    char *line = NULL;
    size_t cap = 0, n_lines = 0, n_ids_ok = 0, n_dec_ok = 0;
    ssize_t got;
    int32_t *ids = malloc(1 << 20);
    char *text = malloc(1 << 22);

    snprintf(path, sizeof path, "%s/models/tiny-tied", APOLLO_TEST_FIXTURES);
    CHECK_EQ_INT(apollo_ctx_open(path, NULL, &ctx), APOLLO_OK);
    if (!ctx)
        return test_finish("tokenize_api");
    CHECK_EQ_INT(apollo_ctx_n_tokens(ctx), 151665);
    snprintf(path, sizeof path, "%s/tokenizer/corpus.jsonl", APOLLO_TEST_FIXTURES);
    f = fopen(path, "r");
    CHECK(f != NULL);
    while (f && (got = getline(&line, &cap, f)) > 0) {
        json_error_t err;
        json_t *o = json_loads(line, JSON_ALLOW_NUL, &err), *ref_ids;
        const char *t, *dec;
        size_t tl, n = 0, dl = 0, want;
        int same;
        if (!o) {
            CHECK_MSG(0, "corpus line %zu: %s", n_lines + 1, err.text);
            continue;
        }
        n_lines++;
        t = json_string_value(json_object_get(o, "text"));
        tl = json_string_length(json_object_get(o, "text"));
        ref_ids = json_object_get(o, "ids");
        want = json_array_size(ref_ids);
        CHECK_EQ_INT(apollo_tokenize(ctx, t, tl, ids, (1 << 20) / sizeof *ids, &n), APOLLO_OK);
        same = n == want;
        for (size_t i = 0; same && i < n; i++)
            same = ids[i] == json_integer_value(json_array_get(ref_ids, i));
        n_ids_ok += same;
        if (!same && n_lines - n_ids_ok < 5)
            fprintf(stderr, "ids differ on line %zu\n", n_lines);
        dec = json_string_value(json_object_get(o, "decoded"));
        if (dec) {
            CHECK_EQ_INT(apollo_detokenize(ctx, ids, n, text, 1 << 22, &dl), APOLLO_OK);
            n_dec_ok += dl == json_string_length(json_object_get(o, "decoded")) &&
                        memcmp(text, dec, dl) == 0;
        } else {
            n_dec_ok++;
        }
        json_decref(o);
    }
    if (f)
        fclose(f);
    printf("corpus: %zu lines, ids identical on %zu, decode identical on %zu\n", n_lines,
           n_ids_ok, n_dec_ok);
    CHECK(n_lines >= 5000);
    CHECK_EQ_INT(n_ids_ok, n_lines);
    CHECK_EQ_INT(n_dec_ok, n_lines);

    /* snprintf-style size queries and pieces */
    {
        size_t n = 0, len = 0;
        char piece[64];
        CHECK_EQ_INT(apollo_tokenize(ctx, "Hello world", 11, NULL, 0, &n), APOLLO_OK);
        CHECK_EQ_INT(n, 2);
        CHECK_EQ_INT(apollo_token_to_piece(ctx, 151645, piece, sizeof piece, &len), APOLLO_OK);
        CHECK(strcmp(piece, "<|im_end|>") == 0);
        CHECK_EQ_INT(apollo_token_to_piece(ctx, 9999999, piece, sizeof piece, &len),
                     APOLLO_E_INVALID_ARG);
        CHECK_EQ_INT(apollo_tokenize(ctx, "\xff", 1, NULL, 0, &n), APOLLO_E_INVALID_ARG);
        CHECK_EQ_INT(apollo_tokenize(NULL, "x", 1, NULL, 0, &n), APOLLO_E_MISUSE);
        {
            int32_t hello[2] = {9707, 1879};
            char small[4];
            CHECK_EQ_INT(apollo_detokenize(ctx, hello, 2, small, sizeof small, &len), APOLLO_OK);
            CHECK_EQ_INT(len, 11);
            CHECK(strcmp(small, "Hel") == 0);
        }
    }
    free(line);
    free(ids);
    free(text);
    apollo_ctx_free(ctx);
    return test_finish("tokenize_api");
}
