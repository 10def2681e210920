/* Bad checkpoints get a specific error code and an informative message that
 * names the file, key or tensor at fault -- never a crash or a leak (this
 * test also runs under ASan/UBSan).  Each case starts from a copy of a tiny
 * fixture checkpoint (files symlinked with `cp -rs`, the file under test
 * replaced by a mutated copy). */
#include "apollo.h"
#include "model/model.h"
#include "testutil.h"

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CASES 64
static char messages[MAX_CASES][1024];
static int n_messages;

static void sh(const char *fmt, const char *a, const char *b)
{
    char cmd[16384];
    setenv("DST", a, 1);
    snprintf(cmd, sizeof cmd, fmt, a, b);
    if (system(cmd) != 0) {
        fprintf(stderr, "command failed: %s\n", cmd);
        exit(1);
    }
}

/* Fresh copy of fixture `variant` under the test tmp dir; returns its path. */
static const char *copy_model(const char *variant, const char *name)
{
    static char dst[PATH_MAX];
    char src[PATH_MAX], abs_src[PATH_MAX];
    snprintf(src, sizeof src, "%s/models/%s", APOLLO_TEST_FIXTURES, variant);
    if (!realpath(src, abs_src)) {
        perror(src);
        exit(1);
    }
    snprintf(dst, sizeof dst, "%s/bad_%s", APOLLO_TEST_TMPDIR, name);
    sh("rm -rf '%s' && cp -rs '%s' \"$DST\"", dst, abs_src);
    return dst;
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        exit(1);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

/* Replaces a (possibly symlinked) file by new contents. */
static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f;
    unlink(path);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static void write_text(const char *dir, const char *rel, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    write_file(path, text, strlen(text));
}

/* Loads dir/rel (JSON), lets `edit` change it, writes it back. */
static void edit_json(const char *dir, const char *rel, void (*edit)(json_t *))
{
    char path[PATH_MAX];
    json_error_t err;
    json_t *root;
    char *out;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    root = json_load_file(path, 0, &err);
    if (!root) {
        fprintf(stderr, "%s: %s\n", path, err.text);
        exit(1);
    }
    edit(root);
    out = json_dumps(root, JSON_INDENT(2));
    write_file(path, out, strlen(out));
    free(out);
    json_decref(root);
}

/* Rewrites a safetensors file with an edited header (data section kept). */
static void edit_safetensors(const char *dir, const char *rel, void (*edit)(json_t *, size_t))
{
    char path[PATH_MAX];
    size_t len, hlen = 0, newlen, data_len;
    unsigned char *buf, *out;
    json_error_t err;
    json_t *hdr;
    char *text;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    buf = read_all(path, &len);
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | buf[i];
    hdr = json_loadb((const char *)buf + 8, hlen, 0, &err);
    if (!hdr)
        exit(1);
    data_len = len - 8 - hlen;
    edit(hdr, data_len);
    text = json_dumps(hdr, JSON_COMPACT);
    newlen = strlen(text);
    out = malloc(8 + newlen + data_len);
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)((uint64_t)newlen >> (8 * i));
    memcpy(out + 8, text, newlen);
    memcpy(out + 8 + newlen, buf + 8 + hlen, data_len);
    write_file(path, out, 8 + newlen + data_len);
    free(out);
    free(text);
    free(buf);
    json_decref(hdr);
}

/* Appends a tensor named new_name with src_name's dtype and shape, all bytes
 * zero, to a safetensors file (the real 1.5B/3B checkpoints store an
 * lm_head.weight although their head is tied). */
static void append_zero_tensor(const char *dir, const char *rel, const char *new_name,
                               const char *src_name)
{
    char path[PATH_MAX];
    size_t len, hlen = 0, newlen, data_len, nbytes;
    unsigned char *buf, *out;
    json_error_t err;
    json_t *hdr, *src, *copy, *offs;
    char *text;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    buf = read_all(path, &len);
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | buf[i];
    hdr = json_loadb((const char *)buf + 8, hlen, 0, &err);
    data_len = len - 8 - hlen;
    src = json_object_get(hdr, src_name);
    offs = json_object_get(src, "data_offsets");
    nbytes = (size_t)(json_integer_value(json_array_get(offs, 1)) -
                      json_integer_value(json_array_get(offs, 0)));
    copy = json_deep_copy(src);
    json_object_set_new(copy, "data_offsets",
                        json_pack("[I, I]", (json_int_t)data_len, (json_int_t)(data_len + nbytes)));
    json_object_set_new(hdr, new_name, copy);
    text = json_dumps(hdr, JSON_COMPACT);
    newlen = strlen(text);
    out = calloc(1, 8 + newlen + data_len + nbytes);
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)((uint64_t)newlen >> (8 * i));
    memcpy(out + 8, text, newlen);
    memcpy(out + 8 + newlen, buf + 8 + hlen, data_len);
    write_file(path, out, 8 + newlen + data_len + nbytes);
    free(out);
    free(text);
    free(buf);
    json_decref(hdr);
}

