#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define APOLLO__ERRMSG_CAP 1024

static _Thread_local char tls_errmsg[APOLLO__ERRMSG_CAP];

int apollo__fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tls_errmsg, sizeof tls_errmsg, fmt, ap);
    va_end(ap);
    return code;
}

int apollo__fail_context(int code, const char *fmt, ...)
{
    char prefix[256];
    char old[APOLLO__ERRMSG_CAP - sizeof prefix - 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    {
        size_t n = strnlen(tls_errmsg, sizeof old - 1);
        memcpy(old, tls_errmsg, n);
        old[n] = '\0';
    }
    if (old[0])
        snprintf(tls_errmsg, sizeof tls_errmsg, "%s: %s", prefix, old);
    else
        snprintf(tls_errmsg, sizeof tls_errmsg, "%s: %s", prefix, apollo_strerror(code));
    return code;
}

const char *apollo__errmsg(void)
{
    return tls_errmsg;
}

void apollo__clear_error(void)
{
    tls_errmsg[0] = '\0';
}
