#include "backend.h"

#include "apollo.h"
#include "common/status.h"

int apollo__backend_create(int32_t kind, int32_t n_threads, apollo__backend **out)
{
    *out = NULL;
    if (n_threads < 1)
        n_threads = 1;
    switch (kind) {
    case APOLLO_BACKEND_AUTO: /* until the oneDNN path is tuned (issue 8), CPU */
    case APOLLO_BACKEND_CPU:
        return apollo__cpu_backend_create(n_threads, out);
    case APOLLO_BACKEND_ONEDNN:
#ifdef APOLLO_HAVE_ONEDNN
        return apollo__onednn_backend_create(n_threads, out);
#else
        return apollo__fail(APOLLO_E_UNSUPPORTED,
                            "the oneDNN backend is not built into this library "
                            "(configure with -DAPOLLO_WITH_ONEDNN=ON)");
#endif
    default:
        return apollo__fail(APOLLO_E_INVALID_ARG, "unknown backend %d", kind);
    }
}

void apollo__backend_free(apollo__backend *be)
{
    if (be)
        be->vt->destroy(be);
}
