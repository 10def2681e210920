/* Apollo's clip sampling (calculate_sample_indices and the clip budget,
 * apollo-model.md §2.3-2.4) and the video block text (§5.2), with the
 * reference's Python/numpy arithmetic reproduced step by step. */
#include "video.h"

#include "common/alloc.h"
#include "common/pyfmt.h"
#include "common/status.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- small helpers ---------------------------------------------------------------- */

static int64_t i64_min(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t i64_max(int64_t a, int64_t b) { return a > b ? a : b; }

/* Python floor division for a possibly negative numerator, positive d. */
static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* np.clip(x, lo, hi) = minimum(maximum(x, lo), hi), also when lo > hi. */
static int64_t np_clip(int64_t x, int64_t lo, int64_t hi)
{
    return i64_min(i64_max(x, lo), hi);
}

static void plan_reset(apollo__sample_plan *plan)
{
    memset(plan, 0, sizeof *plan);
}

void apollo__sample_plan_free(apollo__sample_plan *plan)
{
    if (!plan)
        return;
    apollo__free(plan->indices);
    apollo__free(plan->t0);
    apollo__free(plan->t1);
    plan_reset(plan);
}

static int plan_alloc(apollo__sample_plan *plan, int64_t n_clips, int32_t fpc)
{
    size_t n;
    if (n_clips < 1 || n_clips > (1 << 24))
        return apollo__fail(APOLLO_E_INVALID_ARG, "video sampling: %lld clips out of range",
                            (long long)n_clips);
    if (apollo__mul_size((size_t)n_clips * (size_t)fpc, sizeof(int64_t), &n))
        return apollo__fail(APOLLO_E_NOMEM, "video sampling: size overflow");
    plan->indices = apollo__calloc((size_t)n_clips * (size_t)fpc, sizeof(int64_t));
    plan->t0 = apollo__calloc((size_t)n_clips, sizeof(double));
    plan->t1 = apollo__calloc((size_t)n_clips, sizeof(double));
    if (!plan->indices || !plan->t0 || !plan->t1) {
        apollo__sample_plan_free(plan);
        return apollo__fail(APOLLO_E_NOMEM, "out of memory (video sampling plan)");
    }
    plan->n_clips = (int32_t)n_clips;
    plan->frames_per_clip = fpc;
    return APOLLO_OK;
}

static int check_params(const apollo__sample_params *p)
{
    if (!p)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video sampling: params is NULL");
    if (p->total_frames < 1)
        return apollo__fail(APOLLO_E_NO_VIDEO, "video sampling: the video has no frames");
    if (!(p->fps > 0) || !isfinite(p->fps))
        return apollo__fail(APOLLO_E_NO_VIDEO,
                            "video sampling: frame rate %g is not positive (zero duration)",
                            p->fps);
    if (!(p->clip_duration > 0) || !isfinite(p->clip_duration))
        return apollo__fail(APOLLO_E_INVALID_ARG, "video sampling: clip_duration %g must be > 0",
                            p->clip_duration);
    if (p->frames_per_clip < 1 || p->frames_per_clip > APOLLO__VIDEO_MAX_FPC)
        return apollo__fail(APOLLO_E_INVALID_ARG,
                            "video sampling: frames_per_clip %d out of range [1, %d]",
                            p->frames_per_clip, APOLLO__VIDEO_MAX_FPC);
    if (p->model_max_length < 1 || p->tokens_per_clip < 1)
        return apollo__fail(APOLLO_E_INVALID_ARG,
                            "video sampling: model_max_length and tokens_per_clip must be >= 1");
    if (p->target_fps < 0 || !isfinite(p->target_fps))
        return apollo__fail(APOLLO_E_INVALID_ARG, "video sampling: fps override %g is negative",
                            p->target_fps);
    if (p->max_clips < 0)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video sampling: max_clips %lld is negative",
                            (long long)p->max_clips);
    return APOLLO_OK;
}

/* The reference algorithm on `total` frames; writes indices relative to
 * the window start.  clip_duration, target are the effective ones. */