/* Opens `dir`, expects `code` and a message containing each needle. */
static void expect_open(const char *what, const char *dir, int code, const char *needle1,
                        const char *needle2)
{
    apollo_ctx *ctx = (apollo_ctx *)0x1;
    int rc = apollo_ctx_open(dir, NULL, &ctx);
    const char *msg = apollo_last_errmsg();
    printf("%-28s -> %s: %s\n", what, apollo_strerror(rc), msg);
    CHECK_MSG(rc == code, "%s: got %d (%s), expected %d (%s)", what, rc, apollo_strerror(rc),
              code, apollo_strerror(code));
    if (code != APOLLO_OK)
        CHECK_MSG(ctx == NULL, "%s: out handle not cleared", what);
    if (needle1)
        CHECK_STR_CONTAINS(msg, needle1);
    if (needle2)
        CHECK_STR_CONTAINS(msg, needle2);
    if (n_messages < MAX_CASES)
        snprintf(messages[n_messages++], sizeof messages[0], "%s", msg);
    if (rc == APOLLO_OK)
        apollo_ctx_free(ctx);
}

/* ---- edits ---------------------------------------------------------------- */

static void hidden_size_as_string(json_t *r)
{
    json_object_set_new(r, "hidden_size", json_string("8"));
}

static void more_output_tokens(json_t *r)
{
    json_object_set_new(r, "num_output_tokens",
                        json_integer(json_integer_value(json_object_get(r, "num_output_tokens")) + 1));
}

static void clip_duration_as_string(json_t *r)
{
    json_object_set_new(r, "clip_duration", json_string("2"));
}

static void drop_weight_map_entry(json_t *r)
{
    /* Point a tensor at the wrong shard. */
    json_t *map = json_object_get(r, "weight_map");
    const char *shard = json_string_value(json_object_get(map, "model.norm.weight"));
    json_object_set_new(map, "model.norm.weight",
                        json_string(strcmp(shard, "model-00001-of-00002.safetensors")
                                        ? "model-00001-of-00002.safetensors"
                                        : "model-00002-of-00002.safetensors"));
}

static json_t *entry_with_max_end(json_t *hdr, const char **name_out)
{
    const char *key, *best_key = NULL;
    json_t *val, *best = NULL;
    json_int_t best_end = -1;
    json_object_foreach(hdr, key, val) {
        json_t *offs = json_object_get(val, "data_offsets");
        if (!offs)
            continue;
        if (json_integer_value(json_array_get(offs, 1)) > best_end) {
            best_end = json_integer_value(json_array_get(offs, 1));
            best = val;
            best_key = key;
        }
    }
    if (name_out)
        *name_out = best_key;
    return best;
}

static void offsets_out_of_range(json_t *hdr, size_t data_len)
{
    json_t *e = entry_with_max_end(hdr, NULL);
    json_t *offs = json_object_get(e, "data_offsets");
    json_int_t b = json_integer_value(json_array_get(offs, 0));
    json_int_t en = json_integer_value(json_array_get(offs, 1));
    json_int_t shift = (json_int_t)data_len;
    json_array_set_new(offs, 0, json_integer(b + shift));
    json_array_set_new(offs, 1, json_integer(en + shift));
}

static void offsets_overlap(json_t *hdr, size_t data_len)
{
    /* Make resampler.latents start 2 bytes before it did (into its neighbour). */
    json_t *offs = json_object_get(json_object_get(hdr, "resampler.latents"), "data_offsets");
    json_int_t b = json_integer_value(json_array_get(offs, 0));
    json_int_t e = json_integer_value(json_array_get(offs, 1));
    (void)data_len;
    if (b < 2) { /* first in the file: move it 2 bytes later instead */
        json_array_set_new(offs, 0, json_integer(b + 2));
        json_array_set_new(offs, 1, json_integer(e + 2));
    } else {
        json_array_set_new(offs, 0, json_integer(b - 2));
        json_array_set_new(offs, 1, json_integer(e - 2));
    }
}

