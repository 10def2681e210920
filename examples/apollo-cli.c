/* apollo-cli: command-line front end of libapollo (public API only).
 *
 *   apollo-cli info MODEL_DIR [--json]
 *   apollo-cli tokenize -m MODEL_DIR [--jsonl]        text on stdin -> ids
 *   apollo-cli probe -m MODEL_DIR -v VIDEO [--json] [--dump-frames DIR]
 *                                                     what the model will see
 *   apollo-cli -m MODEL_DIR [-v VIDEO] [options] ["question"]
 *                                                     one-shot, or interactive
 *                                                     when no question is given
 */
#include <apollo.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage:\n"
            "  apollo-cli info MODEL_DIR [--json] [--threads N] [--backend cpu|onednn]\n"
            "  apollo-cli tokenize -m MODEL_DIR [--jsonl]\n"
            "  apollo-cli probe -m MODEL_DIR -v VIDEO [--json] [--dump-frames DIR] [--max-clips N]\n"
            "  apollo-cli -m MODEL_DIR [-v VIDEO] [options] [\"question\"]\n"
            "\n"
            "chat options:\n"
            "  -v, --video FILE      a video or image to ask about (a .apemb file saved with\n"
            "                        --save-embeddings is loaded instead of encoded)\n"
            "  --save-embeddings F   save the video's visual tokens to F after encoding\n"
            "  --max-clips N         cap the number of clips\n"
            "  --system TEXT         system prompt\n"
            "  --temperature T       0 = greedy (default: the model's generation config)\n"
            "  --top-k K  --top-p P  --repeat-penalty R  --seed S  --max-tokens N\n"
            "  --threads N  --backend cpu|onednn\n"
            "Without a question, reads questions line by line (/reset, /quit).\n");
}

typedef struct opts {
    const char *model, *system, *question, *video, *save_embeddings, *dump_frames;
    int32_t max_clips;
    int json, jsonl;
    apollo_ctx_params ctx;
    apollo_generate_params gen;
} opts;

static int parse_backend(const char *b)
{
    return strcmp(b, "onednn") == 0 ? APOLLO_BACKEND_ONEDNN
           : strcmp(b, "cpu") == 0  ? APOLLO_BACKEND_CPU
                                    : -1;
}

/* Returns 0 on success, 2 on a usage error. */
static int parse(int argc, char **argv, opts *o, const char **positional)
{
    apollo_ctx_params_init(&o->ctx);
    apollo_generate_params_init(&o->gen);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKE() (i++, v) /* only used after checking v */
        if (strcmp(a, "--json") == 0)
            o->json = 1;
        else if (strcmp(a, "--jsonl") == 0)
            o->jsonl = 1;
        else if ((strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) && v)
            o->model = TAKE();
        else if (strcmp(a, "--system") == 0 && v)
            o->system = TAKE();
        else if ((strcmp(a, "-v") == 0 || strcmp(a, "--video") == 0) && v)
            o->video = TAKE();
        else if (strcmp(a, "--dump-frames") == 0 && v)
            o->dump_frames = TAKE();
        else if (strcmp(a, "--save-embeddings") == 0 && v)
            o->save_embeddings = TAKE();
        else if (strcmp(a, "--max-clips") == 0 && v)
            o->max_clips = atoi(TAKE()); else if (strcmp(a, "--threads") == 0 && v) {
            o->ctx.n_threads = atoi(TAKE());
        } else if (strcmp(a, "--backend") == 0 && v) {
            if ((o->ctx.backend = parse_backend(TAKE())) < 0)
                return 2;
        } else if (strcmp(a, "--temperature") == 0 && v) {
            float t = (float)atof(TAKE());
            o->gen.do_sample = t > 0;
            if (t > 0)
                o->gen.temperature = t;
        } else if (strcmp(a, "--top-k") == 0 && v) {
            o->gen.top_k = atoi(TAKE());
        } else if (strcmp(a, "--top-p") == 0 && v) {
            o->gen.top_p = (float)atof(TAKE());
        } else if (strcmp(a, "--repeat-penalty") == 0 && v) {
            o->gen.repetition_penalty = (float)atof(TAKE());
        } else if (strcmp(a, "--seed") == 0 && v) {
            o->gen.seed = strtoull(TAKE(), NULL, 10);
        } else if (strcmp(a, "--max-tokens") == 0 && v) {
            o->gen.max_new_tokens = atoi(TAKE());
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "apollo-cli: unknown or incomplete option '%s'\n", a);
            return 2;
        } else if (!*positional) {
            *positional = a;
        } else {
            fprintf(stderr, "apollo-cli: unexpected argument '%s'\n", a);
            return 2;
        }
