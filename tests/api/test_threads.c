/* The thread contract: one ctx shared by several threads, each running its
 * own session at the same time, gives exactly the answers the same sessions
 * give one after another; forked sessions share a prefix without
 * recomputing it and never disturb their parent. */
#include <apollo.h>

#include "testutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define N_THREADS 4
#define N_NEW 12

static apollo_ctx *ctx;
static const char *questions[N_THREADS] = {
    "Describe a sunrise.", "Count to five.", "Was ist ein Vektor?", "一句话介绍你自己。"};

typedef struct job {
    int index;
    int32_t ids[256];
    size_t n;
    int rc;
} job;

static void run_job(job *j)
{
    apollo_session *s = NULL;
    apollo_generate_params gp;
    j->rc = apollo_session_new(ctx, NULL, &s);
    if (j->rc)
        return;
    apollo_generate_params_init(&gp);
    gp.max_new_tokens = N_NEW;
    gp.seed = (uint64_t)j->index + 1; /* sampled, seeded: deterministic */
    j->rc = apollo_session_ask(s, questions[j->index], &gp, NULL);
    if (!j->rc)
        j->rc = apollo_session_get_tokens(s, j->ids, 256, &j->n);
    apollo_session_free(s);
}

static void *thread_main(void *vp)
{
    run_job(vp);
    return NULL;
}

static void concurrent_equals_sequential(void)
{
    job seq[N_THREADS], par[N_THREADS];
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        memset(&seq[i], 0, sizeof seq[i]);
        seq[i].index = i;
        run_job(&seq[i]);
        CHECK_EQ_INT(seq[i].rc, APOLLO_OK);
    }
    for (int i = 0; i < N_THREADS; i++) {
        memset(&par[i], 0, sizeof par[i]);
        par[i].index = i;
        pthread_create(&th[i], NULL, thread_main, &par[i]);
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N_THREADS; i++) {
        CHECK_EQ_INT(par[i].rc, APOLLO_OK);
        CHECK_EQ_INT(par[i].n, seq[i].n);
        CHECK_MSG(memcmp(par[i].ids, seq[i].ids, seq[i].n * sizeof(int32_t)) == 0,
                  "thread %d: concurrent tokens differ from sequential ones", i);
    }
    printf("%d concurrent sessions on one ctx: identical to sequential runs\n", N_THREADS);
}

static void fork_shares_prefix(void)
{
    apollo_session *base = NULL, *a = NULL, *b = NULL, *fresh = NULL;
    apollo_generate_params gp;
    int32_t ta[512], tb[512], tf[512], tbase[512];
    size_t na, nb, nf, nbase, nbase2;

    CHECK_EQ_INT(apollo_session_new(ctx, NULL, &base), APOLLO_OK);
    CHECK_EQ_INT(apollo_session_add_exchange(base, "Hi.", "Hello!"), APOLLO_OK);
    apollo_session_get_tokens(base, tbase, 512, &nbase);
    CHECK_EQ_INT(apollo_session_fork(base, &a), APOLLO_OK);
    CHECK_EQ_INT(apollo_session_fork(base, &b), APOLLO_OK);
    apollo_generate_params_init(&gp);
    gp.max_new_tokens = 8;
    gp.do_sample = 0;
    CHECK_EQ_INT(apollo_session_ask(a, "First question?", &gp, NULL), APOLLO_OK);
    CHECK_EQ_INT(apollo_session_ask(b, "Second question?", &gp, NULL), APOLLO_OK);
    /* a fresh session with the same history answers the same as the fork */
    CHECK_EQ_INT(apollo_session_new(ctx, NULL, &fresh), APOLLO_OK);
    CHECK_EQ_INT(apollo_session_add_exchange(fresh, "Hi.", "Hello!"), APOLLO_OK);
    CHECK_EQ_INT(apollo_session_ask(fresh, "First question?", &gp, NULL), APOLLO_OK);
    apollo_session_get_tokens(a, ta, 512, &na);
    apollo_session_get_tokens(b, tb, 512, &nb);
    apollo_session_get_tokens(fresh, tf, 512, &nf);
    CHECK_EQ_INT(na, nf);
    CHECK(memcmp(ta, tf, na * sizeof(int32_t)) == 0);
    CHECK(memcmp(ta, tbase, nbase * sizeof(int32_t)) == 0);
    CHECK(memcmp(tb, tbase, nbase * sizeof(int32_t)) == 0);
    apollo_session_get_tokens(base, NULL, 0, &nbase2);
    CHECK_EQ_INT(nbase2, nbase); /* the parent is untouched */
    {
        apollo_session *none = NULL;
        CHECK_EQ_INT(apollo_session_fork(NULL, &none), APOLLO_E_MISUSE);
        CHECK(none == NULL);
    }
    apollo_session_free(a);
    apollo_session_free(b);
    apollo_session_free(fresh);
    apollo_session_free(base);
    printf("forks: share the parent's prefix, answer like a fresh session\n");
}

int main(void)
{
    char dir[1024];
    apollo_ctx_params p;
    snprintf(dir, sizeof dir, "%s/models/tiny-sharded", APOLLO_TEST_FIXTURES);
    apollo_ctx_params_init(&p);
    p.n_threads = 2;
    CHECK_EQ_INT(apollo_ctx_open(dir, &p, &ctx), APOLLO_OK);
    if (!ctx)
        return test_finish("threads");
    concurrent_equals_sequential();
    fork_shares_prefix();
    apollo_ctx_free(ctx);
    return test_finish("threads");
}