static void dtype_i16(json_t *hdr, size_t data_len)
{
    (void)data_len;
    json_object_set_new(json_object_get(hdr, "resampler.latents"), "dtype", json_string("I16"));
}

static void rename_norm(json_t *hdr, size_t data_len)
{
    json_t *v = json_object_get(hdr, "model.norm.weight");
    (void)data_len;
    json_object_set(hdr, "model.norm.weight_renamed", v);
    json_object_del(hdr, "model.norm.weight");
}

static void unused_tensor_exotic_dtype(json_t *hdr, size_t data_len)
{
    /* A tensor the runtime never reads may have any dtype: loading must not
     * care (the SigLIP pooling head is never used by Apollo). */
    const char *key;
    json_t *val;
    (void)data_len;
    json_object_foreach(hdr, key, val) {
        if (strstr(key, "head.") && strstr(key, "bias") && json_is_object(val)) {
            json_object_set_new(val, "dtype", json_string("F8_E4M3"));
            /* keep byte size consistent: F8 has half the size of BF16 */
            json_t *shape = json_object_get(val, "shape");
            json_array_set_new(shape, 0,
                               json_integer(json_integer_value(json_array_get(shape, 0)) * 2));
            return;
        }
    }
}

/* ---- cases ----------------------------------------------------------------- */