#undef TAKE
    }
    return 0;
}

static apollo_ctx *open_ctx(const opts *o)
{
    apollo_ctx *ctx = NULL;
    int rc = apollo_ctx_open(o->model, &o->ctx, &ctx);
    if (rc != APOLLO_OK)
        fprintf(stderr, "apollo-cli: %s: %s\n", apollo_strerror(rc), apollo_last_errmsg());
    return ctx;
}

/* ---- info ------------------------------------------------------------------------ */

static const char *tower_kind(int32_t k)
{
    return k == APOLLO_TOWER_SIGLIP ? "SigLIP" : k == APOLLO_TOWER_INTERNVIDEO2 ? "InternVideo2"
                                                                                : "?";
}

static void print_text(const char *dir, const apollo_model_info *mi, int backend)
{
    int64_t total = mi->n_params_llm + mi->n_params_connector;
    printf("model:            %s\n", dir);
    printf("backend:          %s\n", backend == APOLLO_BACKEND_ONEDNN ? "onednn" : "cpu");
    printf("LLM:              Qwen2, %d layers, hidden %d, MLP %d, heads %d (KV %d, dim %d), "
           "vocab %d, %s head\n",
           mi->llm_n_layers, mi->llm_hidden_size, mi->llm_intermediate_size, mi->llm_n_heads,
           mi->llm_n_kv_heads, mi->llm_head_dim, mi->llm_vocab_size,
           mi->llm_tied_embeddings ? "tied" : "separate");
    printf("context length:   %d tokens (rope theta %g)\n", mi->context_length, mi->llm_rope_theta);
    printf("vision towers:    %d (select layer %d)\n", mi->n_vision_towers,
           mi->vision_select_layer);
    for (int32_t i = 0; i < mi->n_vision_towers; i++) {
        printf("  %d. %-28s %-12s width %d, %d layers run, %lld params\n", i + 1,
               mi->tower_name[i], tower_kind(mi->tower_kind[i]), mi->tower_hidden_size[i],
               mi->tower_n_layers_run[i], (long long)mi->n_params_vision[i]);
        total += mi->n_params_vision[i];
    }
    printf("clips:            %d frames per %g s clip -> %d tokens; budget model_max_length %d\n",
           mi->frames_per_clip, mi->clip_duration_s, mi->tokens_per_clip, mi->model_max_length);
    printf("parameters:       LLM %lld, connector %lld, total %lld\n",
           (long long)mi->n_params_llm, (long long)mi->n_params_connector, (long long)total);
}

static void print_json(const apollo_model_info *mi, int backend)
{
    printf("{\n  \"backend\": \"%s\",\n", backend == APOLLO_BACKEND_ONEDNN ? "onednn" : "cpu");
    printf("  \"llm\": {\"hidden_size\": %d, \"intermediate_size\": %d, \"n_layers\": %d, "
           "\"n_heads\": %d, \"n_kv_heads\": %d, \"head_dim\": %d, \"vocab_size\": %d, "
           "\"tied_embeddings\": %s, \"n_params\": %lld},\n",
           mi->llm_hidden_size, mi->llm_intermediate_size, mi->llm_n_layers, mi->llm_n_heads,
           mi->llm_n_kv_heads, mi->llm_head_dim, mi->llm_vocab_size,
           mi->llm_tied_embeddings ? "true" : "false", (long long)mi->n_params_llm);
    printf("  \"vision_towers\": [");
    for (int32_t i = 0; i < mi->n_vision_towers; i++)
        printf("%s\n    {\"name\": \"%s\", \"kind\": \"%s\", \"hidden_size\": %d, "
               "\"n_layers_run\": %d, \"n_params\": %lld}",
               i ? "," : "", mi->tower_name[i], tower_kind(mi->tower_kind[i]),
               mi->tower_hidden_size[i], mi->tower_n_layers_run[i],
               (long long)mi->n_params_vision[i]);
    printf("\n  ],\n");
    printf("  \"connector\": {\"tokens_per_clip\": %d, \"n_params\": %lld},\n",
           mi->tokens_per_clip, (long long)mi->n_params_connector);
    printf("  \"context_length\": %d, \"model_max_length\": %d, \"frames_per_clip\": %d, "
           "\"clip_duration_s\": %g, \"vision_select_layer\": %d\n}\n",
           mi->context_length, mi->model_max_length, mi->frames_per_clip, mi->clip_duration_s,
           mi->vision_select_layer);
}

