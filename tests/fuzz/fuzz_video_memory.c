/* Fuzz target: the video path from a memory buffer -- FFmpeg probing and
 * demuxing through the library's custom I/O, the clip planner, decoding,
 * preprocessing and (for inputs that open) encoding one clip with the tiny
 * model.  Inputs over 256 KiB are skipped.  Every input must give a
 * documented status; a corrupt frame must never stop encoding. */
#include "fuzz_common.h"

#include "apollo.h"

#include <libavutil/log.h>

static apollo_ctx *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[1024];
    apollo_ctx_params cp;
    (void)argc;
    (void)argv;
    av_log_set_level(AV_LOG_QUIET);
    snprintf(dir, sizeof dir, "%s/models/tiny-tied", APOLLO_TEST_FIXTURES);
    apollo_ctx_params_init(&cp);
    cp.n_threads = 1;
    if (apollo_ctx_open(dir, &cp, &ctx) != APOLLO_OK) {
        fprintf(stderr, "cannot open %s: %s\n", dir, apollo_last_errmsg());
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apollo_video_params vp;
    apollo_video *v = NULL;
    int rc;

    if (!ctx)
        LLVMFuzzerInitialize(NULL, NULL);
    if (size > 256 * 1024)
        return 0;
    apollo_video_params_init(&vp);
    vp.max_clips = 1;
    vp.n_threads = 1;
    vp.borrow = size & 1; /* both the copying and the borrowing path */
    rc = apollo_video_open_memory(ctx, size ? data : (const void *)"", size, &vp, &v);
    FUZZ_ASSERT(rc == APOLLO_OK || rc == APOLLO_E_VIDEO || rc == APOLLO_E_NO_VIDEO ||
                rc == APOLLO_E_INVALID_ARG || rc == APOLLO_E_NOMEM || rc == APOLLO_E_IO);
    FUZZ_ASSERT((rc == APOLLO_OK) == (v != NULL));
    if (v) {
        apollo_video_info info;
        apollo_video_info_init(&info);
        FUZZ_ASSERT(apollo_video_get_info(v, &info) == APOLLO_OK);
        FUZZ_ASSERT(info.n_clips == 1);
        FUZZ_ASSERT(info.width > 0 && info.height > 0);
        rc = apollo_video_encode(v, NULL);
        FUZZ_ASSERT(rc == APOLLO_OK || rc == APOLLO_E_VIDEO || rc == APOLLO_E_IO ||
                    rc == APOLLO_E_NOMEM);
        FUZZ_ASSERT((rc == APOLLO_OK) == (apollo_video_is_encoded(v) == 1));
        apollo_video_free(v);
    }
    return 0;
}
