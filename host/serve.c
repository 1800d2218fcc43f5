/*
 * serve.c: understudy serve, over libmicrohttpd. C keeps the door: the
 * Host header, tokens and their cookie, Origin and form tokens on every
 * POST, the body's size, the headers every answer carries; and it offers
 * answers to the runners, holding the request until the runner has said.
 * lua/serve.lua routes and draws the pages and the JSON API, reading the
 * history through the functions of db_functions.
 */
#include "serve.h"
#include "remote.h"
#include "rows.h"
#include "run.h"
#include "views.h"
#include "sha256.h"
#include "lazy.h"
#include "../stdlib/stdlib.h"

#include <microhttpd.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <errno.h>
#include <lauxlib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define BODY_MAX (64 * 1024)   /* bytes a request may send: an answer and a note */
#define TOKEN_MIN 16           /* characters a token in --tokens must have */
#define COOKIE "understudy_token"
#define SETTLE_MS 100          /* how often the answers offered are looked at */
#define ANSWER_WAIT_MS 30000   /* a runner silent this long: the answerer hears it is still offered */
#define CONNECTIONS_MAX 1000
#define DEFAULT_LISTEN "127.0.0.1:8765"
#define CSP "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self';" \
	" form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

/*
 * libmicrohttpd is loaded when serve starts, not linked in: with its TLS
 * and the libraries that needs, it made every run start slower.
 */
#define LIBMHD "libmicrohttpd.so.12"
#define MHD_FUNCTIONS(X) \
	X(add_response_header) X(create_response_from_buffer) X(destroy_response) X(get_connection_values) \
	X(get_daemon_info) X(lookup_connection_value) X(queue_response) X(resume_connection) X(run) \
	X(run_wait) X(start_daemon) X(stop_daemon) X(suspend_connection)
static struct {
	void *handle;
#define X(f) __typeof__(MHD_##f) *f;
	MHD_FUNCTIONS(X)
#undef X
} mhd;

/* Load libmicrohttpd once; raises when it cannot. */
static void mhd_load(lua_State *L)
{
	static const LazySymbol symbols[] = {
#define X(f) { "MHD_" #f, offsetof(__typeof__(mhd), f) },
		MHD_FUNCTIONS(X)
#undef X
	};
	Buf err = { 0 };
	if (!mhd.handle && !(mhd.handle = lazy_load(LIBMHD, "libmicrohttpd12", symbols, sizeof symbols / sizeof symbols[0],
	                                             &mhd, &err))) {
		lua_pushstring(L, buf_str(&err));
		buf_free(&err);
		host_fail(L, EXIT_FAILED, "serve: %s", lua_tostring(L, -1));
	}
}

/* A person's token; the strings belong to the Lua state (a table in the registry keeps them). */
typedef struct Token {
	const char *name, *token;
} Token;

typedef struct Request Request;

typedef struct Server {
	lua_State *L;
	Host *h;
	Token *tokens;
	size_t ntokens;
	char hosts[4][320];        /* the Host headers taken */
	char origins[4][320];      /* and the Origins: http://HOST */
	int nhosts;
	const char *url;           /* --url: where people reach the page */
	unsigned char secret[32];  /* form tokens are HMACs of a person's token with it */
	Request *offered;          /* answers offered, their runners yet to say */
} Server;

/* One request, from its first call to its completion. */
struct Request {
	Buf body;
	int too_big;
	const Token *who;
	int bearer;                /* the token came as Authorization: Bearer (not a cookie a browser sends) */
	struct MHD_Connection *conn;
	int64_t offer, since_ms;
	int result;                /* REMOTE_*, once settled */
	int settled;
	Buf msg;
	int req, answer;           /* the request's table and the answer offered, registry refs */
	Request *next;
};

static enum MHD_Result render_answered(Server *sv, struct MHD_Connection *c, Request *r);

