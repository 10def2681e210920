/* Minimal libapollo program: load a model, optionally show it a video, ask
 * one question and stream the answer.
 * Usage: apollo-example-c MODEL_DIR [QUESTION] [VIDEO]
 * Build: cc ask.c $(pkg-config --cflags --libs apollo) */
#include <apollo.h>
#include <stdio.h>

static int32_t print_text(const char *text, size_t len, void *user_data)
{
    (void)user_data;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0; /* non-zero would stop the answer here */
}

int main(int argc, char **argv)
{
    apollo_ctx *ctx = NULL;
    apollo_session *s = NULL;
    apollo_video *video = NULL;
    apollo_generate_params gp;
    int rc;

    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL_DIR [QUESTION] [VIDEO]\n", argv[0]);
        return 2;
    }
    if ((rc = apollo_ctx_open(argv[1], NULL, &ctx)) != APOLLO_OK) {
        fprintf(stderr, "open: %s (%s)\n", apollo_strerror(rc), apollo_last_errmsg());
        return 1;
    }
    rc = apollo_session_new(ctx, NULL, &s);
    if (rc == APOLLO_OK && argc > 3) { /* the next question is about this video */
        rc = apollo_video_open_file(ctx, argv[3], NULL, &video);
        if (rc == APOLLO_OK)
            rc = apollo_session_add_video(s, video, NULL); /* encodes it */
        apollo_video_free(video);                          /* the session no longer needs it */
    }
    apollo_ctx_free(ctx); /* sessions keep the model alive */
    if (rc != APOLLO_OK) {
        fprintf(stderr, "%s (%s)\n", apollo_strerror(rc), apollo_last_errmsg());
        apollo_session_free(s);
        return 1;
    }

    apollo_generate_params_init(&gp);
    gp.max_new_tokens = 32;
    gp.on_text = print_text;
    rc = apollo_session_ask(s, argc > 2 ? argv[2] : "What is the capital of France?", &gp, NULL);
    printf("\n");
    if (rc != APOLLO_OK)
        fprintf(stderr, "ask: %s (%s)\n", apollo_strerror(rc), apollo_session_errmsg(s));
    apollo_session_free(s);
    return rc == APOLLO_OK ? 0 : 1;
}