static int sample_core(int64_t total, double fps, double clip_duration, double target,
                       int32_t fpc, double ratio, int64_t max_clips, apollo__sample_plan *plan)
{
    double duration = (double)total / fps;
    /* num_clips = math.ceil((duration / clip_duration) * ratio) */
    double nc_f = ceil((duration / clip_duration) * ratio);
    int64_t num_clips, partition;
    double step_f = fps / target;
    int rc;

    if (!(nc_f >= 1))
        nc_f = 1; /* duration > 0 always gives >= 1; guards rounding to 0 */
    if (nc_f > (double)(1 << 24))
        return apollo__fail(APOLLO_E_INVALID_ARG, "video sampling: %g clips is too many", nc_f);
    num_clips = (int64_t)nc_f;
    if (max_clips > 0 && num_clips > max_clips)
        num_clips = max_clips;
    partition = total / num_clips;
    if ((rc = plan_alloc(plan, num_clips, fpc)))
        return rc;
    plan->budget_ratio = ratio;

    if (step_f > 0.5) {
        double st = fps / target;
        int64_t step = st >= 1 ? (int64_t)st : 1; /* max(1, int(fps / target)) */
        int64_t clip_len = (int64_t)fpc * step;
        int64_t sample_len = i64_min(clip_len, total);
        int64_t clip_step = total > clip_len ? floordiv(total - clip_len, i64_max(1, num_clips - 1)) : 0;
        plan->branch = partition > clip_len ? APOLLO__BRANCH_LONG : APOLLO__BRANCH_SHORT;
        for (int64_t i = 0; i < num_clips; i++) {
            int64_t *idx = plan->indices + i * fpc;
            if (partition > clip_len) {
                int64_t s = floordiv(partition - clip_len, 2);
                /* np.arange(s, s + clip_len, step): exactly fpc values */
                for (int32_t k = 0; k < fpc; k++)
                    idx[k] = np_clip(s + k * step, 0, partition - 1) + i * partition;
            } else {
                /* np.arange(0, sample_len, step), padded with sample_len */
                int64_t n_ar = (sample_len + step - 1) / step;
                for (int32_t k = 0; k < fpc; k++) {
                    int64_t v = k < n_ar ? k * step : sample_len;
                    idx[k] = np_clip(v, 0, sample_len - 1) + i * clip_step;
                }
            }
            plan->t0[i] = (double)idx[0] / fps;
            plan->t1[i] = (double)idx[fpc - 1] / fps;
        }
    } else {
        /* rep = int(np.ceil(1 / step_f)); clip_len = int(fpc * step_f) */
        int64_t rep = (int64_t)ceil(1.0 / step_f);
        int64_t clip_len = (int64_t)((double)fpc * step_f);
        int64_t n_base = clip_len * rep, clip_step, sample_len;
        int64_t base[APOLLO__VIDEO_MAX_FPC];
        plan->branch = APOLLO__BRANCH_LOW_FPS;
        clip_len = i64_min(clip_len, n_base);
        clip_step = total > clip_len ? floordiv(total - clip_len, i64_max(1, num_clips - 1)) : 0;
        sample_len = i64_min(clip_len, total);
        /* base = repeat(arange(clip_len), rep), padded with sample_len up
         * to fpc; a longer base (possible only with fpc != 4) is cut. */
        for (int32_t k = 0; k < fpc; k++)
            base[k] = k < n_base ? k / rep : sample_len;
        for (int64_t i = 0; i < num_clips; i++) {
            int64_t *idx = plan->indices + i * fpc;
            for (int32_t k = 0; k < fpc; k++) {
                idx[k] = np_clip(base[k], 0, sample_len - 1) + i * clip_step;
                if (idx[k] < 0)
                    plan->degenerate = 1;
            }
            plan->t0[i] = (double)idx[0] / fps;
            plan->t1[i] = (double)idx[fpc - 1] / fps;
        }
    }
    return APOLLO_OK;
}

static double budget_ratio(const apollo__sample_params *p, double duration, double clip_duration)
{
    double ratio = p->clip_sampling_ratio > 0 ? p->clip_sampling_ratio : 0.65;
    /* min(1, (mml * ratio) / (duration * n_out / clip_duration)) */
    double r = ((double)p->model_max_length * ratio) /
               (duration * (double)p->tokens_per_clip / clip_duration);
    return r < 1 ? r : 1;
}