/* Are a and b the same text? In time that does not depend on where they differ. */
static int same_secret(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	unsigned char d = (unsigned char)(n != m);
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i % (m ? m : 1)]);
	return d == 0;
}

/* The token a request shows: Authorization: Bearer, the cookie, or ?token= (bearer: 1 for the first). */
static const char *shown_token(struct MHD_Connection *c, int *bearer, int *in_query)
{
	const char *auth = mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *t;
	*bearer = *in_query = 0;
	if (auth && strncmp(auth, "Bearer ", 7) == 0) {
		*bearer = 1;
		return auth + 7;
	}
	if ((t = mhd.lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE)))
		return t;
	if ((t = mhd.lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token")))
		*in_query = 1;
	return t;
}

static const Token *token_find(Server *sv, const char *t)
{
	const Token *found = NULL;
	for (size_t i = 0; t && i < sv->ntokens; i++)
		if (same_secret(t, sv->tokens[i].token))
			found = &sv->tokens[i];
	return found;
}

/* The form token of a person: what the pages put in their forms, and every form POST must bring back. */
static void form_token(Server *sv, const Token *who, char out[65])
{
	sha256_hmac_hex(sv->secret, sizeof sv->secret, who->token, strlen(who->token), out);
}

/* Queue a response with the headers every response carries. */
static enum MHD_Result respond(struct MHD_Connection *c, int status, const char *type, const char *body, size_t n,
                               const char *cookie, const char *location)
{
	struct MHD_Response *r = mhd.create_response_from_buffer(n, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;
	if (!r)
		return MHD_NO;
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	mhd.add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	mhd.add_response_header(r, "X-Content-Type-Options", "nosniff");
	mhd.add_response_header(r, "Content-Security-Policy", CSP);
	mhd.add_response_header(r, "Referrer-Policy", "same-origin");   /* no-referrer would make a form's Origin "null" */
	mhd.add_response_header(r, "X-Frame-Options", "DENY");
	if (cookie)
		mhd.add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	if (location)
		mhd.add_response_header(r, MHD_HTTP_HEADER_LOCATION, location);
	rc = mhd.queue_response(c, (unsigned)status, r);
	mhd.destroy_response(r);
	return rc;
}

/* A refusal at the door: plain text, or JSON for the API. */
static enum MHD_Result refuse(struct MHD_Connection *c, const char *url, int status, const char *why)
{
	char body[512];
	int api = strncmp(url, "/api/", 5) == 0;
	int n = api ? snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", why) : snprintf(body, sizeof body, "%s\n", why);
	return respond(c, status, api ? "application/json" : "text/plain; charset=utf-8", body, (size_t)n, NULL, NULL);
}

static int in_list(char list[][320], int n, const char *s)
{
	for (int i = 0; s && i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

/*
 * The door: 0 when the request may go on, else the response is queued
 * (MHD_YES/MHD_NO in *rc). Host (421), token (401), a POST's origin and
 * form token (403), the body's announced size (413).
 */
static int door(Server *sv, struct MHD_Connection *c, const char *url, const char *method, Request *r,
                enum MHD_Result *rc)
{
	const char *host = mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	const char *len = mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	int bearer, in_query, post = strcmp(method, "POST") == 0;
	const char *t;
	if (!in_list(sv->hosts, sv->nhosts, host)) {
		*rc = refuse(c, url, MHD_HTTP_MISDIRECTED_REQUEST, "this server does not answer for that Host");
		return 1;
	}
	t = shown_token(c, &bearer, &in_query);
	r->bearer = bearer;
	if (!(r->who = token_find(sv, t))) {
		*rc = refuse(c, url, MHD_HTTP_UNAUTHORIZED,
		             t ? "that token is not known here" : "a token is needed: open the link understudy serve printed");
		return 1;
	}
	if (!post && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		*rc = refuse(c, url, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and POST");
		return 1;
	}
	if (in_query && !post) {
		/* The link's token becomes a cookie, and leaves the address bar. */
		char cookie[400];
		snprintf(cookie, sizeof cookie, COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/", r->who->token);
		*rc = respond(c, MHD_HTTP_SEE_OTHER, "text/plain; charset=utf-8", "", 0, cookie, url);
		return 1;
	}
	if (post) {
		const char *origin = mhd.lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
		const char *site = mhd.lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
		int foreign = (origin && !in_list(sv->origins, sv->nhosts, origin)) ||
		              (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0);
		/* A cookie goes with any request a browser makes: such a POST must say it comes from the page. */
		if (foreign || (!bearer && !origin && !site)) {
			*rc = refuse(c, url, MHD_HTTP_FORBIDDEN, "a POST must come from this server's own page");
			return 1;
		}
		if (len && strtoull(len, NULL, 10) > BODY_MAX) {
			*rc = refuse(c, url, MHD_HTTP_CONTENT_TOO_LARGE, "the request is too large");
			return 1;
		}
	}
	return 0;
}

/* Query arguments into the table on top. */
static enum MHD_Result add_argument(void *ud, enum MHD_ValueKind kind, const char *key, const char *value)
{
	lua_State *L = ud;
	(void)kind;
	if (key && value && strcmp(key, "token") != 0) {
		lua_pushstring(L, value);
		lua_setfield(L, -2, key);
	}
	return MHD_YES;
}

/* Push the request as lua/serve.lua reads it. */
static void push_request(Server *sv, struct MHD_Connection *c, const char *url, const char *method, Request *r)
{
	lua_State *L = sv->L;
	const char *type = mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	char form[65];
	lua_createtable(L, 0, 8);
	lua_pushstring(L, method);
	lua_setfield(L, -2, "method");
	lua_pushstring(L, url);
	lua_setfield(L, -2, "path");
	lua_newtable(L);
	mhd.get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_argument, L);
	lua_setfield(L, -2, "query");
	lua_pushlstring(L, r->body.data ? r->body.data : "", r->body.len);
	lua_setfield(L, -2, "body");
	lua_pushstring(L, type ? type : "");
	lua_setfield(L, -2, "content_type");
	lua_pushstring(L, r->who->name);
	lua_setfield(L, -2, "user");
	form_token(sv, r->who, form);
	lua_pushstring(L, form);
	lua_setfield(L, -2, "form_token");
	lua_pushboolean(L, r->bearer);
	lua_setfield(L, -2, "bearer");
	if (sv->url) {
		lua_pushstring(L, sv->url);
		lua_setfield(L, -2, "url");
	}
}

/* Call serve.lua's function name with the values on top (n of them) and queue what it returns. */
static enum MHD_Result render(Server *sv, struct MHD_Connection *c, Request *r, const char *name, int n)
{
	lua_State *L = sv->L;
	int top = lua_gettop(L) - n;
	enum MHD_Result rc;
	lua_getfield(L, LUA_REGISTRYINDEX, "understudy.serve");
	lua_getfield(L, -1, name);
	lua_remove(L, -2);
	lua_insert(L, top + 1);
	if (host_pcall(L, n, 1) != LUA_OK) {
		fprintf(stderr, "understudy: serve: %s\n", host_error_text(L, -1));
		lua_settop(L, top);
		return refuse(c, "/", MHD_HTTP_INTERNAL_SERVER_ERROR, "the page could not be made; the server says why");
	}
	/* { status =, type =, body = } or { offer = { run =, step =, value =, note = } } */
	if (lua_getfield(L, -1, "offer") == LUA_TTABLE) {
		StoreOffer o = { 0 };
		int64_t run;
		lua_getfield(L, -1, "run");
		lua_getfield(L, -2, "step");
		lua_getfield(L, -3, "value");
		lua_getfield(L, -4, "note");
		run = (int64_t)lua_tointeger(L, -4);
		o.value = lua_tostring(L, -2);
		o.note = lua_tostring(L, -1);
		o.operator = r->who->name;
		o.how = "web";
		o.at_ms = clock_wall_ms();
		buf_reset(&r->msg);
		r->result = remote_offer(sv->h->store, run, lua_tostring(L, -3), &o, &r->offer, &r->msg);
		lua_pop(L, 4);
		r->answer = luaL_ref(L, LUA_REGISTRYINDEX);
		lua_settop(L, top);
		if (r->result == REMOTE_PENDING) {
			/* Held until the runner says: settle() resumes it. */
			r->conn = c;
			r->since_ms = clock_mono_ms();
			r->next = sv->offered;
			sv->offered = r;
			mhd.suspend_connection(c);
			return MHD_YES;
		}
		r->settled = 1;
		return render_answered(sv, c, r);
	}
	lua_pop(L, 1);
	lua_getfield(L, -1, "status");
	lua_getfield(L, -2, "type");
	lua_getfield(L, -3, "body");
	lua_getfield(L, -4, "location");
	{
		size_t len;
		const char *body = lua_tolstring(L, -2, &len);
		rc = respond(c, (int)lua_tointeger(L, -4), lua_tostring(L, -3), body ? body : "", body ? len : 0, NULL,
		             lua_tostring(L, -1));
	}
	lua_settop(L, top);
	return rc;
}

/* The words lua/serve.lua gets for what became of an answer. */
static const char *result_word(int result)
{
	switch (result) {
	case REMOTE_TAKEN: return "taken";
	case REMOTE_PENDING: return "pending";
	case REMOTE_REFUSED: return "refused";
	case REMOTE_LATE: return "late";
	case REMOTE_GONE: return "gone";
	case REMOTE_NOT_WAITING: return "not waiting";
	default: return "error";
	}
}

/* What became of an answer offered: serve.answered(request, word, message, answer, status, db). */
static enum MHD_Result render_answered(Server *sv, struct MHD_Connection *c, Request *r)
{
	lua_State *L = sv->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->req);
	lua_pushstring(L, result_word(r->result));
	lua_pushstring(L, buf_str(&r->msg));
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->answer);
	lua_pushinteger(L, r->result == REMOTE_PENDING ? 202 : remote_http_status(r->result));
	lua_getfield(L, LUA_REGISTRYINDEX, "understudy.serve.db");
	return render(sv, c, r, "answered", 6);
}

/* libmicrohttpd's handler: called with the headers, with each piece of the body, and at the end. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	Server *sv = cls;
	Request *r = *con_cls;
	enum MHD_Result rc;
	(void)version;
	if (!r) {
		if (!(r = calloc(1, sizeof *r)))
			return MHD_NO;
		r->req = r->answer = LUA_NOREF;
		*con_cls = r;
		if (door(sv, c, url, method, r, &rc))
			return rc;
		return MHD_YES;
	}
	if (*upload_size) {
		if (r->body.len + *upload_size > BODY_MAX)
			r->too_big = 1;
		else
			buf_add(&r->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->settled)
		return render_answered(sv, c, r);
	if (r->too_big)
		return refuse(c, url, MHD_HTTP_CONTENT_TOO_LARGE, "the request is too large");
	push_request(sv, c, url, method, r);
	lua_pushvalue(sv->L, -1);   /* kept: the page that says what became of an answer shows it again */
	r->req = luaL_ref(sv->L, LUA_REGISTRYINDEX);
	lua_getfield(sv->L, LUA_REGISTRYINDEX, "understudy.serve.db");
	return render(sv, c, r, "handle", 2);
}

/* A request is over: free what it held. */
static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why)
{
	Server *sv = cls;
	Request *r = *con_cls;
	(void)c, (void)why;
	if (!r)
		return;
	for (Request **p = &sv->offered; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	luaL_unref(sv->L, LUA_REGISTRYINDEX, r->req);
	luaL_unref(sv->L, LUA_REGISTRYINDEX, r->answer);
	buf_free(&r->body);
	buf_free(&r->msg);
	free(r);
	*con_cls = NULL;
}

/* Look at the answers offered: those the runners have settled (or left too long) go back to their requests. */
static void settle(Server *sv)
{
	Request **p = &sv->offered;
	while (*p) {
		Request *r = *p;
		buf_reset(&r->msg);
		r->result = remote_settled(sv->h->store, r->offer, &r->msg);
		if (r->result == REMOTE_PENDING && clock_mono_ms() - r->since_ms < ANSWER_WAIT_MS) {
			p = &r->next;
			continue;
		}
		if (r->result == REMOTE_PENDING)
			buf_adds(&r->msg, "the runner has not taken the answer yet; it stays offered");
		r->settled = 1;
		*p = r->next;
		mhd.resume_connection(r->conn);
	}
}

/* The history, as serve.lua reads it: db.waiting(), db.runs(), db.run(id), db.report(pipeline), ... */
static Store *db_store(lua_State *L)
{
	Server *sv = lua_touserdata(L, lua_upvalueindex(1));
	return sv->h->store;
}

static int db_done(lua_State *L, int rc)
{
	if (rc)
		return luaL_error(L, "history unusable: %s", store_error(host_get(L)->store));
	return 1;
}

static int db_waiting(lua_State *L)
{
	return db_done(L, rows_push_waiting(L, db_store(L), luaL_optstring(L, 1, NULL), 0));
}

static int db_runs(lua_State *L)
{
	int rc = rows_push_runs(L, db_store(L), luaL_optstring(L, 1, NULL));
	if (rc == 0)
		view_mark_abandoned(L, lua_gettop(L), 0);
	return db_done(L, rc);
}

static int db_run(lua_State *L)
{
	int rc = rows_push_run(L, db_store(L), (int64_t)luaL_checkinteger(L, 1));
	if (rc == 0 && !lua_isnil(L, -1))
		view_mark_abandoned(L, lua_gettop(L), 1);
	return db_done(L, rc);
}

static int db_report(lua_State *L)
{
	return db_done(L, rows_push_report(L, db_store(L), luaL_optstring(L, 1, NULL), NULL));
}

static int db_answers(lua_State *L)
{
	return db_done(L, rows_push_answers(L, db_store(L), luaL_checkstring(L, 1), luaL_checkstring(L, 2)));
}

static int db_steps(lua_State *L)
{
	return db_done(L, rows_push_steps(L, db_store(L), luaL_checkstring(L, 1), luaL_optstring(L, 2, NULL),
	                                  luaL_optstring(L, 3, NULL)));
}

static const luaL_Reg db_functions[] = {
	{ "waiting", db_waiting }, { "runs", db_runs }, { "run", db_run }, { "report", db_report },
	{ "answers", db_answers }, { "steps", db_steps }, { NULL, NULL },
};

/* Add a token (its strings kept by the table on top); the Token array grows in a userdata at the registry. */
static void token_add(lua_State *L, Server *sv, const char *name, const char *token)
{
	Token *more = lua_newuserdatauv(L, (sv->ntokens + 1) * sizeof *more, 0);
	if (sv->ntokens)
		memcpy(more, sv->tokens, sv->ntokens * sizeof *more);
	lua_setfield(L, LUA_REGISTRYINDEX, "understudy.serve.token_array");   /* the old one is garbage now */
	lua_pushstring(L, name);
	more[sv->ntokens].name = lua_tostring(L, -1);
	luaL_ref(L, -2);
	lua_pushstring(L, token);
	more[sv->ntokens].token = lua_tostring(L, -1);
	luaL_ref(L, -2);
	sv->tokens = more;
	sv->ntokens++;
}

/* Read --tokens FILE: NAME TOKEN a line, # comments. Raises naming file:line. */
static void tokens_read(lua_State *L, Server *sv, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int n = 0;
	struct stat st;
	if (!f)
		host_fail(L, EXIT_USAGE, "serve: --tokens %s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		fprintf(stderr, "understudy: warning: %s can be read by others: chmod 600 %s\n", path, path);
	while (fgets(line, sizeof line, f)) {
		char name[256], token[512], extra[2];
		int k;
		n++;
		if (sscanf(line, " %1s", extra) != 1 || extra[0] == '#')
			continue;
		k = sscanf(line, "%255s %511s %1s", name, token, extra);
		if (k != 2 || strlen(token) < TOKEN_MIN) {
			fclose(f);
			host_fail(L, EXIT_USAGE, "serve: %s:%d: %s", path, n,
			          k == 2 ? "a token needs at least " STR(TOKEN_MIN) " characters" : "want NAME TOKEN");
		}
		token_add(L, sv, name, token);
	}
	fclose(f);
	if (sv->ntokens == 0)
		host_fail(L, EXIT_USAGE, "serve: --tokens %s holds no NAME TOKEN line", path);
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Take a Host header (and its Origin) as this server's. */
static void host_take(Server *sv, const char *scheme, const char *host)
{
	if (sv->nhosts == 4)
		return;
	snprintf(sv->hosts[sv->nhosts], sizeof sv->hosts[0], "%s", host);
	snprintf(sv->origins[sv->nhosts], sizeof sv->origins[0], "%s://%s", scheme, host);
	sv->nhosts++;
}

/* --url BASE: its host[:port] into host (of size n), or 0 when it has none; the scheme's length. */
static size_t url_host(const char *url, char *host, size_t n)
{
	const char *rest = strstr(url, "://");
	size_t k;
	if (!rest || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return 0;
	rest += 3;
	k = strcspn(rest, "/?#");
	if (k == 0 || k >= n)
		return 0;
	memcpy(host, rest, k);
	host[k] = '\0';
	return (size_t)(rest - 3 - url);
}

/* Raise when --url is not http(s)://HOST[:PORT][/PATH]. */
static void url_check(lua_State *L, const char *url)
{
	char host[300];
	if (!url_host(url, host, sizeof host))
		host_fail(L, EXIT_USAGE, "serve: --url must be http://HOST[:PORT][/PATH] or https://..., not '%s'", url);
}

/* --url's scheme and host[:port] are this server's too. */
static void url_take(Server *sv, const char *url)
{
	char host[300];
	if (url_host(url, host, sizeof host))
		host_take(sv, url[4] == 's' ? "https" : "http", host);
}

/* ADDR:PORT into sa; raises on a bad one. */
static void listen_parse(lua_State *L, const char *listen, struct sockaddr_in *sa)
{
	const char *colon = strrchr(listen, ':');
	char addr[64];
	char *end;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof addr || *end || end == colon + 1 ||
	    port < 0 || port > 65535)
		host_fail(L, EXIT_USAGE, "serve: --listen must be ADDR:PORT (an IPv4 address), not '%s'", listen);
	memcpy(addr, listen, (size_t)(colon - listen));
	addr[colon - listen] = '\0';
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sa->sin_addr) != 1)
		host_fail(L, EXIT_USAGE, "serve: --listen must be ADDR:PORT (an IPv4 address), not '%s'", listen);
}

int serve_command(lua_State *L, const Options *opt)
{
	Host *h = host_get(L);
	Server sv = { 0 };
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	char addr[64], where[300], token_hex[33];
	unsigned port;
	const char *listen = opt->listen ? opt->listen : DEFAULT_LISTEN;

	sv.L = L;
	sv.h = h;
	sv.url = opt->url;
	mhd_load(L);
	listen_parse(L, listen, &sa);
	lua_newtable(L);   /* keeps the tokens' strings */
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, "understudy.serve.tokens");
	if (opt->tokens) {
		tokens_read(L, &sv, opt->tokens);
	} else {
		unsigned char raw[16];
		if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
			host_fail(L, EXIT_FAILED, "serve: no random bytes for a token: %s", strerror(errno));
		hex(raw, sizeof raw, token_hex);
		run_operator(L, opt);
		lua_insert(L, -2);
		token_add(L, &sv, lua_tostring(L, -2), token_hex);
		lua_remove(L, -2);
	}
	lua_pop(L, 1);
	if (opt->url)
		url_check(L, opt->url);
	if (getrandom(sv.secret, sizeof sv.secret, 0) != (ssize_t)sizeof sv.secret)
		host_fail(L, EXIT_FAILED, "serve: no random bytes: %s", strerror(errno));
	host_signals_install(L);
	history_open(L, h, 0);

	luaL_requiref(L, "understudy.json", luaopen_json, 0);
	lua_pop(L, 1);
	if (host_load_embedded(L, "lua/serve.lua") != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, "understudy.serve");
	lua_newtable(L);
	lua_pushlightuserdata(L, &sv);
	luaL_setfuncs(L, db_functions, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, "understudy.serve.db");

	d = mhd.start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, ntohs(sa.sin_port), NULL, NULL, handle, &sv,
	                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS_MAX,
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	                     MHD_OPTION_NOTIFY_COMPLETED, completed, &sv,
	                     MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)256,
	                     MHD_OPTION_END);
	if (!d)
		host_fail(L, EXIT_USAGE, "serve: cannot listen on %s: %s", listen, strerror(errno));
	info = mhd.get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	port = info ? info->port : ntohs(sa.sin_port);
	inet_ntop(AF_INET, &sa.sin_addr, addr, sizeof addr);
	snprintf(where, sizeof where, "%s:%u", addr, port);
	if (sa.sin_addr.s_addr != htonl(INADDR_ANY))
		host_take(&sv, "http", where);
	if (sa.sin_addr.s_addr == htonl(INADDR_LOOPBACK) || sa.sin_addr.s_addr == htonl(INADDR_ANY)) {
		snprintf(where, sizeof where, "localhost:%u", port);
		host_take(&sv, "http", where);
	}
	if (sa.sin_addr.s_addr == htonl(INADDR_ANY)) {
		char name[256] = "";
		gethostname(name, sizeof name - 1);
		snprintf(where, sizeof where, "%s:%u", name, port);
		host_take(&sv, "http", where);
	}
	if (opt->url) {
		url_take(&sv, opt->url);
		/* Runners' notify messages link to the page from now on. */
		if (h->store->m->setting_put(h->store, "serve_url", opt->url))
			fprintf(stderr, "understudy: warning: %s\n", store_error(h->store));
	}

	{
		const char *base = opt->url ? opt->url : sv.origins[0];
		const char *slash = base[strlen(base) - 1] == '/' ? "" : "/";
		fprintf(stderr, "understudy: serving %s on http://%s:%u\n", store_where(h->store), addr, port);
		if (opt->tokens)
			fprintf(stderr, "understudy: open %s%s with a token from %s (%zu names)\n", base, slash, opt->tokens,
			        sv.ntokens);
		else
			fprintf(stderr, "understudy: open %s%s?token=%s\n", base, slash, token_hex);
	}
	fflush(stderr);

	while (!host_interrupted) {
		mhd.run_wait(d, SETTLE_MS);
		if (sv.offered)
			settle(&sv);
	}
	/* Requests still held are answered (still offered) before the daemon stops: none may stay suspended. */
	while (sv.offered) {
		Request *r = sv.offered;
		sv.offered = r->next;
		r->result = REMOTE_PENDING;
		buf_reset(&r->msg);
		buf_adds(&r->msg, "the server stopped before the runner took the answer; it stays offered");
		r->settled = 1;
		mhd.resume_connection(r->conn);
	}
	mhd.run(d);
	mhd.stop_daemon(d);
	host_interrupt_forget(L);
	fprintf(stderr, "understudy: serve stopped\n");
	return EXIT_OK;
}