int main(void)
{
    const char *d;
    char path[PATH_MAX];
    size_t len;
    unsigned char *buf;

    /* Arguments */
    {
        apollo_ctx *ctx;
        CHECK_EQ_INT(apollo_ctx_open(NULL, NULL, &ctx), APOLLO_E_INVALID_ARG);
        CHECK_EQ_INT(apollo_ctx_open("x", NULL, NULL), APOLLO_E_INVALID_ARG);
    }

    snprintf(path, sizeof path, "%s/definitely/not/here", APOLLO_TEST_TMPDIR);
    expect_open("missing directory", path, APOLLO_E_NOT_FOUND, "model directory not found", NULL);

    snprintf(path, sizeof path, "%s/models/tiny-tied/config.json", APOLLO_TEST_FIXTURES);
    expect_open("a file, not a directory", path, APOLLO_E_NOT_FOUND, "not a directory", NULL);

    d = copy_model("tiny-tied", "no_config");
    snprintf(path, sizeof path, "%s/config.json", d);
    unlink(path);
    expect_open("missing config.json", d, APOLLO_E_NOT_FOUND, "config.json", "file not found");

    d = copy_model("tiny-sharded", "missing_shard");
    snprintf(path, sizeof path, "%s/llm/model-00002-of-00002.safetensors", d);
    unlink(path);
    expect_open("missing shard", d, APOLLO_E_NOT_FOUND, "llm/model-00002-of-00002.safetensors",
                "shard listed in model.safetensors.index.json");

    d = copy_model("tiny-sharded", "wrong_shard");
    edit_json(d, "llm/model.safetensors.index.json", drop_weight_map_entry);
    expect_open("index names the wrong shard", d, APOLLO_E_FORMAT, "is listed in", NULL);

    d = copy_model("tiny-tied", "truncated");
    snprintf(path, sizeof path, "%s/mm_connector/model.safetensors", d);
    buf = read_all(path, &len);
    write_file(path, buf, len - 100);
    free(buf);
    expect_open("truncated safetensors", d, APOLLO_E_FORMAT, "mm_connector/model.safetensors",
                "truncated");

    d = copy_model("tiny-tied", "hdr_len");
    snprintf(path, sizeof path, "%s/mm_connector/model.safetensors", d);
    buf = read_all(path, &len);
    {
        uint64_t big = (uint64_t)len * 2;
        for (int i = 0; i < 8; i++)
            buf[i] = (unsigned char)(big >> (8 * i));
    }
    write_file(path, buf, len);
    free(buf);
    expect_open("header length > file", d, APOLLO_E_FORMAT, "header length",
                "larger than the file");

    d = copy_model("tiny-tied", "tiny_file");
    write_text(d, "mm_connector/model.safetensors", "abc");
    expect_open("3-byte safetensors", d, APOLLO_E_FORMAT, "shorter than the 8-byte", NULL);

    d = copy_model("tiny-tied", "hdr_json");
    snprintf(path, sizeof path, "%s/mm_connector/model.safetensors", d);
    {
        /* 12-byte header that is not JSON, then 4 data bytes */
        const char junk[] = "\x0c\0\0\0\0\0\0\0{\"a\": [1, 2,\"xxxx";
        write_file(path, junk, sizeof junk - 1);
    }
    expect_open("header not JSON", d, APOLLO_E_FORMAT, "header is not valid JSON", NULL);

    d = copy_model("tiny-tied", "out_of_range");
    edit_safetensors(d, "mm_connector/model.safetensors", offsets_out_of_range);
    expect_open("offsets out of range", d, APOLLO_E_FORMAT, "data_offsets out of range", NULL);

    d = copy_model("tiny-tied", "overlap");
    edit_safetensors(d, "mm_connector/model.safetensors", offsets_overlap);
    expect_open("overlapping offsets", d, APOLLO_E_FORMAT, "overlapping data_offsets", NULL);

    d = copy_model("tiny-tied", "dtype");
    edit_safetensors(d, "mm_connector/model.safetensors", dtype_i16);
    expect_open("unsupported dtype", d, APOLLO_E_DTYPE, "resampler.latents", "I16");

    d = copy_model("tiny-tied", "missing_tensor");
    edit_safetensors(d, "llm/model.safetensors", rename_norm);
    expect_open("missing tensor", d, APOLLO_E_MISSING_TENSOR, "'model.norm.weight'", NULL);

    d = copy_model("tiny-tied", "shape");
    edit_json(d, "mm_connector/config.json", more_output_tokens);
    expect_open("shape vs config", d, APOLLO_E_SHAPE, "resampler.latents", "config implies");

    d = copy_model("tiny-tied", "bad_json");
    write_text(d, "llm/config.json", "{\n  \"hidden_size\": 8,\n  oops\n}\n");
    expect_open("malformed JSON", d, APOLLO_E_JSON, "llm/config.json", "line 3");

    d = copy_model("tiny-tied", "wrong_type");
    edit_json(d, "llm/config.json", hidden_size_as_string);
    expect_open("config key of wrong type", d, APOLLO_E_CONFIG, "'hidden_size' must be an integer",
                "got string");

    d = copy_model("tiny-tied", "clip_type");
    edit_json(d, "config.json", clip_duration_as_string);
    expect_open("clip_duration a string", d, APOLLO_E_CONFIG, "'clip_duration' must be a number",
                NULL);

    /* Every failure above said something different. */
    for (int i = 0; i < n_messages; i++)
        for (int j = i + 1; j < n_messages; j++)
            CHECK_MSG(strcmp(messages[i], messages[j]) != 0, "cases %d and %d share message '%s'",
                      i, j, messages[i]);

    /* A tensor that is never used may have any dtype. */
    d = copy_model("tiny-tied", "unused_exotic");
    edit_safetensors(d, "vision_tower/siglip-so400m-patch14-384/model.safetensors",
                     unused_tensor_exotic_dtype);
    expect_open("unused tensor, F8 dtype", d, APOLLO_OK, NULL, NULL);

    /* A tied checkpoint that also stores lm_head.weight (as the published
     * 1.5B/3B files do): the head is the embedding, the stored copy is
     * ignored (here it is all zeros, so using it would be visible). */
    d = copy_model("tiny-tied", "tied_with_head");
    {
        apollo__model *m = NULL;
        char p2[PATH_MAX];
        snprintf(p2, sizeof p2, "%s/llm/model.safetensors", d);
        {
            /* only when the fixture does not already carry one */
            size_t l;
            unsigned char *b = read_all(p2, &l);
            int has = strstr((const char *)b + 8, "\"lm_head.weight\"") != NULL;
            free(b);
            if (!has)
                append_zero_tensor(d, "llm/model.safetensors", "lm_head.weight",
                                   "model.embed_tokens.weight");
        }
        CHECK_EQ_INT(apollo__model_load(d, &m), APOLLO_OK);
        if (m) {
            CHECK(m->llm.tie_word_embeddings);
            CHECK(m->llm_w.lm_head.data == m->llm_w.embed.data);
            CHECK(apollo__weights_find(m->llm_ws, "lm_head.weight") != NULL);
            apollo__model_free(m);
        }
    }

    return test_finish("bad_checkpoint");
}
