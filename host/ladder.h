/* ladder.h: the shadow automation: a candidate runs beside the person, and earns trust. */
#ifndef UNDERSTUDY_LADDER_H
#define UNDERSTUDY_LADDER_H

#include "step.h"

/* What the shadow automation proposed. */
typedef struct Candidate {
	int value;                 /* stack slot of its answer, 0 when it has none */
	int usable;                /* a valid answer of the step's type */
	char source[512];          /* "file.lua:12-15" */
} Candidate;

/* Run the candidate with the step's inputs, before anyone answers; its errors go to h->errors. */
void ladder_candidate_run(lua_State *L, Host *h, const Spec *sp, Candidate *c);
/* Does the person's answer (at ans, JSON in h->output) agree with the candidate? */
int ladder_candidate_agrees(lua_State *L, Host *h, const Spec *sp, const Candidate *c, int ans);
/*
 * May the candidate answer alone? It is trusted, usable, and its last
 * sp->trust comparisons agreed: then its answer is pushed and 1 comes
 * back. *streak says how many agreed.
 */
int ladder_trusted(lua_State *L, Host *h, const Spec *sp, const Candidate *c, int *streak);

#endif
