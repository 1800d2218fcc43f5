/* clock.h: wall and monotonic time, and the ISO-8601 form the record keeps. */
#ifndef UNDERSTUDY_CLOCK_H
#define UNDERSTUDY_CLOCK_H

#include <stdint.h>

int64_t clock_wall_ms(void);       /* Unix epoch, milliseconds */
int64_t clock_mono_ms(void);       /* for durations */

/* ms since the epoch as "2026-11-28T00:24:52.123Z" (UTC) in out. */
void clock_iso(int64_t ms, char out[32]);

/* The other way: ms since the epoch from that form; 0 for NULL or text not in it. */
int64_t clock_from_iso(const char *iso);

#endif
