/* answer.h: a manual step's options, and its answers: typed from text, checked, taken. */
#ifndef UNDERSTUDY_ANSWER_H
#define UNDERSTUDY_ANSWER_H

#include "step.h"

/* manual()'s options, and the names of its types (type = ...), each list ending with NULL. */
extern const char *const answer_options[];
extern const char *const answer_types[];
/* A done step answered "fail" (or "fail: why") is this table: { reason = why }. */
#define FAIL_MT "understudy.fail"
/* Is the value at idx a "fail" answer? Its reason ("" when none given), or NULL. */
const char *answer_failed(lua_State *L, int idx);
/* The name of a T_ type, as manual()'s type option says it. */
const char *answer_type_name(int type);
/* Read the options of manual() into sp; values pushed at known slots. */
void answer_spec_read(lua_State *L, Spec *sp);
/* Is the value at idx a valid answer of the spec's type? 0, or -1 with reason. */
int answer_check(lua_State *L, const Spec *sp, int idx, Buf *reason);
/* Turn answer text into a value of the spec's type and push it; 0, or -1 with reason and nothing pushed. */
int answer_parse(lua_State *L, Host *h, const Spec *sp, const char *text, size_t n, Buf *reason);
/* Does the step take the value on top (recordable, validated)? 0, or -1 with reason. */
int answer_accept(lua_State *L, Host *h, const Spec *sp, Buf *reason);
/* The answer from --answer/--answers, pushed: 1 when there was one, else 0. */
int answer_from_flags(lua_State *L, Host *h, const Spec *sp);

#endif
