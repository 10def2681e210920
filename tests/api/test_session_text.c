/* Text conversations through the public API, against the transformers
 * reference (tests/fixtures/reference/<variant>/text): the two-turn prompt is
 * rebuilt by the session token for token, and the greedy answers (plain and
 * with the checkpoint's repetition penalty) are the reference's 32 tokens.
 * Also: streaming, stop strings, KV reuse across turns, context limit,
 * cancellation from another thread, abort callback, reset, seeds. */
#include <apollo.h>

#include "testutil.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct ref {
    json_t *root;
    char *q1, *a1, *q2;
    int64_t *prompt, *greedy, *greedy_rp;
    size_t n_prompt, n_greedy, n_greedy_rp;
    const char *greedy_text;
} ref;

static char *between(const char *s, const char *start, const char *end, const char **next)
{
    const char *a = strstr(s, start), *b;
    char *out;
    if (!a)
        return NULL;
    a += strlen(start);
    b = strstr(a, end);
    if (!b)
        return NULL;
    out = malloc((size_t)(b - a) + 1);
    memcpy(out, a, (size_t)(b - a));
    out[b - a] = '\0';
    if (next)
        *next = b + strlen(end);
    return out;
}

static int64_t *ids_of(json_t *arr, size_t *n)
{
    int64_t *out = malloc((json_array_size(arr) + 1) * sizeof *out);
    for (size_t i = 0; i < json_array_size(arr); i++)
        out[i] = json_integer_value(json_array_get(arr, i));
    *n = json_array_size(arr);
    return out;
}

/* The reference prompt is ChatML text: take the turns back out of it. */
static int load_ref(const char *variant, ref *r)
{
    char path[1024];
    json_error_t err;
    const char *text, *p;
    snprintf(path, sizeof path, "%s/reference/%s/text/scenario.json", APOLLO_TEST_FIXTURES,
             variant);
    r->root = json_load_file(path, 0, &err);
    if (!r->root)
        return -1;
    text = json_string_value(json_object_get(r->root, "prompt_text"));
    r->q1 = between(text, "<|im_start|>user\n", "<|im_end|>", &p);
    r->a1 = between(p, "<|im_start|>assistant\n", "<|im_end|>", &p);
    r->q2 = between(p, "<|im_start|>user\n", "<|im_end|>", &p);
    r->prompt = ids_of(json_object_get(r->root, "prompt_ids"), &r->n_prompt);
    r->greedy = ids_of(json_object_get(r->root, "greedy_ids"), &r->n_greedy);
    r->greedy_rp = ids_of(json_object_get(r->root, "greedy_rp_ids"), &r->n_greedy_rp);
    r->greedy_text = json_string_value(json_object_get(r->root, "greedy_text"));
    return r->q1 && r->a1 && r->q2 ? 0 : -1;
}

static void free_ref(ref *r)
{
    free(r->q1);
    free(r->a1);
    free(r->q2);
    free(r->prompt);
    free(r->greedy);
    free(r->greedy_rp);
    json_decref(r->root);
}

/* Sum of positions the decoder evaluated, from the ctx's debug log. */
static long evaluated_positions;
static void on_log(int32_t level, const char *msg, void *ud)
{
    long n;
    (void)ud;
    if (level == APOLLO_LOG_DEBUG && sscanf(msg, "evaluated %ld new positions", &n) == 1)
        evaluated_positions += n;
}

static apollo_ctx *open_model(const char *variant)
{
    char dir[1024];
    apollo_ctx_params p;
    apollo_ctx *ctx = NULL;
    snprintf(dir, sizeof dir, "%s/models/%s", APOLLO_TEST_FIXTURES, variant);
    apollo_ctx_params_init(&p);
    p.n_threads = 2;
    p.log_fn = on_log;
    p.log_level = APOLLO_LOG_DEBUG;
    if (apollo_ctx_open(dir, &p, &ctx) != APOLLO_OK)
        fprintf(stderr, "open %s: %s\n", dir, apollo_last_errmsg());
    return ctx;
}

typedef struct sink {
    char buf[65536];
    size_t len;
    int calls;
    int stop_after;
} sink;

static int32_t on_text(const char *text, size_t len, void *ud)
{
    sink *k = ud;
    if (k->len + len < sizeof k->buf) {
        memcpy(k->buf + k->len, text, len);
        k->len += len;
        k->buf[k->len] = '\0';
    }
    k->calls++;
    return k->stop_after && k->calls >= k->stop_after;
}

static size_t get_tokens(apollo_session *s, int32_t **out)
{
    size_t n = 0;
    apollo_session_get_tokens(s, NULL, 0, &n);
    *out = malloc((n + 1) * sizeof **out);
    apollo_session_get_tokens(s, *out, n, &n);
    return n;
}

