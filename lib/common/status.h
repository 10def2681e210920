/* Internal error reporting: every failing function records a message in a
 * thread-local buffer and returns a negative APOLLO_E_* code.  The api layer
 * copies the message into the handle it is working on (per-handle errmsg) and
 * apollo_last_errmsg() exposes the thread-local one. */
#ifndef APOLLO_STATUS_H
#define APOLLO_STATUS_H

#include "apollo.h"

#include <stddef.h>

#if defined(__GNUC__)
#define APOLLO__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define APOLLO__PRINTF(a, b)
#endif

/* Records "message" for the current thread and returns code (so callers can
 * write `return apollo__fail(APOLLO_E_IO, "cannot open %s", path);`). */
int apollo__fail(int code, const char *fmt, ...) APOLLO__PRINTF(2, 3);

/* Prefixes the current thread's message with "context: " and returns code;
 * used while unwinding to say where a low-level error happened. */
int apollo__fail_context(int code, const char *fmt, ...) APOLLO__PRINTF(2, 3);

/* The current thread's message ("" when none). */
const char *apollo__errmsg(void);

/* Forgets the current thread's message. */
void apollo__clear_error(void);

#endif
