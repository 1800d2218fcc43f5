/*
 * replay.h: a resume replays the steps its run finished: their recorded
 * values, nothing redone; a dry run answers every step from the record.
 */
#ifndef UNDERSTUDY_REPLAY_H
#define UNDERSTUDY_REPLAY_H

#include "step.h"

/*
 * When resuming, match this step with the next one the resumed run
 * finished. A match pushes the recorded values, records the replay and
 * returns how many; otherwise the step runs live, replay may stop here,
 * and -1 comes back. sp: a manual step's options (NULL for auto): an
 * --answer with another answer than the recorded one may replace it.
 */
int replay_step(lua_State *L, Host *h, const Step *s, const Spec *sp);

/*
 * In a dry run (else -1): push the value the step got last for the same
 * inputs, else its default (sp: a manual step's options), record it
 * (how = dry), say what would happen, and return how many values; with
 * neither, the run stops naming the step and why.
 */
int replay_dry(lua_State *L, Host *h, const Step *s, const Spec *sp);

#endif
