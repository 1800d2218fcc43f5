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

void clock_iso(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char *p = out;
	/* By hand, not strftime: two of these a step, and strftime was a tenth of a loop's time outside SQLite. */
	gmtime_r(&t, &tm);
	if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
		size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
		return;
	}
	p = digits(p, tm.tm_year + 1900, 4);
	*p++ = '-';
	p = digits(p, tm.tm_mon + 1, 2);
	*p++ = '-';
	p = digits(p, tm.tm_mday, 2);
	*p++ = 'T';
	p = digits(p, tm.tm_hour, 2);
	*p++ = ':';
	p = digits(p, tm.tm_min, 2);
	*p++ = ':';
	p = digits(p, tm.tm_sec, 2);
	*p++ = '.';
	p = digits(p, (int)(ms % 1000), 3);
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
