/* apollo_session_cancel from another thread (issue 9): during video
 * encoding (inside apollo_session_add_video), during prefill and during
 * decode.  Each time the call returns APOLLO_E_CANCELLED promptly, the
 * conversation is unchanged, and the next call works and gives the answer
 * an untouched session gives.  The moment of the cancel is made
 * deterministic by a callback of the running call (progress, abort poll,
 * streamed text) that wakes the canceller thread and waits until it has
 * called apollo_session_cancel; the call must then stop at its next poll.
 * A free-running variant cancels a long encode after a delay and checks
 * the latency. */
#include <apollo.h>

#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- a canceller thread woken by the running call -------------------------- */

typedef struct trigger {
    apollo_session *s;
    _Atomic int armed;      /* the running call asks for the cancel */
    _Atomic int done;       /* apollo_session_cancel has returned */
    _Atomic int n_text;     /* text chunks streamed */
    _Atomic int fired;      /* the hook fired (once) */
    double t_cancel;        /* when the cancel was issued */
    pthread_t th;
} trigger;

static void *canceller(void *vp)
{
    trigger *t = vp;
    while (!atomic_load(&t->armed))
        usleep(200);
    t->t_cancel = now_s();
    CHECK_EQ_INT(apollo_session_cancel(t->s), APOLLO_OK);
    atomic_store(&t->done, 1);
    return NULL;
}

static void trigger_start(trigger *t, apollo_session *s)
{
    memset(t, 0, sizeof *t);
    t->s = s;
    pthread_create(&t->th, NULL, canceller, t);
}

/* Called from the running call: wakes the canceller, waits for the cancel. */
static void fire(trigger *t)
{
    if (atomic_exchange(&t->fired, 1))
        return;
    atomic_store(&t->armed, 1);
    while (!atomic_load(&t->done))
        usleep(200);
}

static void trigger_join(trigger *t)
{
    if (!atomic_load(&t->armed)) { /* never fired: release the thread */
        atomic_store(&t->armed, 1);
    }
    pthread_join(t->th, NULL);
}

static void *delayed_cancel(void *vp)
{
    trigger *t = vp;
    usleep(50 * 1000);
    t->t_cancel = now_s();
    apollo_session_cancel(t->s);
    return NULL;
}

static void on_progress(int32_t i, int32_t n, void *ud)
{
    (void)n;
    if (i == 0)
        fire(ud);
}

static int32_t abort_prefill(void *ud)
{
    fire(ud); /* first poll: inside the prefill's first layer */
    return 0;
}

static int32_t abort_decode(void *ud)
{
    trigger *t = ud;
    if (atomic_load(&t->n_text) >= 1)
        fire(t);
    return 0;
}

static int32_t count_text(const char *text, size_t len, void *ud)
{
    (void)text;
    (void)len;
    atomic_fetch_add(&((trigger *)ud)->n_text, 1);
    return 0;
}

static apollo_generate_params greedy(int n)
{
    apollo_generate_params gp;
    apollo_generate_params_init(&gp);
    gp.max_new_tokens = n;
    gp.do_sample = 0;
    return gp;
}

static size_t n_tokens(const apollo_session *s)
{
    size_t n = 0;
    apollo_session_get_tokens(s, NULL, 0, &n);
    return n;
}

static uint8_t *make_pixels(int n_frames, int w, int h, int seed)
{
    uint8_t *p = malloc((size_t)n_frames * (size_t)w * (size_t)h * 3);
    for (size_t i = 0; i < (size_t)n_frames * (size_t)w * (size_t)h * 3; i++)
        p[i] = (uint8_t)(i * (size_t)(seed + 3) + i / 1000);
    return p;
}

#define Q "What happens in this video?"

