/* A growable byte string (always NUL-terminated) for building prompts. */
#ifndef APOLLO_STRBUF_H
#define APOLLO_STRBUF_H

#include <stddef.h>

typedef struct apollo__strbuf {
    char *data;
    size_t len, cap;
    int failed; /* an append ran out of memory; later appends are ignored */
} apollo__strbuf;

void apollo__sb_init(apollo__strbuf *sb);
void apollo__sb_free(apollo__strbuf *sb);
void apollo__sb_append(apollo__strbuf *sb, const char *s, size_t n);
void apollo__sb_puts(apollo__strbuf *sb, const char *s);
/* APOLLO_OK or APOLLO_E_NOMEM (with message) if any append failed. */
int apollo__sb_status(const apollo__strbuf *sb);
/* Hands the buffer over (caller frees with apollo__free); sb is reset. */
char *apollo__sb_take(apollo__strbuf *sb);

#endif
