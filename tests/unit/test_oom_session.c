/* Allocation-failure torture (STYLE.md section 8) of the per-call paths on
 * an open ctx (the ctx itself is opened without failures):
 *   ask       apollo_session_new + apollo_session_ask (text, 4 greedy tokens)
 *   video     apollo_video_open_file (1 clip) + apollo_video_encode
 *   frames    apollo_video_open_frames + apollo_session_add_video + ask
 *   save/load apollo_video_save + apollo_video_load of an encoded video
 * For each, the allocations of a successful run are counted, then the run
 * is repeated failing allocation k for every k (sampled log-spaced above
 * APOLLO_OOM_EXHAUSTIVE, default 3000).  A failing run must return
 * APOLLO_E_NOMEM (save: APOLLO_E_NOMEM or APOLLO_E_IO) and free everything
 * (LSan); a session whose ask failed must still answer the same question
 * with the same answer once allocations work again.  Also a full disk
 * during apollo_video_save at several points: APOLLO_E_IO, no temporary
 * left, the previous file intact. */
#include "apollo.h"
#include "common/alloc.h"
#include "store/embed_store.h"
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>

static apollo_ctx *ctx;
static char baseline_answer[256];
static apollo_video *encoded; /* for save/load */
static char save_path[600];
static uint8_t pixels[6 * 24 * 20 * 3];

static uint64_t env_u64(const char *name, uint64_t def)
{
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 10) : def;
}

/* A scenario runs once with allocation k failing (k = 0: none), returns
 * the status of the operation under test and sets *count to the
 * allocations it attempted up to its end. */
typedef int (*scenario)(uint64_t k, uint64_t *count);

static apollo_generate_params greedy(int n)
{
    apollo_generate_params gp;
    apollo_generate_params_init(&gp);
    gp.max_new_tokens = n;
    gp.do_sample = 0;
    return gp;
}

static int sc_ask(uint64_t k, uint64_t *count)
{
    apollo_session *s = NULL;
    apollo_generate_params gp = greedy(4);
    char *answer = NULL;
    int rc;
    apollo__alloc_fail_at(k);
    rc = apollo_session_new(ctx, NULL, &s);
    if (rc == APOLLO_OK)
        rc = apollo_session_ask(s, "What is in the box?", &gp, &answer);
    *count = apollo__alloc_count();
    apollo__alloc_fail_at(0);
    if (k == 0 && rc == APOLLO_OK)
        snprintf(baseline_answer, sizeof baseline_answer, "%s", answer);
    if (rc != APOLLO_OK && s) {
        /* the failed turn left no trace: the same question gives the same answer */
        size_t n = 1;
        CHECK(apollo_session_get_tokens(s, NULL, 0, &n) == APOLLO_OK && n == 0);
        CHECK_EQ_INT(apollo_session_ask(s, "What is in the box?", &gp, &answer), APOLLO_OK);
        CHECK(answer && strcmp(answer, baseline_answer) == 0);
    }
    apollo_free(answer);
    apollo_session_free(s);
    return rc;
}

static int sc_video(uint64_t k, uint64_t *count)
{
    apollo_video_params vp;
    apollo_video *v = NULL;
    int rc;
    apollo_video_params_init(&vp);
    vp.max_clips = 1;
    vp.n_threads = 1;
    apollo__alloc_fail_at(k);
    rc = apollo_video_open_file(ctx, APOLLO_TEST_FIXTURES "/videos/cfr_161x97_2997.mp4", &vp,
                                &v);
    if (rc == APOLLO_OK)
        rc = apollo_video_encode(v, NULL);
    *count = apollo__alloc_count();
    apollo__alloc_fail_at(0);
    if (rc != APOLLO_OK && v) {
        /* a failed encode leaves the video usable: encoding again works */
        CHECK_EQ_INT(apollo_video_is_encoded(v), 0);
        CHECK_EQ_INT(apollo_video_encode(v, NULL), APOLLO_OK);
    }
    apollo_video_free(v);
    return rc;
}

static int sc_frames(uint64_t k, uint64_t *count)
{
    apollo_session *s = NULL;
    apollo_video *v = NULL;
    apollo_generate_params gp = greedy(3);
    char *answer = NULL;
    int rc;
    apollo__alloc_fail_at(k);
    rc = apollo_video_open_frames(ctx, pixels, 6, 24, 20, 0, 2.0, NULL, NULL, &v);
    if (rc == APOLLO_OK)
        rc = apollo_session_new(ctx, NULL, &s);
    if (rc == APOLLO_OK)
        rc = apollo_session_add_video(s, v, NULL);
    if (rc == APOLLO_OK)
        rc = apollo_session_ask(s, "Describe it.", &gp, &answer);
    *count = apollo__alloc_count();
    apollo__alloc_fail_at(0);
    apollo_free(answer);
    apollo_session_free(s);
    apollo_video_free(v);
    return rc;
}

