/*
 * Spate's stand-in for librdkafka's internal "rd.h", just enough to compile
 * Debian's examples/rdkafka_performance.c (librdkafka-dev) against the installed
 * public library. The example includes it twice ("../src/rd.h" and "rd.h"), hence
 * the guard. See bench/rdkafka-perf/build.sh.
 */
#ifndef SPATE_RDKAFKA_PERF_RD_H
#define SPATE_RDKAFKA_PERF_RD_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/** Microseconds, as librdkafka's rd_ts_t. */
typedef int64_t rd_ts_t;

/** Monotonic clock in microseconds, as librdkafka's rd_clock(). */
static inline rd_ts_t rd_clock(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ((rd_ts_t)ts.tv_sec * 1000000LL) + ((rd_ts_t)ts.tv_nsec / 1000);
}

#define rd_snprintf(...) snprintf(__VA_ARGS__)

#ifndef RD_MIN
#define RD_MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef RD_MAX
#define RD_MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

#endif /* SPATE_RDKAFKA_PERF_RD_H */
