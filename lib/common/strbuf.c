#include "strbuf.h"

#include "alloc.h"
#include "status.h"

#include <string.h>

void apollo__sb_init(apollo__strbuf *sb)
{
    memset(sb, 0, sizeof *sb);
}

void apollo__sb_free(apollo__strbuf *sb)
{
    apollo__free(sb->data);
    memset(sb, 0, sizeof *sb);
}

void apollo__sb_append(apollo__strbuf *sb, const char *s, size_t n)
{
    if (sb->failed)
        return;
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 64;
        char *d;
        while (cap < sb->len + n + 1)
            cap *= 2;
        d = apollo__realloc(sb->data, cap);
        if (!d) {
            sb->failed = 1;
            return;
        }
        sb->data = d;
        sb->cap = cap;
    }
    if (n)
        memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void apollo__sb_puts(apollo__strbuf *sb, const char *s)
{
    apollo__sb_append(sb, s, strlen(s));
}

int apollo__sb_status(const apollo__strbuf *sb)
{
    if (sb->failed)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory building text");
    return APOLLO_OK;
}

char *apollo__sb_take(apollo__strbuf *sb)
{
    char *d;
    if (sb->failed) {
        apollo__sb_free(sb);
        return NULL;
    }
    if (!sb->data)
        apollo__sb_append(sb, "", 0);
    d = sb->data;
    memset(sb, 0, sizeof *sb);
    return d;
}