static int sc_save_load(uint64_t k, uint64_t *count)
{
    apollo_video *v = NULL;
    int rc;
    apollo__alloc_fail_at(k);
    rc = apollo_video_save(encoded, save_path);
    if (rc == APOLLO_OK)
        rc = apollo_video_load(ctx, save_path, NULL, &v);
    *count = apollo__alloc_count();
    apollo__alloc_fail_at(0);
    if (rc == APOLLO_OK)
        CHECK_EQ_INT(apollo_video_is_encoded(v), 1);
    apollo_video_free(v);
    return rc;
}

static void torture(const char *name, scenario fn, int allow_io)
{
    uint64_t total = 0, c, prev = 0;
    uint64_t exhaustive = env_u64("APOLLO_OOM_EXHAUSTIVE", 300);
    uint64_t samples = env_u64("APOLLO_OOM_SAMPLES", 40);
    int n_runs = 0, n_nomem = 0, n_absorbed = 0;
    CHECK_EQ_INT(fn(0, &total), APOLLO_OK);
    for (uint64_t i = 0;; i++) {
        uint64_t k;
        int rc;
        if (i < exhaustive)
            k = i + 1;
        else {
            uint64_t j = i - exhaustive;
            if (j >= samples)
                break;
            k = (uint64_t)((double)exhaustive *
                           pow((double)total / (double)exhaustive, (double)(j + 1) / (double)samples));
        }
        if (k > total)
            break;
        if (k <= prev)
            continue;
        prev = k;
        rc = fn(k, &c);
        n_runs++;
        if (rc == APOLLO_OK) {
            n_absorbed++;
            continue;
        }
        n_nomem += rc == APOLLO_E_NOMEM;
        CHECK_MSG(rc == APOLLO_E_NOMEM || (allow_io && rc == APOLLO_E_IO),
                  "%s, k=%llu: rc %d (%s)", name, (unsigned long long)k, rc, apollo_last_errmsg());
    }
    printf("%-10s %8llu allocations, %d failing runs: %d NOMEM, %d absorbed\n", name,
           (unsigned long long)total, n_runs, n_nomem, n_absorbed);
    fflush(stdout);
}

static int count_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp") != NULL;
    if (d)
        closedir(d);
    return n;
}

int main(void)
{
    apollo_ctx_params p;
    char dir[512];
    const char *only = getenv("APOLLO_OOM_ONLY");

    apollo_ctx_params_init(&p);
    p.n_threads = 1;
    CHECK_EQ_INT(apollo_ctx_open(APOLLO_TEST_FIXTURES "/models/tiny-tied", &p, &ctx), APOLLO_OK);
    if (!ctx)
        return test_finish("test_oom_session");
    for (size_t i = 0; i < sizeof pixels; i++)
        pixels[i] = (uint8_t)(i * 7 + i / 97);
    snprintf(dir, sizeof dir, "%s/oom", APOLLO_TEST_TMPDIR);
    mkdir(dir, 0755);
    snprintf(save_path, sizeof save_path, "%s/v.apemb", dir);
    CHECK_EQ_INT(apollo_video_open_frames(ctx, pixels, 6, 24, 20, 0, 2.0, NULL, NULL, &encoded),
                 APOLLO_OK);
    CHECK_EQ_INT(apollo_video_encode(encoded, NULL), APOLLO_OK);

    if (!only || strstr(only, "ask"))
        torture("ask", sc_ask, 0);
    if (!only || strstr(only, "video"))
        torture("video", sc_video, 0);
    if (!only || strstr(only, "frames"))
        torture("frames", sc_frames, 0);
    if (!only || strstr(only, "save"))
        torture("save/load", sc_save_load, 1);

    /* a full disk at several points of the save: IO, old file intact */
    {
        apollo_video *v = NULL;
        CHECK_EQ_INT(apollo_video_save(encoded, save_path), APOLLO_OK);
        for (uint64_t n = 1; n < 200000; n = n * 3 + 7) {
            apollo__embed_store_fail_after(n);
            int rc = apollo_video_save(encoded, save_path);
            apollo__embed_store_fail_after(0);
            CHECK_MSG(rc == APOLLO_E_IO || rc == APOLLO_OK, "fail_after %llu: rc %d",
                      (unsigned long long)n, rc);
            CHECK_EQ_INT(count_temporaries(dir), 0);
            CHECK_EQ_INT(apollo_video_load(ctx, save_path, NULL, &v), APOLLO_OK);
            apollo_video_free(v);
            v = NULL;
        }
    }
    remove(save_path);
    apollo_video_free(encoded);
    apollo_ctx_free(ctx);
    return test_finish("test_oom_session");
}