/* Greedy answer to turn 2 after restoring turn 1; compares all ids. */
static void golden(const char *variant, const ref *r, float penalty, const int64_t *expect,
                   size_t n_expect, const char *what)
{
    apollo_ctx *ctx = open_model(variant);
    apollo_session *s = NULL;
    apollo_generate_params gp;
    sink k = {0};
    char *answer = NULL;
    int32_t *toks;
    size_t n, same = 0;

    CHECK(ctx != NULL);
    if (!ctx)
        return;
    CHECK_EQ_INT(apollo_session_new(ctx, NULL, &s), APOLLO_OK);
    apollo_ctx_free(ctx); /* the session keeps the model alive */
    evaluated_positions = 0;
    CHECK_EQ_INT(apollo_session_add_exchange(s, r->q1, r->a1), APOLLO_OK);
    apollo_generate_params_init(&gp);
    gp.do_sample = 0;
    gp.max_new_tokens = (int32_t)n_expect;
    gp.repetition_penalty = penalty;
    gp.on_text = on_text;
    gp.on_text_user_data = &k;
    CHECK_EQ_INT(apollo_session_ask(s, r->q2, &gp, &answer), APOLLO_OK);
    n = get_tokens(s, &toks);
    CHECK_EQ_INT(n, r->n_prompt + n_expect);
    for (size_t i = 0; i < r->n_prompt && i < n; i++)
        same += toks[i] == r->prompt[i];
    CHECK_MSG(same == r->n_prompt, "%s %s: %zu of %zu prompt ids match", variant, what, same,
              r->n_prompt);
    same = 0;
    for (size_t i = 0; i < n_expect && r->n_prompt + i < n; i++)
        same += toks[r->n_prompt + i] == expect[i];
    CHECK_MSG(same == n_expect, "%s %s: %zu of %zu generated ids match", variant, what, same,
              n_expect);
    printf("%s %s: prompt %zu ids and %zu/%zu generated ids identical to the reference\n",
           variant, what, r->n_prompt, same, n_expect);
    CHECK_EQ_INT(apollo_session_get_finish_reason(s), APOLLO_FINISH_LENGTH);
    /* Each position was evaluated exactly once: turn 2 reused turn 1's cache. */
    CHECK_EQ_INT(evaluated_positions, (long)n);
    /* the stream is the unstripped answer */
    CHECK(answer != NULL);
    if (answer && penalty == 1.0f && r->greedy_text) {
        CHECK_MSG(strcmp(k.buf, r->greedy_text) == 0, "streamed '%s' vs reference '%s'", k.buf,
                  r->greedy_text);
    }
    apollo_free(answer);
    free(toks);
    apollo_session_free(s);
}

typedef struct canceller {
    apollo_session *s;
    _Atomic int *tokens_seen;
} canceller;

static int32_t count_text(const char *text, size_t len, void *ud)
{
    (void)text;
    (void)len;
    atomic_fetch_add((_Atomic int *)ud, 1);
    return 0;
}

static void *cancel_later(void *vp)
{
    canceller *c = vp;
    while (atomic_load(c->tokens_seen) < 3)
        usleep(1000);
    apollo_session_cancel(c->s);
    return NULL;
}

static int32_t abort_now(void *ud)
{
    (void)ud;
    return 1;
}

