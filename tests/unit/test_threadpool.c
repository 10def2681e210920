/* The ctx thread pool runs every task exactly once, uses as many threads as
 * asked, and serialises concurrent callers. */
#include "apollo.h"
#include "common/threadpool.h"
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define N_TASKS 1000

typedef struct {
    _Atomic int hits[N_TASKS];
    pthread_t ids[64];
    _Atomic int n_ids;
    pthread_mutex_t mu;
} job;

static void task(void *vp, int64_t i)
{
    job *j = vp;
    pthread_t self = pthread_self();
    int known = 0;
    atomic_fetch_add(&j->hits[i], 1);
    usleep(200); /* long enough for every worker to pick something up */
    pthread_mutex_lock(&j->mu);
    for (int k = 0; k < j->n_ids; k++)
        known |= pthread_equal(j->ids[k], self);
    if (!known && j->n_ids < 64)
        j->ids[j->n_ids++] = self;
    pthread_mutex_unlock(&j->mu);
}

static void run(int32_t threads)
{
    apollo__pool *pool = NULL;
    static job j;
    memset(&j, 0, sizeof j);
    pthread_mutex_init(&j.mu, NULL);
    CHECK_EQ_INT(apollo__pool_create(threads, &pool), APOLLO_OK);
    CHECK_EQ_INT(apollo__pool_size(pool), threads);
    apollo__pool_for(pool, N_TASKS, task, &j);
    for (int i = 0; i < N_TASKS; i++)
        CHECK_EQ_INT(j.hits[i], 1);
    CHECK_EQ_INT(j.n_ids, threads);
    apollo__pool_free(pool);
    pthread_mutex_destroy(&j.mu);
}

typedef struct {
    apollo__pool *pool;
    _Atomic long sum;
} shared;

static void add_task(void *vp, int64_t i)
{
    shared *s = vp;
    atomic_fetch_add(&s->sum, (long)i);
}

static void *caller(void *vp)
{
    for (int r = 0; r < 50; r++)
        apollo__pool_for(((shared *)vp)->pool, 100, add_task, vp);
    return NULL;
}

int main(void)
{
    run(1);
    run(2);
    run(4);
    {
        shared s = {0};
        pthread_t t[4];
        CHECK_EQ_INT(apollo__pool_create(3, &s.pool), APOLLO_OK);
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, caller, &s);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        CHECK_EQ_INT(s.sum, 4L * 50 * (99 * 100 / 2));
        apollo__pool_free(s.pool);
    }
    return test_finish("threadpool");
}
