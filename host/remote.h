/*
 * remote.h: answers from elsewhere. A manual step that asks a person is
 * also visible in the store as waiting, and takes the first answer from
 * its terminal or from an answerer elsewhere (`understudy answer`, the
 * page of `understudy serve`), who offers one and hears what became of it.
 */
#ifndef UNDERSTUDY_REMOTE_H
#define UNDERSTUDY_REMOTE_H

#include "step.h"

#define REMOTE_STALE_MS 20000   /* a waiting runner beats every 5 s: one silent this long is gone */

/* Is the wait still waiting, with its runner alive (its pid on this host, or a recent beat)? */
int remote_alive(const StoreWait *w, int64_t now_ms);

/* The runner's side. */
/* The step begins waiting: visible to answerers elsewhere. Raises when the store fails. */
void remote_wait_begin(lua_State *L, Host *h, const Spec *sp, int occurrence);
/*
 * Beat when it is time, and see whether an answer was offered (no Lua:
 * safe inside libedit's callbacks): 1 when one waits for remote_poll.
 */
int remote_offered(Host *h);
/*
 * Look at the offered answers: a wrong one is refused with the reason,
 * said on a line of its own; the first good one is pushed, who answered
 * goes to h->step.by and h->step.note, and its how ("web" or "remote") is
 * returned. NULL: none taken.
 */
const char *remote_poll(lua_State *L, Host *h, const Spec *sp);
/* How long until remote_offered is due, in ms; the descriptor that wakes the runner earlier (-1: none). */
int64_t remote_next_ms(Host *h, int *fd);
/* The wait ends: answered (by whom, how), default, or interrupted. Failures are only warned about. */
void remote_wait_end(Host *h, const char *state, const char *by, const char *how);

/* The answerer's side. */
enum { REMOTE_TAKEN, REMOTE_PENDING, REMOTE_REFUSED, REMOTE_LATE, REMOTE_GONE, REMOTE_NOT_WAITING, REMOTE_ERROR };
/*
 * Offer value (as typed at a prompt) to run's waiting step. REMOTE_PENDING
 * with the offer's id in *offer, or why not (REMOTE_LATE, REMOTE_GONE,
 * REMOTE_NOT_WAITING, REMOTE_ERROR) with the message in msg.
 */
int remote_offer(Store *s, int64_t run, const char *step, const StoreOffer *o, int64_t *offer, Buf *msg);
/* What became of an offer: REMOTE_PENDING while the runner has not said; else the message in msg. */
int remote_settled(Store *s, int64_t offer, Buf *msg);
/* answer RUN STEP VALUE [--note TEXT] [--operator NAME]: exit 0 when the runner took it. */
int remote_answer_command(lua_State *L, const Options *opt);
/* The HTTP status for an answerer's result. */
int remote_http_status(int result);

#endif