static void set_text(apollo__sample_plan *plan, const apollo__sample_params *p, double clip_duration,
                     int overridden)
{
    plan->clip_duration = clip_duration;
    plan->tokens_per_clip = p->tokens_per_clip;
    if (!overridden && p->clip_duration_text && *p->clip_duration_text) {
        snprintf(plan->clip_duration_text, sizeof plan->clip_duration_text, "%s",
                 p->clip_duration_text);
    } else if (clip_duration == floor(clip_duration) && clip_duration < 1e15) {
        /* an integral duration prints like the JSON integer it would be */
        snprintf(plan->clip_duration_text, sizeof plan->clip_duration_text, "%lld",
                 (long long)clip_duration);
    } else {
        apollo__py_float_repr(clip_duration, plan->clip_duration_text,
                              sizeof plan->clip_duration_text);
    }
}

int apollo__sample_plan_reference(const apollo__sample_params *p, apollo__sample_plan *plan)
{
    double duration, target;
    int rc;

    if (!plan)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video sampling: plan is NULL");
    plan_reset(plan);
    if ((rc = check_params(p)))
        return rc;
    duration = (double)p->total_frames / p->fps;
    target = (double)p->frames_per_clip / p->clip_duration;
    rc = sample_core(p->total_frames, p->fps, p->clip_duration, target, p->frames_per_clip,
                     budget_ratio(p, duration, p->clip_duration), 0, plan);
    if (rc)
        return rc;
    plan->first_frame = 0;
    plan->window_frames = p->total_frames;
    plan->duration = duration;
    set_text(plan, p, p->clip_duration, 0);
    return APOLLO_OK;
}

int apollo__sample_plan_make(const apollo__sample_params *p, apollo__sample_plan *plan)
{
    double fps, clip_duration, target, duration;
    int64_t first = 0, end, n;
    int32_t fpc;
    int overridden = 0, rc;

    if (!plan)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video sampling: plan is NULL");
    plan_reset(plan);
    if ((rc = check_params(p)))
        return rc;
    fps = p->fps;
    fpc = p->frames_per_clip;
    end = p->total_frames;
    if (p->start_s < 0 || !isfinite(p->start_s) || !isfinite(p->end_s))
        return apollo__fail(APOLLO_E_INVALID_ARG, "video window: start %g s is invalid", p->start_s);
    if (p->start_s > 0) {
        double f = ceil(p->start_s * fps - 1e-9);
        first = f >= (double)p->total_frames ? p->total_frames : (int64_t)f;
    }
    if (p->end_s > 0) {
        double f = ceil(p->end_s * fps - 1e-9);
        if (f < (double)end)
            end = (int64_t)f;
    }
    if (end <= first)
        return apollo__fail(APOLLO_E_INVALID_ARG,
                            "video window [%g, %g) s holds no frame of the %lld-frame, %g s video",
                            p->start_s, p->end_s, (long long)p->total_frames,
                            (double)p->total_frames / fps);
    n = end - first;

    clip_duration = p->clip_duration;
    target = (double)fpc / clip_duration;
    if (p->target_fps > 0) {
        target = p->target_fps;
        clip_duration = (double)fpc / target;
        overridden = 1;
    }
    duration = (double)n / fps;
    rc = sample_core(n, fps, clip_duration, target, fpc, budget_ratio(p, duration, clip_duration),
                     p->max_clips, plan);
    if (rc)
        return rc;

    if (plan->degenerate) {
        /* The reference would index frame -1 (numpy clip with max < min):
         * show one frame per clip instead, spread over the window. */
        int64_t nc = plan->n_clips;
        for (int64_t i = 0; i < nc; i++) {
            int64_t f = nc > 1 ? (int64_t)llround((double)i * (double)(n - 1) / (double)(nc - 1)) : 0;
            f = np_clip(f, 0, n - 1);
            for (int32_t k = 0; k < fpc; k++)
                plan->indices[i * fpc + k] = f;
            plan->t0[i] = plan->t1[i] = (double)f / fps;
        }
        plan->repaired = 1;
    }
    /* Offsets back to absolute frame numbers; timestamps absolute too. */
    if (first > 0) {
        for (int64_t i = 0; i < plan->n_clips; i++) {
            for (int32_t k = 0; k < fpc; k++)
                plan->indices[i * fpc + k] += first;
            plan->t0[i] = (double)plan->indices[i * fpc] / fps;
            plan->t1[i] = (double)plan->indices[i * fpc + fpc - 1] / fps;
        }
    }
    for (int64_t i = 0; i < (int64_t)plan->n_clips * fpc; i++) {
        if (plan->indices[i] < 0 || plan->indices[i] >= p->total_frames) {
            int64_t bad = plan->indices[i];
            apollo__sample_plan_free(plan);
            return apollo__fail(APOLLO_E_INVALID_ARG,
                                "video sampling: internal error, frame %lld outside [0, %lld)",
                                (long long)bad, (long long)p->total_frames);
        }
    }
    plan->first_frame = first;
    plan->window_frames = n;
    plan->duration = duration;
    set_text(plan, p, clip_duration, overridden);
    return APOLLO_OK;
}

