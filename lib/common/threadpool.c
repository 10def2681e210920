#include "threadpool.h"

#include "alloc.h"
#include "status.h"

#include <pthread.h>
#include <stdatomic.h>

struct apollo__pool {
    int32_t n_threads;
    pthread_t *workers;
    int32_t n_started;
    pthread_mutex_t run_lock; /* one apollo__pool_for at a time */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    uint64_t generation;      /* bumped for each job */
    int shutdown;
    /* current job */
    apollo__task_fn fn;
    void *arg;
    int64_t n;
    _Atomic int64_t next;
    int32_t active;           /* workers still inside the current job */
};

static void drain(apollo__pool *p)
{
    for (;;) {
        int64_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n)
            break;
        p->fn(p->arg, i);
    }
}

static void *worker_main(void *vp)
{
    apollo__pool *p = vp;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->shutdown && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->shutdown)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        drain(p);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int apollo__pool_create(int32_t n_threads, apollo__pool **out)
{
    apollo__pool *p;
    *out = NULL;
    if (n_threads < 1)
        n_threads = 1;
    p = apollo__calloc(1, sizeof *p);
    if (!p)
        return apollo__fail(APOLLO_E_NOMEM, "out of memory creating the thread pool");
    p->n_threads = n_threads;
    pthread_mutex_init(&p->run_lock, NULL);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (n_threads > 1) {
        p->workers = apollo__calloc((size_t)n_threads - 1, sizeof *p->workers);
        if (!p->workers) {
            apollo__pool_free(p);
            return apollo__fail(APOLLO_E_NOMEM, "out of memory creating the thread pool");
        }
        for (int32_t i = 0; i < n_threads - 1; i++) {
            if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0) {
                apollo__pool_free(p);
                return apollo__fail(APOLLO_E_NOMEM, "cannot start worker thread %d of %d", i + 1,
                                    n_threads - 1);
            }
            p->n_started++;
        }
    }
    *out = p;
    return APOLLO_OK;
}

void apollo__pool_free(apollo__pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->shutdown = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int32_t i = 0; i < p->n_started; i++)
        pthread_join(p->workers[i], NULL);
    apollo__free(p->workers);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->run_lock);
    apollo__free(p);
}

int32_t apollo__pool_size(const apollo__pool *p)
{
    return p ? p->n_threads : 1;
}

void apollo__pool_for(apollo__pool *p, int64_t n, apollo__task_fn fn, void *arg)
{
    if (n <= 0)
        return;
    if (!p || p->n_started == 0 || n == 1) {
        for (int64_t i = 0; i < n; i++)
            fn(arg, i);
        return;
    }
    pthread_mutex_lock(&p->run_lock);
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    atomic_store(&p->next, 0);
    p->active = p->n_started;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    drain(p);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_unlock(&p->run_lock);
}
