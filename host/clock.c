/* clock.c: wall and monotonic time, and the ISO-8601 form the record keeps. */
#include "clock.h"

#include <stdio.h>
#include <time.h>

int64_t clock_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write v as width digits at p; returns past them. */
static char *digits(char *p, int v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + width;
}

/*
 * Days since 1970-01-01 as a date of the proleptic Gregorian calendar,
 * by whole 400-year eras (H. Hinnant's civil_from_days): no time zone,
 * no lock, as gmtime_r takes.
 */
static void civil(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;                                      /* day of the era, 0..146096 */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  /* year of the era, 0..399 */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* day of the year from March 1 */
	int64_t mp = (5 * doy + 2) / 153;                                    /* month from March, 0..11 */
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* a / b rounded down, for times before 1970 too (C's / rounds toward zero); b > 0. */
static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((b - 1 - a) / b);
}

void clock_iso(int64_t ms, char out[32])
{
	/* By hand, not gmtime_r and strftime: two of these a step, and they were a tenth of a loop's time outside SQLite. */
	int64_t s = floor_div(ms, 1000), y;
	int64_t days = floor_div(s, 86400), rest = s - days * 86400;
	int m, d;
	char *p = out;
	civil(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		char wide[96];
		snprintf(wide, sizeof wide, "%lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m, d, (int)(rest / 3600),
		         (int)(rest / 60 % 60), (int)(rest % 60), (int)(ms - s * 1000));
		snprintf(out, 32, "%.31s", wide);
		return;
	}
	p = digits(p, (int)y, 4);
	*p++ = '-';
	p = digits(p, m, 2);
	*p++ = '-';
	p = digits(p, d, 2);
	*p++ = 'T';
	p = digits(p, (int)(rest / 3600), 2);
	*p++ = ':';
	p = digits(p, (int)(rest / 60 % 60), 2);
	*p++ = ':';
	p = digits(p, (int)(rest % 60), 2);
	*p++ = '.';
	p = digits(p, (int)(ms - s * 1000), 3);
	*p++ = 'Z';
	*p = '\0';
}

int64_t clock_from_iso(const char *iso)
{
	struct tm tm = { 0 };
	int ms = 0;
	const char *rest;
	if (!iso || !(rest = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm)))
		return 0;
	if (rest[0] == '.' && sscanf(rest + 1, "%3d", &ms) != 1)
		ms = 0;
	return (int64_t)timegm(&tm) * 1000 + ms;
}
