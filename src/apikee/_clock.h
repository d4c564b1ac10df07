/*
 * The wall clock time.time() reads, without a Python call: CLOCK_REALTIME converted to seconds
 * exactly as CPython's _PyTime_AsSecondsDouble does. Returns 0 on success; -1 where the clock is
 * not available this way (the caller then calls time.time()).
 */
#ifndef APIKEE_CLOCK_H
#define APIKEE_CLOCK_H

#include <stdint.h>

#if defined(__unix__) || defined(__APPLE__)
#include <time.h>

/* Seconds whose nanoseconds (plus up to 999999999 more) fit an int64_t: the product below
 * cannot overflow (signed overflow is undefined behaviour). CPython's time.time() raises
 * OverflowError outside int64 nanoseconds; such a clock (year 2262 on, or a clock set that far)
 * is left to it: -1 makes the caller call time.time() itself. */
#define APIKEE_CLOCK_MAX_SEC ((INT64_MAX - 999999999) / 1000000000)
#define APIKEE_CLOCK_MIN_SEC (INT64_MIN / 1000000000)

static int apikee_wall_clock(double *out) {
    struct timespec ts;
    int64_t ns;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
    if ((int64_t)ts.tv_sec > APIKEE_CLOCK_MAX_SEC || (int64_t)ts.tv_sec < APIKEE_CLOCK_MIN_SEC ||
        ts.tv_nsec < 0 || ts.tv_nsec > 999999999)
        return -1;
    ns = (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
    if (ns % 1000000000 == 0) {
        *out = (double)(ns / 1000000000);
    } else {
        *out = (double)ns;
        *out /= 1e9;
    }
    return 0;
}
#else
static int apikee_wall_clock(double *out) {
    (void)out;
    return -1;
}
#endif

#endif /* APIKEE_CLOCK_H */