static int cmd_info(opts *o)
{
    apollo_model_info mi;
    apollo_ctx *ctx = open_ctx(o);
    int rc;
    if (!ctx)
        return 1;
    apollo_model_info_init(&mi);
    rc = apollo_ctx_get_model_info(ctx, &mi);
    if (rc == APOLLO_OK) {
        if (o->json)
            print_json(&mi, apollo_ctx_get_backend(ctx));
        else
            print_text(o->model, &mi, apollo_ctx_get_backend(ctx));
    } else {
        fprintf(stderr, "apollo-cli: %s: %s\n", apollo_strerror(rc), apollo_last_errmsg());
    }
    apollo_ctx_free(ctx);
    return rc == APOLLO_OK ? 0 : 1;
}

/* ---- tokenize -------------------------------------------------------------------- */

static int print_ids(apollo_ctx *ctx, const char *text, size_t len, int as_json)
{
    size_t n = 0;
    int32_t *ids;
    int rc = apollo_tokenize(ctx, text, len, NULL, 0, &n);
    if (rc)
        return rc;
    ids = malloc((n + 1) * sizeof *ids);
    if (!ids)
        return APOLLO_E_NOMEM;
    rc = apollo_tokenize(ctx, text, len, ids, n, &n);
    if (!rc) {
        fputs(as_json ? "[" : "", stdout);
        for (size_t i = 0; i < n; i++)
            printf(as_json ? "%s%d" : "%s%d", i ? (as_json ? ", " : " ") : "", ids[i]);
        fputs(as_json ? "]\n" : "\n", stdout);
    }
    free(ids);
    return rc;
}

static int cmd_tokenize(opts *o)
{
    apollo_ctx *ctx;
    char *buf = NULL;
    size_t cap = 0, len = 0;
    int rc = APOLLO_OK;
    if (!o->model) {
        usage(stderr);
        return 2;
    }
    if (!(ctx = open_ctx(o)))
        return 1;
    if (o->jsonl) {
        ssize_t got;
        size_t lineno = 0;
        while (rc == APOLLO_OK && (got = getline(&buf, &cap, stdin)) > 0) {
            json_error_t err;
            json_t *s;
            lineno++;
            s = json_loads(buf, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
            if (!json_is_string(s)) {
                fprintf(stderr, "apollo-cli: line %zu: expected a JSON string\n", lineno);
                json_decref(s);
                rc = APOLLO_E_INVALID_ARG;
                break;
            }
            rc = print_ids(ctx, json_string_value(s), json_string_length(s), 1);
            json_decref(s);
        }
    } else {
        char chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
            char *grown = realloc(buf, len + got + 1);
            if (!grown) {
                rc = APOLLO_E_NOMEM;
                break;
            }
            buf = grown;
            memcpy(buf + len, chunk, got);
            len += got;
        }
        if (!rc)
            rc = print_ids(ctx, buf ? buf : "", len, 0);
    }
    if (rc)
        fprintf(stderr, "apollo-cli: %s: %s\n", apollo_strerror(rc), apollo_last_errmsg());
    free(buf);
    apollo_ctx_free(ctx);
    return rc ? 1 : 0;
}