/* ---- text ------------------------------------------------------------------------------- */

/* Appends to a bounded buffer, counting the full length. */
typedef struct sbuf {
    char *buf;
    size_t cap;
    int64_t len;
} sbuf;

static void sb_put(sbuf *s, const char *t, size_t n)
{
    if (s->buf && s->cap > 0 && (size_t)s->len < s->cap - 1) {
        size_t room = s->cap - 1 - (size_t)s->len;
        memcpy(s->buf + s->len, t, n < room ? n : room);
    }
    s->len += (int64_t)n;
    if (s->buf && s->cap > 0)
        s->buf[(size_t)s->len < s->cap ? (size_t)s->len : s->cap - 1] = '\0';
}

static void sb_puts(sbuf *s, const char *t)
{
    sb_put(s, t, strlen(t));
}

static void sb_init(sbuf *s, char *buf, size_t cap)
{
    s->buf = buf;
    s->cap = cap;
    s->len = 0;
    if (buf && cap)
        buf[0] = '\0';
}

static const char *const k_units[20] = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen"};
static const char *const k_tens[10] = {"", "", "twenty", "thirty", "forty",
                                       "fifty", "sixty", "seventy", "eighty", "ninety"};

static void words_below_1000(sbuf *s, int64_t n)
{
    if (n >= 100) {
        sb_puts(s, k_units[n / 100]);
        sb_puts(s, " hundred");
        n %= 100;
        if (!n)
            return;
        sb_puts(s, " and ");
    }
    if (n < 20) {
        sb_puts(s, k_units[n]);
    } else {
        sb_puts(s, k_tens[n / 10]);
        if (n % 10) {
            sb_puts(s, "-");
            sb_puts(s, k_units[n % 10]);
        }
    }
}

/* num2words (lang en): groups of thousands; a remainder below 100 joins
 * with " and ", otherwise with ", ". */
static void words(sbuf *s, int64_t n)
{
    static const char *const scale[] = {"", " thousand", " million", " billion", " trillion",
                                        " quadrillion", " quintillion"};
    int64_t div = 1;
    int g = 0;
    if (n < 1000) {
        words_below_1000(s, n);
        return;
    }
    while (n / div >= 1000) {
        div *= 1000;
        g++;
    }
    words_below_1000(s, n / div);
    sb_puts(s, scale[g]);
    n %= div;
    if (!n)
        return;
    sb_puts(s, n < 100 ? " and " : ", ");
    words(s, n);
}

int64_t apollo__num2words(int64_t n, char *buf, size_t cap)
{
    sbuf s;
    sb_init(&s, buf, cap);
    if (n < 0) {
        sb_puts(&s, "minus ");
        n = n == INT64_MIN ? INT64_MAX : -n;
    }
    words(&s, n);
    return s.len;
}