int main(void)
{
    apollo_ctx *ctx = NULL;
    apollo_video *v = NULL;
    apollo_session *s = NULL, *ref = NULL;
    apollo_video_params vp;
    apollo_encode_params ep;
    apollo_generate_params gp;
    trigger t;
    char *ref_answer = NULL, *answer = NULL;
    uint8_t *pix = make_pixels(40, 32, 24, 1);
    double t_end;
    int rc;

    CHECK_EQ_INT(apollo_ctx_open(APOLLO_TEST_FIXTURES "/models/tiny-tied", NULL, &ctx), APOLLO_OK);
    if (!ctx)
        return test_finish("test_cancel");
    apollo_video_params_init(&vp);
    vp.max_clips = 4;
    CHECK_EQ_INT(apollo_video_open_frames(ctx, pix, 40, 32, 24, 0, 2.0, NULL, &vp, &v), APOLLO_OK);
    CHECK(apollo_video_n_clips(v) >= 2);

    /* the answer of an untouched session (encodes the video once; the
     * tests below use a second, unencoded video) */
    {
        apollo_video *v0 = NULL;
        CHECK_EQ_INT(apollo_video_open_frames(ctx, pix, 40, 32, 24, 0, 2.0, NULL, &vp, &v0),
                     APOLLO_OK);
        CHECK_EQ_INT(apollo_session_new(ctx, NULL, &ref), APOLLO_OK);
        CHECK_EQ_INT(apollo_session_add_video(ref, v0, NULL), APOLLO_OK);
        gp = greedy(8);
        CHECK_EQ_INT(apollo_session_ask(ref, Q, &gp, &ref_answer), APOLLO_OK);
        apollo_video_free(v0);
    }

    /* 1. during video encoding, inside apollo_session_add_video */
    CHECK_EQ_INT(apollo_session_new(ctx, NULL, &s), APOLLO_OK);
    trigger_start(&t, s);
    apollo_encode_params_init(&ep);
    ep.progress_fn = on_progress;
    ep.progress_user_data = &t;
    rc = apollo_session_add_video(s, v, &ep);
    t_end = now_s();
    trigger_join(&t);
    CHECK_EQ_INT(rc, APOLLO_E_CANCELLED);
    CHECK(atomic_load(&t.fired));
    CHECK_MSG(t_end - t.t_cancel < 2.0, "encode stopped %.3f s after the cancel",
              t_end - t.t_cancel);
    CHECK_EQ_INT(apollo_video_is_encoded(v), 0);
    CHECK_EQ_INT(n_tokens(s), 0);
    /* usable: the video goes in and the question gets the reference answer */
    CHECK_EQ_INT(apollo_session_add_video(s, v, NULL), APOLLO_OK);
    CHECK_EQ_INT(apollo_video_is_encoded(v), 1);
    {
        size_t n_before = n_tokens(s);

        /* 2. during the prefill of the question */
        trigger_start(&t, s);
        gp = greedy(8);
        gp.abort_fn = abort_prefill;
        gp.abort_user_data = &t;
        gp.on_text = count_text;
        gp.on_text_user_data = &t;
        rc = apollo_session_ask(s, Q, &gp, &answer);
        t_end = now_s();
        trigger_join(&t);
        CHECK_EQ_INT(rc, APOLLO_E_CANCELLED);
        CHECK(answer == NULL);
        CHECK_EQ_INT(atomic_load(&t.n_text), 0); /* stopped before any token */
        CHECK_MSG(t_end - t.t_cancel < 2.0, "prefill stopped %.3f s after the cancel",
                  t_end - t.t_cancel);
        CHECK_EQ_INT(n_tokens(s), n_before);

        /* 3. during decoding, after the first streamed text */
        trigger_start(&t, s);
        gp.abort_fn = abort_decode;
        rc = apollo_session_ask(s, Q, &gp, &answer);
        t_end = now_s();
        trigger_join(&t);
        if (atomic_load(&t.fired)) {
            CHECK_EQ_INT(rc, APOLLO_E_CANCELLED);
            CHECK(answer == NULL);
            CHECK_MSG(t_end - t.t_cancel < 2.0, "decode stopped %.3f s after the cancel",
                      t_end - t.t_cancel);
        } else {
            printf("note: the answer streamed no text; decode cancel not exercised\n");
            apollo_free(answer);
            answer = NULL;
        }
        CHECK_EQ_INT(n_tokens(s), n_before);
    }
    /* 4. the next question works and gives the untouched session's answer */
    gp = greedy(8);
    CHECK_EQ_INT(apollo_session_ask(s, Q, &gp, &answer), APOLLO_OK);
    CHECK(answer && ref_answer && strcmp(answer, ref_answer) == 0);
    apollo_free(answer);
    answer = NULL;

    /* 5. a cancel with no call running stops the next call only */
    CHECK_EQ_INT(apollo_session_cancel(s), APOLLO_OK);
    CHECK_EQ_INT(apollo_session_ask(s, "And then?", &gp, NULL), APOLLO_E_CANCELLED);
    CHECK_EQ_INT(apollo_session_ask(s, "And then?", &gp, NULL), APOLLO_OK);
    apollo_session_free(s);

    /* 6. free-running: cancel a long encode (many clips) after 50 ms */
    {
        uint8_t *long_pix = make_pixels(400, 32, 24, 2);
        apollo_video *lv = NULL;
        apollo_video_params lp;
        pthread_t th;
        apollo_video_params_init(&lp);
        lp.borrow = 1;
        CHECK_EQ_INT(apollo_video_open_frames(ctx, long_pix, 400, 32, 24, 0, 2.0, NULL, &lp, &lv),
                     APOLLO_OK);
        CHECK(apollo_video_n_clips(lv) >= 20);
        CHECK_EQ_INT(apollo_session_new(ctx, NULL, &s), APOLLO_OK);
        memset(&t, 0, sizeof t);
        t.s = s;
        pthread_create(&th, NULL, delayed_cancel, &t);
        rc = apollo_session_add_video(s, lv, NULL);
        t_end = now_s();
        pthread_join(th, NULL);
        CHECK_EQ_INT(rc, APOLLO_E_CANCELLED);
        CHECK_MSG(t_end - t.t_cancel < 2.0, "long encode stopped %.3f s after the cancel",
                  t_end - t.t_cancel);
        printf("long encode: cancelled %.1f ms after apollo_session_cancel\n",
               1e3 * (t_end - t.t_cancel));
        CHECK_EQ_INT(apollo_video_is_encoded(lv), 0);
        CHECK_EQ_INT(n_tokens(s), 0);
        gp = greedy(2);
        CHECK_EQ_INT(apollo_session_ask(s, "Hi", &gp, NULL), APOLLO_OK);
        apollo_session_free(s);
        apollo_video_free(lv);
        free(long_pix);
    }

    apollo_free(ref_answer);
    apollo_session_free(ref);
    apollo_video_free(v);
    apollo_ctx_free(ctx);
    free(pix);
    return test_finish("test_cancel");
}