/* ---- probe ------------------------------------------------------------------------- */

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static int write_chunk(FILE *f, const char *type, const unsigned char *data, uint32_t len)
{
    unsigned char b[4];
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (len)
        crc = crc32(crc, data, len);
    put_be32(b, len);
    if (fwrite(b, 1, 4, f) != 4 || fwrite(type, 1, 4, f) != 4 ||
        (len && fwrite(data, 1, len, f) != len))
        return -1;
    put_be32(b, (uint32_t)crc);
    return fwrite(b, 1, 4, f) == 4 ? 0 : -1;
}

/* A minimal RGB24 PNG writer (zlib-compressed, filter 0 on every row). */
static int write_png(const char *path, const uint8_t *rgb, int32_t w, int32_t h)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13];
    size_t row = (size_t)w * 3, raw_len = (row + 1) * (size_t)h;
    unsigned char *raw = malloc(raw_len), *z = NULL;
    uLongf zlen = compressBound((uLong)raw_len);
    FILE *f = NULL;
    int rc = -1;
    if (!raw || !(z = malloc(zlen)))
        goto done;
    for (int32_t y = 0; y < h; y++) {
        raw[(size_t)y * (row + 1)] = 0;
        memcpy(raw + (size_t)y * (row + 1) + 1, rgb + (size_t)y * row, row);
    }
    if (compress2(z, &zlen, raw, (uLong)raw_len, 6) != Z_OK || !(f = fopen(path, "wb")))
        goto done;
    put_be32(ihdr, (uint32_t)w);
    put_be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* colour type: RGB */
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    if (fwrite(sig, 1, 8, f) == 8 && !write_chunk(f, "IHDR", ihdr, 13) &&
        !write_chunk(f, "IDAT", z, (uint32_t)zlen) && !write_chunk(f, "IEND", NULL, 0))
        rc = 0;
done:
    if (f && fclose(f) != 0)
        rc = -1;
    free(raw);
    free(z);
    return rc;
}

