/* Video input benchmark: open (packet index) + decode + preprocess for
 * both encoders, clip by clip, on synthetic H.264 videos of increasing
 * length; reports time, sampled frames/s, x real time and peak RSS (each
 * video runs in its own child process, so VmHWM is per video).
 *
 *   bench_video [--res 1920x1080] [--minutes 1,10,60] [--threads 2]
 *               [--dir /tmp] [--preset veryfast] [--full] [--no-preprocess]
 *               [--floor]
 *
 * Videos are generated with the ffmpeg CLI on first use (a 1-minute
 * testsrc2 clip encoded by x264 with --preset: veryfast has B-frames like
 * typical camera and web files, ultrafast has none; longer videos loop it
 * with stream copy) and kept in --dir.  --full samples 2 fps over the whole
 * video (no clip budget).  --floor also times the ffmpeg CLI decoding every
 * frame of the same file with the same thread count (`-f null`, no pixel
 * conversion): the speed of libavcodec itself on this machine, for the
 * ratio. */
#include "common/status.h"
#include "common/threadpool.h"
#include "video/video.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static long vm_kb(const char *key)
{
    char line[256];
    long v = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key)))
            v = atol(line + strlen(key));
    fclose(f);
    return v;
}

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && sb.st_size > 0;
}

static void video_path(char *out, size_t n, const char *dir, int w, int h, const char *preset,
                       int minutes)
{
    snprintf(out, n, "%s/apollo_bench_%dx%d_%s_%dmin.mp4", dir, w, h, preset, minutes);
}

static int make_videos(const char *dir, int w, int h, const char *preset, const int *minutes, int n)
{
    char one[512], cmd[2048];
    video_path(one, sizeof one, dir, w, h, preset, 1);
    if (!exists(one)) {
        double t = now_s();
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -hide_banner -loglevel error -y -nostdin -f lavfi -i "
                 "testsrc2=size=%dx%d:rate=30000/1001 -t 60 -c:v libx264 -preset %s "
                 "-crf 28 -pix_fmt yuv420p '%s'",
                 w, h, preset, one);
        fprintf(stderr, "generating %s ...\n", one);
        if (system(cmd) != 0)
            return -1;
        fprintf(stderr, "  %.1f s\n", now_s() - t);
    }
    for (int i = 0; i < n; i++) {
        char out[512];
        if (minutes[i] == 1)
            continue;
        video_path(out, sizeof out, dir, w, h, preset, minutes[i]);
        if (exists(out))
            continue;
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -hide_banner -loglevel error -y -nostdin -stream_loop %d -i '%s' -c copy "
                 "'%s'",
                 minutes[i] - 1, one, out);
        fprintf(stderr, "generating %s ...\n", out);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

static int run_one(const char *path, int minutes, int threads, int full, int preprocess)
{
    apollo__vsrc_opts opts = {threads, 4, 2.0};
    apollo__vsrc *src = NULL;
    apollo__sample_params sp;
    apollo__sample_plan plan;
    apollo__clip_iter *it = NULL;
    apollo__pool *pool = NULL;
    apollo__clip clip;
    apollo__vsrc_stats st;
    const apollo__video_meta *m;
    apollo__video_tower_pp towers[2] = {
        {APOLLO__VPP_SIGLIP, 384, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}},
        {APOLLO__VPP_INTERNVIDEO2, 224, {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}}};
    double t0 = now_s(), t_open, t_end;
    long rss_open;
    int rc, n = 0;

    if ((rc = apollo__vsrc_open_file(path, &opts, &src))) {
        fprintf(stderr, "%s: %s\n", path, apollo__errmsg());
        return 1;
    }
    t_open = now_s() - t0;
    rss_open = vm_kb("VmHWM:");
    m = apollo__vsrc_meta(src);
    memset(&sp, 0, sizeof sp);
    sp.total_frames = m->total_frames;
    sp.fps = m->fps;
    sp.clip_duration = 2;
    sp.frames_per_clip = 4;
    sp.model_max_length = full ? 1000000000 : 16384;
    sp.tokens_per_clip = 128;
    if ((rc = apollo__sample_plan_make(&sp, &plan)))
        return 1;
    if (threads > 1)
        apollo__pool_create(threads, &pool);
    if ((rc = apollo__clip_iter_new(src, &plan, towers, preprocess ? 2 : 0, pool, &it))) {
        fprintf(stderr, "%s\n", apollo__errmsg());
        return 1;
    }
    while ((rc = apollo__clip_iter_next(it, &clip)) == 1)
        n++;
    t_end = now_s() - t0;
    if (rc) {
        fprintf(stderr, "%s\n", apollo__errmsg());
        return 1;
    }
    apollo__vsrc_get_stats(src, &st);
    printf("%3d min %dx%d %-6s %6lld frames %6.2f fps | %4d clips %5d frames | open %6.2f s | total "
           "%7.2f s (cpu %7.2f s) | %7.1f sampled frames/s | %6.1fx real time | %5lld seeks %7lld decoded | peak RSS "
           "%6.1f MB (after open %5.1f MB)\n",
           minutes, m->width, m->height, m->codec, (long long)m->total_frames, m->fps, plan.n_clips,
           plan.n_clips * 4, t_open, t_end, cpu_s(), plan.n_clips * 4 / t_end, m->duration / t_end,
           (long long)st.n_seeks, (long long)st.n_frames_decoded, vm_kb("VmHWM:") / 1024.0,
           rss_open / 1024.0);
    fflush(stdout);
    apollo__clip_iter_free(it);
    apollo__pool_free(pool);
    apollo__sample_plan_free(&plan);
    apollo__vsrc_free(src);
    return 0;
}

