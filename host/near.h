/* near.h: "did you mean": the known word nearest to a mistyped one. */
#ifndef UNDERSTUDY_NEAR_H
#define UNDERSTUDY_NEAR_H

#include <stddef.h>

/*
 * The word of known[0..n) (n < 0: up to a NULL) nearest to word, when it
 * is near enough to be what was meant: the same but for case, '-' and '_',
 * or a few letters off (edits, a swap counted as one). NULL otherwise.
 */
const char *near_word(const char *word, const char *const *known, long n);

#endif