static int cmd_probe(opts *o)
{
    apollo_video_params vp;
    apollo_video_info info;
    apollo_video *v = NULL;
    apollo_ctx *ctx;
    json_t *root = NULL, *clips = NULL;
    int64_t tl;
    char *text = NULL;
    uint8_t *rgb = NULL;
    int rc;

    if (!o->model || !o->video) {
        usage(stderr);
        return 2;
    }
    if (!(ctx = open_ctx(o)))
        return 1;
    apollo_video_params_init(&vp);
    vp.max_clips = o->max_clips;
    rc = apollo_video_open_file(ctx, o->video, &vp, &v);
    apollo_ctx_free(ctx);
    if (rc) {
        fprintf(stderr, "apollo-cli: %s: %s\n", apollo_strerror(rc), apollo_last_errmsg());
        return 1;
    }
    apollo_video_info_init(&info);
    apollo_video_get_info(v, &info);
    tl = apollo_video_get_prompt_text(v, 0, NULL, 0);
    text = malloc((size_t)(tl > 0 ? tl : 0) + 1);
    apollo_video_get_prompt_text(v, 0, text, (size_t)tl + 1);
    if (o->dump_frames)
        mkdir(o->dump_frames, 0755);
    if (o->json) {
        root = json_pack("{s:s, s:s, s:I, s:f, s:f, s:i, s:i, s:i, s:i, s:i, s:f, s:s, s:s, s:s}",
                         "file", o->video, "prompt_text", text, "total_frames",
                         (json_int_t)info.total_frames, "fps", info.fps, "duration_s",
                         info.duration_s, "width", info.width, "height", info.height, "rotation",
                         info.rotation, "is_image", info.is_image, "n_clips", info.n_clips,
                         "budget_ratio", info.budget_ratio, "codec", info.codec, "pix_fmt",
                         info.pix_fmt, "container", info.container);
        clips = json_array();
    } else {
        printf("file:        %s\n", o->video);
        printf("video:       %lld frames at %.6g fps = %.6g s, %dx%d (%s, %s, %s)%s\n",
               (long long)info.total_frames, info.fps, info.duration_s, info.width,
               info.height, info.codec, info.pix_fmt, info.container,
               info.is_image ? ", still image" : "");
        printf("clips:       %d of %d frames, %g s each, %d tokens each (budget ratio %.4g)%s\n",
               info.n_clips, info.frames_per_clip, info.clip_duration_s, info.tokens_per_clip,
               info.budget_ratio, info.sampling_repaired ? " [low-fps sampling repaired]" : "");
        printf("prompt text:\n%s\n\n", text);
    }
    for (int32_t c = 0; c < info.n_clips && rc == APOLLO_OK; c++) {
        int64_t idx[64];
        double t0 = 0, t1 = 0;
        int32_t nf = apollo_video_get_clip_frames(v, c, idx, 64);
        apollo_video_get_clip_time(v, c, &t0, &t1);
        if (o->json) {
            json_t *fr = json_array();
            for (int32_t k = 0; k < nf && k < 64; k++)
                json_array_append_new(fr, json_integer(idx[k]));
            json_array_append_new(clips, json_pack("{s:i, s:o, s:f, s:f}", "index", c, "frames",
                                                   fr, "t0", t0, "t1", t1));
        } else {
            printf("clip %3d:  %8.3f - %8.3f s  frames", c, t0, t1);
            for (int32_t k = 0; k < nf && k < 64; k++)
                printf(" %lld", (long long)idx[k]);
            printf("\n");
        }
        for (int32_t k = 0; o->dump_frames && k < nf && k < 64; k++) {
            int32_t w = 0, h = 0;
            int64_t need = apollo_video_get_frame(v, idx[k], NULL, 0, &w, &h);
            char path[4096];
            if (need < 0 || !(rgb = realloc(rgb, (size_t)need))) {
                rc = need < 0 ? (int)need : APOLLO_E_NOMEM;
                break;
            }
            need = apollo_video_get_frame(v, idx[k], rgb, (size_t)need, &w, &h);
            if (need < 0) {
                rc = (int)need;
                break;
            }
            snprintf(path, sizeof path, "%s/clip%03d_frame%d_%06lld.png", o->dump_frames, c, k,
                     (long long)idx[k]);
            if (write_png(path, rgb, w, h) != 0) {
                fprintf(stderr, "apollo-cli: cannot write %s\n", path);
                rc = APOLLO_E_IO;
                break;
            }
        }
    }
    if (rc)
        fprintf(stderr, "apollo-cli: %s: %s\n", apollo_strerror(rc), apollo_last_errmsg());
    if (o->json && !rc) {
        char *out;
        json_object_set_new(root, "clips", clips);
        clips = NULL;
        out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(out);
        free(out);
    }
    json_decref(clips);
    json_decref(root);
    free(rgb);
    free(text);
    apollo_video_free(v);
    return rc ? 1 : 0;
}

/* ---- chat ------------------------------------------------------------------------- */

static apollo_session *volatile g_session;

static void on_sigint(int sig)
{
    (void)sig;
    if (g_session)
        apollo_session_cancel(g_session); /* async-signal-safe: an atomic store */
}