/* The ffmpeg CLI decoding every frame of path: wall and CPU seconds. */
static int ffmpeg_floor(const char *path, int threads, double *wall, double *cpu)
{
    char cmd[1024];
    struct rusage a, b;
    double t0 = now_s();
    int rc;
    snprintf(cmd, sizeof cmd, "ffmpeg -hide_banner -loglevel error -nostdin -threads %d -i '%s' -f null -",
             threads, path);
    getrusage(RUSAGE_CHILDREN, &a);
    rc = system(cmd);
    getrusage(RUSAGE_CHILDREN, &b);
    *wall = now_s() - t0;
    *cpu = (double)(b.ru_utime.tv_sec - a.ru_utime.tv_sec) + (b.ru_utime.tv_usec - a.ru_utime.tv_usec) * 1e-6 +
           (double)(b.ru_stime.tv_sec - a.ru_stime.tv_sec) + (b.ru_stime.tv_usec - a.ru_stime.tv_usec) * 1e-6;
    return rc;
}

int main(int argc, char **argv)
{
    int w = 1920, h = 1080, threads = 2, full = 0, preprocess = 1, floor = 0;
    const char *preset = "veryfast";
    int minutes[8] = {1, 10, 60}, n_min = 3;
    const char *dir = "/tmp";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--res") && i + 1 < argc)
            sscanf(argv[++i], "%dx%d", &w, &h);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--full"))
            full = 1;
        else if (!strcmp(argv[i], "--no-preprocess"))
            preprocess = 0;
        else if (!strcmp(argv[i], "--floor"))
            floor = 1;
        else if (!strcmp(argv[i], "--preset") && i + 1 < argc)
            preset = argv[++i];
        else if (!strcmp(argv[i], "--minutes") && i + 1 < argc) {
            char *s = argv[++i];
            n_min = 0;
            while (*s && n_min < 8) {
                minutes[n_min++] = atoi(s);
                while (*s && *s != ',')
                    s++;
                if (*s == ',')
                    s++;
            }
        } else {
            fprintf(stderr, "usage: %s [--res WxH] [--minutes 1,10,60] [--threads N] [--dir D] "
                            "[--preset P] [--full] [--no-preprocess] [--floor]\n", argv[0]);
            return 2;
        }
    }
    if (make_videos(dir, w, h, preset, minutes, n_min)) {
        fprintf(stderr, "cannot generate the videos (is the ffmpeg CLI installed?)\n");
        return 1;
    }
    printf("bench_video: %d threads, %s, %s\n", threads, full ? "2 fps over the whole video" : "reference clip budget (model_max_length 16384)",
           preprocess ? "decode + SigLIP/InternVideo2 preprocessing" : "decode only");
    for (int i = 0; i < n_min; i++) {
        char path[512];
        pid_t pid;
        int status;
        double t0 = now_s(), ours, fw, fc;
        video_path(path, sizeof path, dir, w, h, preset, minutes[i]);
        fflush(stdout);
        pid = fork();
        if (pid == 0)
            _exit(run_one(path, minutes[i], threads, full, preprocess));
        if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
            fprintf(stderr, "%s: failed\n", path);
        ours = now_s() - t0;
        if (floor && ffmpeg_floor(path, threads, &fw, &fc) == 0)
            printf("%3d min ffmpeg CLI decoding every frame (-threads %d, -f null): %7.2f s wall "
                   "(cpu %7.2f s) | libapollo (process incl. start) / ffmpeg = %.2f\n",
                   minutes[i], threads, fw, fc, ours / fw);
    }
    return 0;
}
