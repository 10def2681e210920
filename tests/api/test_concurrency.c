/* Concurrency (issue 9): 8 sessions on one ctx in 8 threads, each with its
 * own video (the two fixture videos opened several times, and synthetic
 * frames), each encoding its video, adding it to its conversation and
 * asking a greedy question.  The answers and token histories must be
 * identical to running the same 8 jobs one after another.  Run it under
 * TSan with tools/tsan.sh. */
#include <apollo.h>

#include "testutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define N_JOBS 8

typedef struct job {
    int id;
    apollo_ctx *ctx;
    uint8_t *pixels;
    int rc;
    char *answer;
    int32_t *tokens;
    size_t n_tokens;
    float emb_first;   /* first visual-token value */
} job;

static void job_clear(job *j)
{
    apollo_free(j->answer);
    free(j->tokens);
    j->answer = NULL;
    j->tokens = NULL;
    j->n_tokens = 0;
}

static void *run_job(void *vp)
{
    job *j = vp;
    apollo_video_params vp2;
    apollo_video *v = NULL;
    apollo_session *s = NULL;
    apollo_generate_params gp;
    char q[64];
    int rc;

    apollo_video_params_init(&vp2);
    vp2.max_clips = 2;
    vp2.n_threads = 1;
    switch (j->id % 3) {
    case 0:
        rc = apollo_video_open_file(j->ctx, APOLLO_TEST_FIXTURES "/videos/cfr_161x97_2997.mp4",
                                    &vp2, &v);
        break;
    case 1:
        rc = apollo_video_open_file(j->ctx, APOLLO_TEST_FIXTURES "/videos/vfr_400x226.mp4",
                                    &vp2, &v);
        break;
    default:
        rc = apollo_video_open_frames(j->ctx, j->pixels, 10, 40, 30, 0, 2.0 + j->id, NULL, &vp2,
                                      &v);
        break;
    }
    if (!rc)
        rc = apollo_session_new(j->ctx, NULL, &s);
    if (!rc)
        rc = apollo_session_add_video(s, v, NULL);
    if (!rc) {
        float e[1];
        size_t n;
        int32_t dim;
        if (apollo_video_get_embeddings(v, e, 1, &n, &dim) == APOLLO_OK)
            j->emb_first = e[0];
    }
    apollo_generate_params_init(&gp);
    gp.max_new_tokens = 6;
    gp.do_sample = 0;
    snprintf(q, sizeof q, "Question %d: what happens?", j->id);
    if (!rc)
        rc = apollo_session_ask(s, q, &gp, &j->answer);
    if (!rc) {
        apollo_session_get_tokens(s, NULL, 0, &j->n_tokens);
        j->tokens = malloc(j->n_tokens * sizeof *j->tokens + 1);
        apollo_session_get_tokens(s, j->tokens, j->n_tokens, &j->n_tokens);
    }
    j->rc = rc;
    apollo_session_free(s);
    apollo_video_free(v);
    return NULL;
}

int main(void)
{
    apollo_ctx *ctx = NULL;
    apollo_ctx_params cp;
    job seq[N_JOBS], par[N_JOBS];
    pthread_t th[N_JOBS];

    apollo_ctx_params_init(&cp);
    cp.n_threads = 2;
    CHECK_EQ_INT(apollo_ctx_open(APOLLO_TEST_FIXTURES "/models/tiny-tied", &cp, &ctx), APOLLO_OK);
    if (!ctx)
        return test_finish("test_concurrency");
    memset(seq, 0, sizeof seq);
    memset(par, 0, sizeof par);
    for (int i = 0; i < N_JOBS; i++) {
        size_t n = 10 * 40 * 30 * 3;
        seq[i].id = par[i].id = i;
        seq[i].ctx = par[i].ctx = ctx;
        seq[i].pixels = malloc(n);
        for (size_t k = 0; k < n; k++)
            seq[i].pixels[k] = (uint8_t)(k * (size_t)(i + 1) + k / 300);
        par[i].pixels = seq[i].pixels;
    }
    /* one after another */
    for (int i = 0; i < N_JOBS; i++) {
        run_job(&seq[i]);
        CHECK_MSG(seq[i].rc == APOLLO_OK, "job %d: %d (%s)", i, seq[i].rc, apollo_last_errmsg());
    }
    /* all at once */
    for (int i = 0; i < N_JOBS; i++)
        pthread_create(&th[i], NULL, run_job, &par[i]);
    for (int i = 0; i < N_JOBS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N_JOBS; i++) {
        CHECK_MSG(par[i].rc == APOLLO_OK, "job %d in a thread: %d", i, par[i].rc);
        CHECK_MSG(seq[i].answer && par[i].answer && strcmp(seq[i].answer, par[i].answer) == 0,
                  "job %d: answers differ: '%s' vs '%s'", i, seq[i].answer ? seq[i].answer : "",
                  par[i].answer ? par[i].answer : "");
        CHECK_EQ_INT(par[i].n_tokens, seq[i].n_tokens);
        CHECK(seq[i].tokens && par[i].tokens && par[i].n_tokens == seq[i].n_tokens &&
              memcmp(seq[i].tokens, par[i].tokens, seq[i].n_tokens * sizeof(int32_t)) == 0);
        CHECK_MSG(seq[i].emb_first == par[i].emb_first, "job %d: visual tokens differ", i);
    }
    /* the ctx may be freed while nothing uses it any more */
    for (int i = 0; i < N_JOBS; i++) {
        job_clear(&seq[i]);
        job_clear(&par[i]);
        free(seq[i].pixels);
    }
    apollo_ctx_free(ctx);
    return test_finish("test_concurrency");
}
