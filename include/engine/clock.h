/* SPDX-License-Identifier: Apache-2.0
 * Monotonic and wall clocks in nanoseconds (vDSO clock_gettime: ~20 ns, no syscall). */
#pragma once
#include <stdint.h>
#include <time.h>

static inline int64_t eng_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + (int64_t)ts.tv_nsec;
}

static inline int64_t eng_wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + (int64_t)ts.tv_nsec;
}
