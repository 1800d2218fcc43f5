/* near.c: "did you mean": the known word nearest to a mistyped one. */
#include "near.h"

#include <ctype.h>
#include <string.h>

#define WORD_MAX 64   /* longer words are compared by their first 64 bytes */

/* The word folded: lower case, without '-', '_' and spaces. */
static size_t fold(const char *s, char out[WORD_MAX])
{
	size_t n = 0;
	for (; *s && n < WORD_MAX; s++)
		if (*s != '-' && *s != '_' && *s != ' ')
			out[n++] = (char)tolower((unsigned char)*s);
	return n;
}

/* Edits from a to b: insert, delete, change, or swap two neighbours (optimal string alignment). */
static size_t distance(const char *a, size_t n, const char *b, size_t m)
{
	size_t d[WORD_MAX + 1][WORD_MAX + 1];
	for (size_t i = 0; i <= n; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[n][m];
}

const char *near_word(const char *word, const char *const *known, long n)
{
	char w[WORD_MAX], k[WORD_MAX];
	size_t wn = fold(word, w), best = (size_t)-1;
	const char *found = NULL;
	for (long i = 0; n < 0 ? known[i] != NULL : i < n; i++) {
		size_t kn = fold(known[i], k), dist = distance(w, wn, k, kn);
		if (dist < best) {
			best = dist;
			found = known[i];
		}
	}
	/* A word of 4 letters may be 1 off, of 8 two, longer three: else it was not what was meant. */
	return found && strcmp(found, word) != 0 && best <= (wn < 5 ? 1 : wn < 9 ? 2 : 3) ? found : NULL;
}
