/* Clip sampling and prompt text against the reference loader: every case of
 * tests/fixtures/reference/sampling_cases.json and both videos' meta.json
 * (indices, timestamps, header, clip prefixes), plus the text helpers and
 * the user overrides. */
#include "testutil.h"
#include "common/status.h"
#include "video/video.h"

#include <jansson.h>
#include <stdlib.h>

static char text[1 << 20];

static int64_t jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static double jnum(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

/* Python str() of the JSON clip_duration value. */
static void clip_duration_text(json_t *v, char *buf, size_t cap)
{
    if (json_is_integer(v))
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    else
        snprintf(buf, cap, "%.17g", json_real_value(v));
}

static void check_case(json_t *c, int ci)
{
    apollo__sample_params p;
    apollo__sample_plan plan;
    char cdt[32];
    json_t *clips = json_object_get(c, "clip_indices"), *stamps = json_object_get(c, "timestamps");
    json_t *prefixes = json_object_get(c, "clip_prefixes");
    const char *header = json_string_value(json_object_get(c, "header"));
    const char *branch = json_string_value(json_object_get(c, "branch"));
    int rc, bad = 0;

    memset(&p, 0, sizeof p);
    p.total_frames = jint(c, "total_frames");
    p.fps = jnum(c, "fps");
    p.clip_duration = jnum(c, "clip_duration");
    clip_duration_text(json_object_get(c, "clip_duration"), cdt, sizeof cdt);
    p.clip_duration_text = cdt;
    p.frames_per_clip = (int32_t)jint(c, "frames_per_clip");
    p.model_max_length = jint(c, "model_max_length");
    p.tokens_per_clip = jint(c, "num_output_tokens");
    p.clip_sampling_ratio = jnum(c, "clip_sampling_ratio");

    rc = apollo__sample_plan_reference(&p, &plan);
    CHECK_MSG(rc == APOLLO_OK, "case %d: rc %d %s", ci, rc, apollo__errmsg());
    if (rc)
        return;
    CHECK_MSG(plan.n_clips == (int32_t)jint(c, "num_clips"), "case %d: %d clips, expected %lld", ci,
              plan.n_clips, (long long)jint(c, "num_clips"));
    CHECK_MSG(plan.budget_ratio == jnum(c, "budget_ratio"), "case %d: ratio %.17g vs %.17g", ci,
              plan.budget_ratio, jnum(c, "budget_ratio"));
    CHECK_MSG(plan.degenerate == json_is_true(json_object_get(c, "degenerate")), "case %d degenerate", ci);
    {
        const char *names[] = {"", "long", "short", "low_fps"};
        CHECK_MSG(!strcmp(names[plan.branch], branch), "case %d: branch %s vs %s", ci,
                  names[plan.branch], branch);
    }
    if (plan.n_clips == (int32_t)json_array_size(clips)) {
        for (int32_t i = 0; i < plan.n_clips && !bad; i++) {
            json_t *ci_idx = json_array_get(clips, (size_t)i);
            json_t *st = json_array_get(stamps, (size_t)i);
            for (int32_t k = 0; k < plan.frames_per_clip; k++)
                if (plan.indices[i * plan.frames_per_clip + k] !=
                    json_integer_value(json_array_get(ci_idx, (size_t)k)))
                    bad = 1;
            if (plan.t0[i] != json_number_value(json_array_get(st, 0)) ||
                plan.t1[i] != json_number_value(json_array_get(st, 1)))
                bad = 2;
            apollo__sample_clip_prefix(&plan, i, text, sizeof text);
            if (strcmp(text, json_string_value(json_array_get(prefixes, (size_t)i))))
                bad = 3;
            if (bad)
                fprintf(stderr, "case %d clip %d: mismatch kind %d (prefix '%s')\n", ci, i, bad, text);
        }
        CHECK_MSG(!bad, "case %d: indices/timestamps/prefixes", ci);
    }
    apollo__sample_header_text(&plan, text, sizeof text);
    CHECK_MSG(!strcmp(text, header), "case %d: header\n  got  '%s'\n  want '%s'", ci, text, header);

    /* The production plan equals the reference except in the degenerate
     * case, which it repairs to valid indices. */
    {
        apollo__sample_plan made;
        rc = apollo__sample_plan_make(&p, &made);
        CHECK_MSG(rc == APOLLO_OK, "case %d: make rc %d", ci, rc);
        if (!rc) {
            int same = made.n_clips == plan.n_clips;
            for (int64_t i = 0; same && i < (int64_t)plan.n_clips * plan.frames_per_clip; i++)
                same = made.indices[i] == plan.indices[i];
            if (plan.degenerate) {
                CHECK(made.repaired);
                for (int64_t i = 0; i < (int64_t)made.n_clips * made.frames_per_clip; i++)
                    CHECK(made.indices[i] >= 0 && made.indices[i] < p.total_frames);
            } else {
                CHECK_MSG(same && !made.repaired, "case %d: make differs from reference", ci);
            }
            apollo__sample_plan_free(&made);
        }
    }
    apollo__sample_plan_free(&plan);
}

static void check_meta(const char *name)
{
    char path[1024];
    json_error_t err;
    json_t *m;
    snprintf(path, sizeof path, "%s/reference/%s/meta.json", APOLLO_TEST_FIXTURES, name);
    m = json_load_file(path, 0, &err);
    CHECK_MSG(m != NULL, "%s: %s", path, err.text);
    if (!m)
        return;
    {
        apollo__sample_params p;
        apollo__sample_plan plan;
        json_t *clips = json_object_get(m, "clip_indices");
        json_t *ts = json_object_get(m, "timestamps");
        memset(&p, 0, sizeof p);
        p.total_frames = jint(m, "total_frames");
        p.fps = jnum(m, "fps");
        p.clip_duration = jnum(m, "clip_duration");
        p.clip_duration_text = "2";
        p.frames_per_clip = (int32_t)jint(m, "frames_per_clip");
        p.model_max_length = jint(m, "model_max_length");
        p.tokens_per_clip = 8; /* the tiny models' n_out; ratio is 1 either way */
        p.clip_sampling_ratio = jnum(m, "clip_sampling_ratio");
        CHECK(apollo__sample_plan_make(&p, &plan) == APOLLO_OK);
        CHECK_EQ_INT(plan.n_clips, jint(m, "num_clips"));
        for (int32_t i = 0; i < plan.n_clips && i < (int32_t)json_array_size(clips); i++) {
            for (int32_t k = 0; k < 4; k++)
                CHECK_EQ_INT(plan.indices[i * 4 + k],
                             json_integer_value(json_array_get(json_array_get(clips, (size_t)i), (size_t)k)));
            CHECK(plan.t0[i] == json_number_value(json_array_get(json_array_get(ts, (size_t)i), 0)));
            CHECK(plan.t1[i] == json_number_value(json_array_get(json_array_get(ts, (size_t)i), 1)));
        }
        apollo__py_timedelta_str(plan.duration, text, sizeof text);
        CHECK_MSG(!strcmp(text, json_string_value(json_object_get(m, "duration_str"))), "%s: '%s'",
                  name, text);
        apollo__sample_plan_free(&plan);
    }
    json_decref(m);
}

/* The prompt block of the tiny-tied scenario (8 tokens per clip). */
static void check_scenario_block(void)
{
    char path[1024];
    json_error_t err;
    json_t *s;
    snprintf(path, sizeof path, "%s/reference/tiny-tied/video-cfr/scenario.json", APOLLO_TEST_FIXTURES);
    s = json_load_file(path, 0, &err);
    if (!s) {
        printf("(scenario.json not available: %s)\n", err.text);
        return;
    }
    {
        const char *prompt = json_string_value(json_object_get(s, "prompt_text"));
        apollo__sample_params p;
        apollo__sample_plan plan;
        memset(&p, 0, sizeof p);
        p.total_frames = 135;
        p.fps = 30000.0 / 1001.0;
        p.clip_duration = 2;
        p.clip_duration_text = "2";
        p.frames_per_clip = 4;
        p.model_max_length = 16384;
        p.tokens_per_clip = 8;
        CHECK(apollo__sample_plan_make(&p, &plan) == APOLLO_OK);
        apollo__sample_prompt_text(&plan, "<|video_token|>", text, sizeof text);
        CHECK_MSG(prompt && strstr(prompt, text) != NULL, "video block not in the scenario prompt:\n%s", text);
        apollo__sample_plan_free(&plan);
    }
    json_decref(s);
}

static void check_text_helpers(void)
{
    static const struct {
        int64_t n;
        const char *w;
    } nw[] = {{0, "zero"}, {1, "one"}, {13, "thirteen"}, {21, "twenty-one"}, {40, "forty"},
              {84, "eighty-four"}, {100, "one hundred"}, {105, "one hundred and five"},
              {167, "one hundred and sixty-seven"}, {1000, "one thousand"},
              {1001, "one thousand and one"},
              {1234, "one thousand, two hundred and thirty-four"},
              {2100, "two thousand, one hundred"},
              {1000001, "one million and one"}};
    static const struct {
        double s;
        const char *t;
    } td[] = {{10.01, "0:00:10.010000"}, {3600.0, "1:00:00"}, {3599.996, "0:59:59.996000"},
              {86410.0, "1 day, 0:00:10"}, {2 * 86400.0 + 1, "2 days, 0:00:01"},
              {0.0000005, "0:00:00"}, {0.0000015, "0:00:00.000002"}, {0.0, "0:00:00"}};
    static const struct {
        double x;
        const char *r;
    } r1[] = {{0.0, "0.0"}, {1.4014, "1.4"}, {0.25, "0.2"}, {0.35, "0.4"} /* numpy: rint(3.5) */, {1.25, "1.2"},
              {105.55, "105.6"}, {513.3333333333334, "513.3"}, {-4.0, "-4.0"}, {2.0, "2.0"}};
    for (size_t i = 0; i < sizeof nw / sizeof nw[0]; i++) {
        apollo__num2words(nw[i].n, text, sizeof text);
        CHECK_MSG(!strcmp(text, nw[i].w), "num2words(%lld) = '%s'", (long long)nw[i].n, text);
    }
    for (size_t i = 0; i < sizeof td / sizeof td[0]; i++) {
        apollo__py_timedelta_str(td[i].s, text, sizeof text);
        CHECK_MSG(!strcmp(text, td[i].t), "timedelta(%g) = '%s', want '%s'", td[i].s, text, td[i].t);
    }
    for (size_t i = 0; i < sizeof r1 / sizeof r1[0]; i++) {
        apollo__py_round1_str(r1[i].x, text, sizeof text);
        CHECK_MSG(!strcmp(text, r1[i].r), "round(%.17g, 1) = '%s', want '%s'", r1[i].x, text, r1[i].r);
    }
    /* snprintf-like length when the buffer is short */
    CHECK_EQ_INT(apollo__num2words(1234, text, 4), (int64_t)strlen("one thousand, two hundred and thirty-four"));
    CHECK(!strcmp(text, "one"));
}

static void base_params(apollo__sample_params *p, int64_t total, double fps)
{
    memset(p, 0, sizeof *p);
    p->total_frames = total;
    p->fps = fps;
    p->clip_duration = 2;
    p->clip_duration_text = "2";
    p->frames_per_clip = 4;
    p->model_max_length = 16384;
    p->tokens_per_clip = 128;
}

static void check_overrides(void)
{
    apollo__sample_params p;
    apollo__sample_plan plan;

    /* max_clips */
    base_params(&p, 107892, 30000.0 / 1001.0);
    p.max_clips = 10;
    CHECK(apollo__sample_plan_make(&p, &plan) == APOLLO_OK);
    CHECK_EQ_INT(plan.n_clips, 10);
    CHECK_EQ_INT(plan.indices[4 * 9 + 3] < 107892, 1);
    apollo__sample_plan_free(&plan);

    /* window [60, 70) s of a 30 fps video: 10 s -> 5 clips, absolute times */
    base_params(&p, 9000, 30.0);
    p.start_s = 60;
    p.end_s = 70;
    CHECK(apollo__sample_plan_make(&p, &plan) == APOLLO_OK);
    CHECK_EQ_INT(plan.n_clips, 5);
    CHECK_EQ_INT(plan.indices[0], 1800);
    CHECK_EQ_INT(plan.indices[4 * 4 + 3], 1800 + 285);
    CHECK(plan.t0[0] == 60.0);
    apollo__sample_header_text(&plan, text, sizeof text);
    CHECK_STR_CONTAINS(text, "five, 2 second clips from a 0:00:10 [H:MM:SS] video.");
    apollo__sample_clip_prefix(&plan, 1, text, sizeof text);
    CHECK(!strcmp(text, "62.0-63.5 seconds: "));
    apollo__sample_plan_free(&plan);

    /* fps override: 1 frame/s -> 4-second clips */
    base_params(&p, 300, 30.0);
    p.target_fps = 1.0;
    CHECK(apollo__sample_plan_make(&p, &plan) == APOLLO_OK);
    CHECK_EQ_INT(plan.n_clips, 3);
    CHECK_EQ_INT(plan.indices[1] - plan.indices[0], 30);
    apollo__sample_header_text(&plan, text, sizeof text);
    CHECK_STR_CONTAINS(text, "three, 4 second clips");
    apollo__sample_plan_free(&plan);

    /* bad windows and values */
    base_params(&p, 300, 30.0);
    p.start_s = 20;
    CHECK_EQ_INT(apollo__sample_plan_make(&p, &plan), APOLLO_E_INVALID_ARG);
    CHECK_STR_CONTAINS(apollo__errmsg(), "holds no frame");
    base_params(&p, 300, 0.0);
    CHECK_EQ_INT(apollo__sample_plan_make(&p, &plan), APOLLO_E_NO_VIDEO);
    base_params(&p, 0, 30.0);
    CHECK_EQ_INT(apollo__sample_plan_make(&p, &plan), APOLLO_E_NO_VIDEO);
    base_params(&p, 300, 30.0);
    p.target_fps = -1;
    CHECK_EQ_INT(apollo__sample_plan_make(&p, &plan), APOLLO_E_INVALID_ARG);

    /* placeholders: the full block */
    base_params(&p, 300, 30.0);
    p.tokens_per_clip = 2;
    CHECK(apollo__sample_plan_make(&p, &plan) == APOLLO_OK);
    {
        int64_t n = apollo__sample_prompt_text(&plan, "<|v|>", text, sizeof text);
        const char *want =
            "You are provided the following series of five, 2 second clips from a 0:00:10 "
            "[H:MM:SS] video.\n0.0-1.5 seconds: <|v|><|v|>,\n2.0-3.5 seconds: <|v|><|v|>,\n"
            "4.0-5.5 seconds: <|v|><|v|>,\n6.0-7.5 seconds: <|v|><|v|>,\n8.0-9.5 seconds: "
            "<|v|><|v|>";
        CHECK_MSG(!strcmp(text, want), "block:\n%s", text);
        CHECK_EQ_INT(n, (int64_t)strlen(want));
    }
    apollo__sample_plan_free(&plan);
}

int main(void)
{
    char path[1024];
    json_error_t err;
    json_t *cases;

    snprintf(path, sizeof path, "%s/reference/sampling_cases.json", APOLLO_TEST_FIXTURES);
    cases = json_load_file(path, 0, &err);
    CHECK_MSG(cases != NULL, "%s: %s", path, err.text);
    if (cases) {
        for (size_t i = 0; i < json_array_size(cases); i++)
            check_case(json_array_get(cases, i), (int)i);
        printf("sampling_cases.json: %zu cases checked\n", json_array_size(cases));
        json_decref(cases);
    }
    check_meta("video-cfr");
    check_meta("video-vfr");
    check_scenario_block();
    check_text_helpers();
    check_overrides();
    return test_finish("test_video_sample");
}
