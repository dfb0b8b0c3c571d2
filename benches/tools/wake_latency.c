/*
 * How long a thread sleeping on a condition variable takes to run once another thread
 * signals it: the wait between the batch processor's notify and its worker's first
 * instruction. Each thread pinned to one of the two CPUs; 200 signals, 2 ms apart with the
 * signalling thread asleep in between (`./wake_latency`), or busy (`./wake_latency busy`, as a
 * thread ending spans flat out is).
 *
 *   cc -O2 -pthread benches/tools/wake_latency.c -o /tmp/wake_latency && /tmp/wake_latency
 *
 * On a guest whose idle vCPU halts to the host, this is the host's wake-up, not the kernel's:
 * 22-58 us median and up to 2 ms on the Zen 4 KVM guest at 7a7d587, where the batch worker
 * itself was at times 3-4 ms late (benches/README.md).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 200

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static atomic_long woke;
static int flag;

static long now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void pin(int cpu) {
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void *waiter(void *arg) {
    (void)arg;
    pin(1);
    for (;;) {
        pthread_mutex_lock(&m);
        while (!flag)
            pthread_cond_wait(&c, &m);
        flag = 0;
        pthread_mutex_unlock(&m);
        atomic_store(&woke, now());
    }
    return NULL;
}

static int cmp(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int busy = argc > 1 && strcmp(argv[1], "busy") == 0;
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    pin(0);
    long lat[ROUNDS];
    for (int i = 0; i < ROUNDS; i++) {
        if (busy) {
            long end = now() + 2000000;
            while (now() < end)
                ;
        } else {
            usleep(2000);
        }
        atomic_store(&woke, 0);
        long sent = now();
        pthread_mutex_lock(&m);
        flag = 1;
        pthread_cond_signal(&c);
        pthread_mutex_unlock(&m);
        long w;
        while (!(w = atomic_load(&woke)))
            ;
        lat[i] = w - sent;
    }
    qsort(lat, ROUNDS, sizeof lat[0], cmp);
    printf("wake latency (%s signaller), us: median %.1f, p90 %.1f, max %.1f\n",
           busy ? "busy" : "sleeping", lat[ROUNDS / 2] / 1e3, lat[ROUNDS * 9 / 10] / 1e3,
           lat[ROUNDS - 1] / 1e3);
    return 0;
}