static void behaviour(const ref *r)
{
    apollo_ctx *ctx = open_model("tiny-tied");
    apollo_session *s = NULL;
    apollo_generate_params gp;
    int32_t *before, *after;
    size_t nb, na;
    char *a1 = NULL, *a2 = NULL;
    int rc;

    CHECK(ctx != NULL);
    if (!ctx)
        return;
    CHECK_EQ_INT(apollo_session_new(ctx, NULL, &s), APOLLO_OK);
    CHECK_EQ_INT(apollo_session_add_exchange(s, r->q1, r->a1), APOLLO_OK);
    nb = get_tokens(s, &before);

    /* Stop string taken from the reference's greedy text. */
    {
        const char *stops[] = {"\xe3\x82\xad\xe3\x83\xa3"}; /* "キャ" */
        sink k = {0};
        char *ans = NULL;
        apollo_generate_params_init(&gp);
        gp.do_sample = 0;
        gp.repetition_penalty = 1.0f;
        gp.max_new_tokens = 32;
        gp.stop_strings = stops;
        gp.n_stop_strings = 1;
        gp.on_text = on_text;
        gp.on_text_user_data = &k;
        CHECK_EQ_INT(apollo_session_ask(s, r->q2, &gp, &ans), APOLLO_OK);
        if (strstr(r->greedy_text, stops[0])) {
            size_t cut = (size_t)(strstr(r->greedy_text, stops[0]) - r->greedy_text);
            CHECK_EQ_INT(apollo_session_get_finish_reason(s), APOLLO_FINISH_STOP_STRING);
            CHECK_EQ_INT(k.len, cut);
            CHECK(strncmp(k.buf, r->greedy_text, cut) == 0);
            CHECK(strstr(k.buf, stops[0]) == NULL);
        }
        apollo_free(ans);
    }

    /* Turn 3 reuses the cache: earlier tokens are untouched. */
    apollo_generate_params_init(&gp);
    gp.max_new_tokens = 4;
    gp.seed = 7;
    CHECK_EQ_INT(apollo_session_ask(s, "Another question.", &gp, &a1), APOLLO_OK);
    na = get_tokens(s, &after);
    CHECK(na > nb && memcmp(before, after, nb * sizeof *before) == 0);
    free(after);

    /* Context limit: a question longer than the context fails cleanly. */
    {
        size_t big = 16384 * 8;
        char *q = malloc(big + 1);
        for (size_t i = 0; i < big; i++)
            q[i] = (char)('a' + (i * 7 % 26));
        q[big] = '\0';
        na = get_tokens(s, &after);
        free(after);
        rc = apollo_session_ask(s, q, NULL, NULL);
        CHECK_EQ_INT(rc, APOLLO_E_CONTEXT_FULL);
        CHECK_STR_CONTAINS(apollo_session_errmsg(s), "context length");
        {
            size_t n2 = 0;
            apollo_session_get_tokens(s, NULL, 0, &n2);
            CHECK_EQ_INT(n2, na);
        }
        free(q);
    }

    /* Invalid UTF-8 */
    CHECK_EQ_INT(apollo_session_ask(s, "bad \xff\xfe", NULL, NULL), APOLLO_E_INVALID_ARG);

    /* Abort callback */
    apollo_generate_params_init(&gp);
    gp.abort_fn = abort_now;
    CHECK_EQ_INT(apollo_session_ask(s, "Stop at once.", &gp, NULL), APOLLO_E_CANCELLED);

    /* Cancel from another thread in the middle of generation. */
    {
        _Atomic int seen = 0;
        canceller c = {s, &seen};
        pthread_t th;
        size_t n0 = 0, n1 = 0;
        apollo_session_get_tokens(s, NULL, 0, &n0);
        apollo_generate_params_init(&gp);
        gp.max_new_tokens = 100000;
        gp.do_sample = 0;
        gp.repetition_penalty = 1.0f;
        gp.on_text = count_text;
        gp.on_text_user_data = (void *)&seen;
        pthread_create(&th, NULL, cancel_later, &c);
        rc = apollo_session_ask(s, r->q2, &gp, NULL);
        pthread_join(th, NULL);
        CHECK_EQ_INT(rc, APOLLO_E_CANCELLED);
        apollo_session_get_tokens(s, NULL, 0, &n1);
        CHECK_EQ_INT(n1, n0); /* the cancelled turn left no trace */
    }
    /* ... and the session still answers. */
    apollo_generate_params_init(&gp);
    gp.max_new_tokens = 4;
    gp.seed = 7;
    CHECK_EQ_INT(apollo_session_ask(s, "Another question.", &gp, &a2), APOLLO_OK);

    /* Reset, then the same sampled turn with the same seed gives the same answer. */
    CHECK_EQ_INT(apollo_session_reset(s), APOLLO_OK);
    {
        size_t n = 1;
        apollo_session_get_tokens(s, NULL, 0, &n);
        CHECK_EQ_INT(n, 0);
    }
    {
        char *x = NULL, *y = NULL;
        apollo_generate_params_init(&gp);
        gp.max_new_tokens = 8;
        gp.seed = 1234;
        CHECK_EQ_INT(apollo_session_ask(s, "Hello!", &gp, &x), APOLLO_OK);
        apollo_session_reset(s);
        CHECK_EQ_INT(apollo_session_ask(s, "Hello!", &gp, &y), APOLLO_OK);
        CHECK(x && y && strcmp(x, y) == 0);
        apollo_free(x);
        apollo_free(y);
    }

    /* Bad parameters and handles */
    apollo_generate_params_init(&gp);
    gp.max_new_tokens = 0;
    CHECK_EQ_INT(apollo_session_ask(s, "x", &gp, NULL), APOLLO_E_INVALID_ARG);
    apollo_generate_params_init(&gp);
    gp.top_p = 1.5f;
    CHECK_EQ_INT(apollo_session_ask(s, "x", &gp, NULL), APOLLO_E_INVALID_ARG);
    CHECK_EQ_INT(apollo_session_ask(NULL, "x", NULL, NULL), APOLLO_E_MISUSE);
    CHECK_EQ_INT(apollo_session_ask(s, NULL, NULL, NULL), APOLLO_E_INVALID_ARG);
    CHECK(apollo_session_errmsg(NULL) != NULL);
    apollo_session_free(NULL);

    apollo_free(a1);
    apollo_free(a2);
    free(before);
    apollo_session_free(s);
    apollo_ctx_free(ctx);
}

int main(void)
{
    static const char *variants[] = {"tiny-tied", "tiny-sharded"};
    for (int v = 0; v < 2; v++) {
        ref r = {0};
        if (load_ref(variants[v], &r) != 0) {
            CHECK_MSG(0, "cannot read the %s text reference", variants[v]);
            continue;
        }
        golden(variants[v], &r, 1.0f, r.greedy, r.n_greedy, "greedy");
        golden(variants[v], &r, -1.0f, r.greedy_rp, r.n_greedy_rp,
               "greedy + generation_config repetition penalty");
        if (v == 0)
            behaviour(&r);
        free_ref(&r);
    }
    return test_finish("session_text");
}