int64_t apollo__py_timedelta_str(double seconds, char *buf, size_t cap)
{
    /* CPython timedelta(seconds=x): integral part exact, fractional part
     * times 1e6 in double, its fraction rounded half to even on the total
     * microsecond count. */
    double ip, fp, us_ip, us_fp, whole;
    int64_t total_us, days, secs, us;
    char tmp[96];
    int n;

    if (!isfinite(seconds) || fabs(seconds) > 86400.0 * 999999999.0)
        return apollo__fail(APOLLO_E_INVALID_ARG, "timedelta: %g s out of range", seconds);
    fp = modf(seconds, &ip);
    us_fp = modf(fp * 1e6, &us_ip);
    total_us = (int64_t)ip * 1000000 + (int64_t)us_ip;
    whole = round(us_fp);
    if (fabs(whole - us_fp) == 0.5) {
        /* tie: round to even on the full count */
        int64_t lo = (int64_t)floor(us_fp), cand = total_us + lo;
        whole = (cand % 2 == 0) ? (double)lo : (double)lo + 1;
    }
    total_us += (int64_t)whole;
    /* normalise like timedelta: days may be negative, 0 <= secs < 86400 */
    days = floordiv(total_us, 86400LL * 1000000);
    total_us -= days * 86400LL * 1000000;
    secs = total_us / 1000000;
    us = total_us % 1000000;
    if (days)
        n = snprintf(tmp, sizeof tmp, "%lld day%s, %lld:%02lld:%02lld", (long long)days,
                     (days == 1 || days == -1) ? "" : "s", (long long)(secs / 3600),
                     (long long)(secs / 60 % 60), (long long)(secs % 60));
    else
        n = snprintf(tmp, sizeof tmp, "%lld:%02lld:%02lld", (long long)(secs / 3600),
                     (long long)(secs / 60 % 60), (long long)(secs % 60));
    if (us)
        n += snprintf(tmp + n, sizeof tmp - (size_t)n, ".%06lld", (long long)us);
    if (buf && cap)
        snprintf(buf, cap, "%s", tmp);
    return n;
}

int64_t apollo__py_round1_str(double x, char *buf, size_t cap)
{
    /* numpy round(x, 1): rint(x * 10) / 10, printed as the shortest repr */
    char tmp[64];
    double r = rint(x * 10.0) / 10.0;
    apollo__py_float_repr(r, tmp, sizeof tmp);
    if (buf && cap)
        snprintf(buf, cap, "%s", tmp);
    return (int64_t)strlen(tmp);
}

static void header(sbuf *s, const apollo__sample_plan *plan)
{
    char tmp[128];
    sb_puts(s, "You are provided the following series of ");
    words(s, plan->n_clips);
    sb_puts(s, ", ");
    sb_puts(s, plan->clip_duration_text);
    sb_puts(s, " second clips from a ");
    apollo__py_timedelta_str(plan->duration, tmp, sizeof tmp);
    sb_puts(s, tmp);
    sb_puts(s, " [H:MM:SS] video.\n");
}

static void clip_prefix(sbuf *s, const apollo__sample_plan *plan, int32_t i)
{
    char tmp[64];
    apollo__py_round1_str(plan->t0[i], tmp, sizeof tmp);
    sb_puts(s, tmp);
    sb_puts(s, "-");
    apollo__py_round1_str(plan->t1[i], tmp, sizeof tmp);
    sb_puts(s, tmp);
    sb_puts(s, " seconds: ");
}

int64_t apollo__sample_header_text(const apollo__sample_plan *plan, char *buf, size_t cap)
{
    sbuf s;
    if (!plan || plan->n_clips < 1)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video text: empty plan");
    sb_init(&s, buf, cap);
    header(&s, plan);
    return s.len;
}

int64_t apollo__sample_clip_prefix(const apollo__sample_plan *plan, int32_t i, char *buf, size_t cap)
{
    sbuf s;
    if (!plan || i < 0 || i >= plan->n_clips)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video text: clip %d out of range", i);
    sb_init(&s, buf, cap);
    clip_prefix(&s, plan, i);
    return s.len;
}

int64_t apollo__sample_prompt_text(const apollo__sample_plan *plan, const char *placeholder,
                                   char *buf, size_t cap)
{
    sbuf s;
    size_t ph_len = placeholder ? strlen(placeholder) : 0;
    if (!plan || plan->n_clips < 1)
        return apollo__fail(APOLLO_E_INVALID_ARG, "video text: empty plan");
    sb_init(&s, buf, cap);
    header(&s, plan);
    for (int32_t i = 0; i < plan->n_clips; i++) {
        if (i)
            sb_puts(&s, ",\n");
        clip_prefix(&s, plan, i);
        if (ph_len)
            for (int64_t k = 0; k < plan->tokens_per_clip; k++)
                sb_put(&s, placeholder, ph_len);
    }
    return s.len;
}
