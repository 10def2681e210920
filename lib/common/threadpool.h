/* A fixed pool of worker threads owned by one ctx.  apollo__pool_for() runs
 * fn(arg, i) for every i in [0, n) on the workers and the calling thread and
 * returns when all are done.  Calls from several threads are serialised, so
 * one pool may serve all sessions of a ctx. */
#ifndef APOLLO_THREADPOOL_H
#define APOLLO_THREADPOOL_H

#include <stdint.h>

typedef struct apollo__pool apollo__pool;
typedef void (*apollo__task_fn)(void *arg, int64_t i);

/* n_threads >= 1 counts the calling thread: n_threads - 1 workers start. */
int apollo__pool_create(int32_t n_threads, apollo__pool **out);
void apollo__pool_free(apollo__pool *pool);
int32_t apollo__pool_size(const apollo__pool *pool);
/* pool may be NULL: every task then runs on the calling thread, in order. */
void apollo__pool_for(apollo__pool *pool, int64_t n, apollo__task_fn fn, void *arg);

#endif