static int32_t print_piece(const char *text, size_t len, void *ud)
{
    (void)ud;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

static int ask(apollo_session *s, const char *q, opts *o)
{
    int rc;
    o->gen.on_text = print_piece;
    rc = apollo_session_ask(s, q, &o->gen, NULL);
    fputc('\n', stdout);
    if (rc == APOLLO_E_CANCELLED)
        fprintf(stderr, "[cancelled]\n");
    else if (rc)
        fprintf(stderr, "apollo-cli: %s: %s\n", apollo_strerror(rc), apollo_session_errmsg(s));
    return rc;
}

/* Encoding progress: a bar on a terminal, plain lines otherwise. */
static void on_progress(int32_t i, int32_t n, void *ud)
{
    (void)ud;
    if (isatty(STDERR_FILENO)) {
        int width = 30, done = (int)((int64_t)(i + 1) * width / n);
        fprintf(stderr, "\rencoding [%.*s%*s] clip %d/%d", done,
                "##############################", width - done, "", i + 1, n);
        if (i + 1 == n)
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "encoded clip %d/%d\n", i + 1, n);
    }
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Opens (or loads) the video and shows it to the session. */
static int add_video(apollo_ctx *ctx, apollo_session *s, const opts *o)
{
    apollo_video_params vp;
    apollo_encode_params ep;
    apollo_video *v = NULL;
    int rc;
    apollo_video_params_init(&vp);
    vp.max_clips = o->max_clips;
    if (ends_with(o->video, ".apemb"))
        rc = apollo_video_load(ctx, o->video, &vp, &v);
    else
        rc = apollo_video_open_file(ctx, o->video, &vp, &v);
    if (rc) {
        fprintf(stderr, "apollo-cli: %s: %s\n", apollo_strerror(rc), apollo_last_errmsg());
        return rc;
    }
    apollo_encode_params_init(&ep);
    ep.progress_fn = on_progress;
    rc = apollo_session_add_video(s, v, &ep);
    if (rc)
        fprintf(stderr, "apollo-cli: %s: %s\n", apollo_strerror(rc), apollo_session_errmsg(s));
    if (!rc && o->save_embeddings) {
        rc = apollo_video_save(v, o->save_embeddings);
        if (rc)
            fprintf(stderr, "apollo-cli: %s: %s\n", apollo_strerror(rc), apollo_last_errmsg());
        else
            fprintf(stderr, "saved the visual tokens to %s\n", o->save_embeddings);
    }
    apollo_video_free(v); /* the session keeps what it needs */
    return rc;
}

static int cmd_chat(opts *o)
{
    apollo_session_params sp;
    apollo_session *s = NULL;
    apollo_ctx *ctx;
    int rc;

    if (!(ctx = open_ctx(o)))
        return 1;
    apollo_session_params_init(&sp);
    sp.system_prompt = o->system;
    rc = apollo_session_new(ctx, &sp, &s);
    if (rc) {
        fprintf(stderr, "apollo-cli: %s: %s\n", apollo_strerror(rc), apollo_last_errmsg());
        apollo_ctx_free(ctx);
        return 1;
    }
    g_session = s;
    signal(SIGINT, on_sigint);
    if (o->video && (rc = add_video(ctx, s, o))) {
        apollo_session_free(s);
        apollo_ctx_free(ctx);
        return 1;
    }
    apollo_ctx_free(ctx);
    if (o->question) {
        rc = ask(s, o->question, o);
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t got;
        int tty = isatty(STDIN_FILENO);
        rc = APOLLO_OK;
        for (;;) {
            if (tty) {
                fputs("> ", stdout);
                fflush(stdout);
            }
            if ((got = getline(&line, &cap, stdin)) <= 0)
                break;
            while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
                line[--got] = '\0';
            if (got == 0)
                continue;
            if (strcmp(line, "/quit") == 0)
                break;
            if (strcmp(line, "/reset") == 0) {
                apollo_session_reset(s);
                continue;
            }
            rc = ask(s, line, o);
            if (rc && rc != APOLLO_E_CANCELLED)
                break;
        }
        free(line);
        if (rc == APOLLO_E_CANCELLED)
            rc = APOLLO_OK;
    }
    g_session = NULL;
    apollo_session_free(s);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    opts o;
    const char *pos = NULL;
    int rc;

    memset(&o, 0, sizeof o);
    if (apollo_version_number() != APOLLO_VERSION_NUMBER) {
        fprintf(stderr, "apollo-cli: header %s but library %s\n", APOLLO_VERSION_STRING,
                apollo_version_string());
        return 1;
    }
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("apollo-cli %s\n", apollo_version_string());
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "info") == 0) {
        if ((rc = parse(argc - 2, argv + 2, &o, &pos)) || !(o.model = o.model ? o.model : pos)) {
            usage(stderr);
            return 2;
        }
        return cmd_info(&o);
    }
    if (argc >= 2 && strcmp(argv[1], "tokenize") == 0) {
        if ((rc = parse(argc - 2, argv + 2, &o, &pos)) || pos) {
            usage(stderr);
            return 2;
        }
        return cmd_tokenize(&o);
    }
    if (argc >= 2 && strcmp(argv[1], "probe") == 0) {
        if ((rc = parse(argc - 2, argv + 2, &o, &pos)) || pos) {
            usage(stderr);
            return 2;
        }
        return cmd_probe(&o);
    }
    if ((rc = parse(argc - 1, argv + 1, &o, &pos)) || !o.model) {
        usage(stderr);
        return 2;
    }
    o.question = pos;
    return cmd_chat(&o);
}
