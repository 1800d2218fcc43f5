/*
 * http.c: the http module on libcurl: get, post, put, delete, request, and
 * all (parallel, through the multi interface). One connection cache per
 * run, made on first use. No Lua error is raised inside a curl callback.
 */
#include "../host/host.h"
#include "../host/codec.h"
#include "../host/lazy.h"
#include "stdlib.h"

#include <ctype.h>
#include <stddef.h>
#define CURL_DISABLE_TYPECHECK   /* calls go through the pointers below */
#include <curl/curl.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_STATE "understudy.http"          /* the run's Http, in the registry */
#define HTTP_MT "understudy.http.state"
#define RESPONSE_MT "understudy.http.response"
#define REQUEST_MT "understudy.http.request"
#define DEFAULT_TIMEOUT_MS 30000L
#define CONNECT_TIMEOUT_MS 10000L
#define MAX_REDIRECTS 10L

/*
 * libcurl is loaded on the first request, not at start: linked in, its
 * libraries would double the time every run takes to start.
 */
static struct {
	void *handle;
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_reset)(CURL *);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	char *(*easy_escape)(CURL *, const char *, int);
	void (*free)(void *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLSH *(*share_init)(void);
	CURLSHcode (*share_setopt)(CURLSH *, CURLSHoption, ...);
	CURLSHcode (*share_cleanup)(CURLSH *);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode (*multi_perform)(CURLM *, int *);
	CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd[], unsigned int, int, int *);
	CURLMsg *(*multi_info_read)(CURLM *, int *);
	CURLMcode (*multi_cleanup)(CURLM *);
} lib;

/* The run's connection cache: one share, one easy handle for sequential requests. */
typedef struct Http {
	CURLSH *share;
	CURL *easy;
} Http;

/* One request and, after it, its response. */
typedef struct Request {
	CURL *easy;               /* borrowed (sequential) or owned (http.all) */
	int owned;
	const char *method;
	const char *url;          /* strings below are held by the Lua stack */
	const char *body;
	size_t nbody;
	struct curl_slist *headers;
	long timeout_ms;
	int follow, insecure;
	Buf reply, reply_headers;
	char error[CURL_ERROR_SIZE];
	CURLcode rc;
} Request;

/* Free what a request holds; safe to call twice (also its __gc). */
static void request_free(Request *q)
{
	lib.slist_free_all(q->headers);
	q->headers = NULL;
	buf_free(&q->reply);
	buf_free(&q->reply_headers);
	if (q->owned && q->easy)
		lib.easy_cleanup(q->easy);
	q->easy = NULL;
}

static int request_gc(lua_State *L)
{
	request_free(luaL_checkudata(L, 1, REQUEST_MT));
	return 0;
}

/* curl callbacks: append to C buffers; nothing here can raise. */
static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	buf_add(ud, p, size * n);
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	Buf *b = ud;
	if (size * n >= 5 && memcmp(p, "HTTP/", 5) == 0)
		buf_reset(b);   /* a new response (after a redirect): its headers only */
	buf_add(b, p, size * n);
	return size * n;
}

/* Ctrl-C stops a transfer: the progress callback asks curl to abort. */
static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)ud, (void)a, (void)b, (void)c, (void)d;
	return host_interrupted ? 1 : 0;
}

/* Set every option of q on its easy handle. */
static void request_setup(Request *q, CURLSH *share)
{
	CURL *c = q->easy;
	lib.easy_reset(c);   /* keeps the connections */
	q->error[0] = '\0';
	if (share)
		lib.easy_setopt(c, CURLOPT_SHARE, share);
	lib.easy_setopt(c, CURLOPT_URL, q->url);
	lib.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	lib.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	lib.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	lib.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	lib.easy_setopt(c, CURLOPT_TIMEOUT_MS, q->timeout_ms);
	lib.easy_setopt(c, CURLOPT_ERRORBUFFER, q->error);
	lib.easy_setopt(c, CURLOPT_FOLLOWLOCATION, (long)q->follow);
	lib.easy_setopt(c, CURLOPT_MAXREDIRS, MAX_REDIRECTS);
	lib.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, q->insecure ? 0L : 1L);
	lib.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, q->insecure ? 0L : 2L);
	lib.easy_setopt(c, CURLOPT_USERAGENT, "understudy/" UNDERSTUDY_VERSION);
	lib.easy_setopt(c, CURLOPT_HTTPHEADER, q->headers);
	lib.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	lib.easy_setopt(c, CURLOPT_WRITEDATA, &q->reply);
	lib.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	lib.easy_setopt(c, CURLOPT_HEADERDATA, &q->reply_headers);
	lib.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	lib.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (strcmp(q->method, "HEAD") == 0)
		lib.easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(q->method, "GET") != 0)
		lib.easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	if (q->body) {
		lib.easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		lib.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->nbody);
	}
}

#define LIBCURL "libcurl.so.4"

/* Load and start libcurl once for the process; 0, or -1 with why in err. */
static int http_global_init(Buf *err)
{
	static const LazySymbol symbols[] = {
#define SYMBOL(f) { "curl_" #f, offsetof(__typeof__(lib), f) }
		SYMBOL(global_init), SYMBOL(easy_init), SYMBOL(easy_setopt), SYMBOL(easy_perform),
		SYMBOL(easy_getinfo), SYMBOL(easy_reset), SYMBOL(easy_cleanup), SYMBOL(easy_strerror),
		SYMBOL(easy_escape), SYMBOL(free), SYMBOL(slist_append), SYMBOL(slist_free_all),
		SYMBOL(share_init), SYMBOL(share_setopt), SYMBOL(share_cleanup), SYMBOL(multi_init),
		SYMBOL(multi_add_handle), SYMBOL(multi_remove_handle), SYMBOL(multi_perform),
		SYMBOL(multi_poll), SYMBOL(multi_info_read), SYMBOL(multi_cleanup),
#undef SYMBOL
	};
	static int ready;
	if (ready)
		return 0;
	if (!lib.handle && !(lib.handle = lazy_load(LIBCURL, NULL, symbols, sizeof symbols / sizeof symbols[0], &lib, err)))
		return -1;
	if (lib.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		buf_adds(err, "cannot start libcurl");
		return -1;
	}
	ready = 1;
	return 0;
}

/* POST json to url for notify; 0, or -1 with why in err. No Lua here. */
int notify_post(const char *url, const char *json, Buf *err)
{
	Request q;
	long status = 0;
	buf_reset(err);
	memset(&q, 0, sizeof q);
	if (http_global_init(err))
		return -1;
	if (!(q.easy = lib.easy_init())) {
		buf_adds(err, "cannot start libcurl");
		return -1;
	}
	q.owned = 1;
	q.method = "POST";
	q.url = url;
	q.body = json;
	q.nbody = strlen(json);
	q.timeout_ms = CONNECT_TIMEOUT_MS;
	q.follow = 1;
	q.headers = lib.slist_append(NULL, "Content-Type: application/json");
	request_setup(&q, NULL);
	q.rc = lib.easy_perform(q.easy);
	if (q.rc != CURLE_OK)
		buf_adds(err, q.error[0] ? q.error : lib.easy_strerror(q.rc));
	else if (lib.easy_getinfo(q.easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status >= 400)
		buf_addf(err, "the server answered HTTP %ld", status);
	request_free(&q);
	return err->len ? -1 : 0;
}

/* The run's Http, made on first use ([-0, +0]). */
static int http_gc(lua_State *L)
{
	Http *h = luaL_checkudata(L, 1, HTTP_MT);
	if (h->easy)
		lib.easy_cleanup(h->easy);
	if (h->share)
		lib.share_cleanup(h->share);
	h->easy = NULL;
	h->share = NULL;
	return 0;
}

static Http *http_state(lua_State *L)
{
	Http *h;
	if (lua_getfield(L, LUA_REGISTRYINDEX, HTTP_STATE) == LUA_TUSERDATA) {
		h = lua_touserdata(L, -1);
		lua_pop(L, 1);
		return h;
	}
	lua_pop(L, 1);
	Buf err = { 0 };
	if (http_global_init(&err)) {
		lua_pushfstring(L, "http: %s", buf_str(&err));
		buf_free(&err);
		lua_error(L);
	}
	h = lua_newuserdatauv(L, sizeof *h, 0);
	memset(h, 0, sizeof *h);
	if (luaL_newmetatable(L, HTTP_MT)) {
		lua_pushcfunction(L, http_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	lua_setfield(L, LUA_REGISTRYINDEX, HTTP_STATE);
	h->share = lib.share_init();
	h->easy = lib.easy_init();
	if (!h->share || !h->easy)
		luaL_error(L, "http: cannot start libcurl");
	lib.share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	lib.share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	lib.share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return h;
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Make the URL on top carry the table at query as ?k=v&..., keys sorted ([-1, +1]). */
static void url_with_query(lua_State *L, int query)
{
	int url = lua_gettop(L), n = 0, sep = strchr(lua_tostring(L, url), '?') != NULL;
	const char **keys;
	luaL_Buffer b;
	lua_pushnil(L);
	while (lua_next(L, query)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "http: query names must be strings");
		n++;
	}
	keys = lua_newuserdatauv(L, sizeof *keys * (size_t)(n ? n : 1), 0);   /* the query holds the keys */
	n = 0;
	lua_pushnil(L);
	while (lua_next(L, query)) {
		lua_pop(L, 1);
		keys[n++] = lua_tostring(L, -1);
	}
	qsort(keys, (size_t)n, sizeof *keys, compare_keys);
	luaL_buffinit(L, &b);
	luaL_addstring(&b, lua_tostring(L, url));
	for (int i = 0; i < n; i++) {
		size_t vn;
		lua_getfield(L, query, keys[i]);
		const char *v = luaL_tolstring(L, -1, &vn);
		char *ek = lib.easy_escape(NULL, keys[i], 0), *ev = lib.easy_escape(NULL, v, (int)vn);
		lua_pop(L, 2);
		luaL_addchar(&b, sep++ ? '&' : '?');
		luaL_addstring(&b, ek ? ek : "");
		luaL_addchar(&b, '=');
		luaL_addstring(&b, ev ? ev : "");
		lib.free(ek);
		lib.free(ev);
	}
	luaL_pushresult(&b);
	lua_replace(L, url);
	lua_settop(L, url);
}

/*
 * A new request userdata ([-0, +1]) from method, the URL at url and the
 * options table at opts (or 0); its easy handle is the caller's to set.
 * Strings it points to are left on the stack below it, so they live as
 * long as it is used.
 */
static Request *request_read(lua_State *L, const char *method, int url, int opts)
{
	Request *q;
	int has_type = 0;
	luaL_checkstring(L, url);
	lua_pushvalue(L, url);
	if (opts && lua_getfield(L, opts, "query") != LUA_TNIL) {
		luaL_checktype(L, -1, LUA_TTABLE);
		lua_insert(L, -2);
		url_with_query(L, lua_gettop(L) - 1);
		lua_remove(L, -2);
	} else if (opts) {
		lua_pop(L, 1);
	}
	int final_url = lua_gettop(L);
	q = lua_newuserdatauv(L, sizeof *q, 0);
	memset(q, 0, sizeof *q);
	luaL_setmetatable(L, REQUEST_MT);
	q->method = method;
	q->url = lua_tostring(L, final_url);
	q->timeout_ms = DEFAULT_TIMEOUT_MS;
	q->follow = 1;
	if (!opts)
		return q;
	if (lua_getfield(L, opts, "headers") != LUA_TNIL) {
		luaL_checktype(L, -1, LUA_TTABLE);
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1))
				host_error(L, "http %s %s: headers must map names to strings", method, q->url);
			const char *name = lua_tostring(L, -2);
			has_type |= strcasecmp(name, "content-type") == 0;
			lua_pushfstring(L, "%s: %s", name, lua_tostring(L, -1));
			q->headers = lib.slist_append(q->headers, lua_tostring(L, -1));
			lua_pop(L, 2);
		}
	}
	lua_pop(L, 1);
	if (lua_getfield(L, opts, "json") != LUA_TNIL) {
		Buf b = { 0 }, why = { 0 };
		int rc = codec_encode(L, lua_gettop(L), &b, &why);
		if (rc == 0)
			lua_pushlstring(L, buf_str(&b), b.len);
		else
			lua_pushfstring(L, "http %s %s: the json option cannot be encoded: %s", method, q->url, buf_str(&why));
		buf_free(&b);
		buf_free(&why);
		if (rc)
			lua_error(L);
		q->body = lua_tolstring(L, -1, &q->nbody);
		lua_insert(L, final_url);   /* kept alive below the request */
		if (!has_type)
			q->headers = lib.slist_append(q->headers, "Content-Type: application/json");
	} else if (lua_getfield(L, opts, "body") != LUA_TNIL) {
		q->body = luaL_checklstring(L, -1, &q->nbody);
		lua_insert(L, final_url);
	} else {
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	if (lua_getfield(L, opts, "timeout") != LUA_TNIL) {
		lua_Number t = luaL_checknumber(L, -1);
		if (!(t > 0 && t <= 2073600))
			host_error(L, "http %s %s: timeout must be above 0 and at most 2073600 s (24 days)", method, q->url);
		q->timeout_ms = (long)(t * 1000 + 0.5) > 0 ? (long)(t * 1000 + 0.5) : 1;
	}
	if (lua_getfield(L, opts, "follow") != LUA_TNIL)
		q->follow = lua_toboolean(L, -1);
	if (lua_getfield(L, opts, "insecure") != LUA_TNIL && lua_toboolean(L, -1)) {
		q->insecure = 1;
		fprintf(stderr, "understudy: warning: http %s %s: TLS certificates are not checked\n", method, q->url);
	}
	lua_pop(L, 3);
	return q;
}

/* response:json() -> the body decoded */
static int response_json(lua_State *L)
{
	Buf err = { 0 };
	size_t n;
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getfield(L, 1, "body");
	const char *body = luaL_checklstring(L, -1, &n);
	if (codec_decode(L, body, n, &err) == 0) {
		buf_free(&err);
		return 1;
	}
	lua_getfield(L, 1, "url");
	lua_pushfstring(L, "http: the body from %s is not JSON: %s", lua_tostring(L, -1), buf_str(&err));
	buf_free(&err);
	return lua_error(L);
}

/* response:ok() -> whether the status is 2xx */
static int response_ok(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getfield(L, 1, "status");
	lua_Integer s = lua_tointeger(L, -1);
	lua_pushboolean(L, s >= 200 && s < 300);
	return 1;
}

/* The response of a finished request, or raise its error ([-0, +1]). */
static void response_push(lua_State *L, Request *q)
{
	long status = 0;
	double seconds = 0;
	char *effective = NULL;
	if (q->rc != CURLE_OK) {
		const char *why = q->error[0] ? q->error : lib.easy_strerror(q->rc);
		if (q->rc == CURLE_ABORTED_BY_CALLBACK && host_interrupted)
			host_raise_interrupt(L, "interrupted during http %s %s", q->method, q->url);
		host_error(L, "http %s %s: %s", q->method, q->url, why);
	}
	lib.easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
	lib.easy_getinfo(q->easy, CURLINFO_TOTAL_TIME, &seconds);
	lib.easy_getinfo(q->easy, CURLINFO_EFFECTIVE_URL, &effective);
	lua_createtable(L, 0, 5);
	lua_pushinteger(L, status);
	lua_setfield(L, -2, "status");
	lua_pushlstring(L, buf_str(&q->reply), q->reply.len);
	lua_setfield(L, -2, "body");
	lua_pushstring(L, effective ? effective : q->url);
	lua_setfield(L, -2, "url");
	lua_pushnumber(L, seconds);
	lua_setfield(L, -2, "time");
	/* Headers: lower-case names; repeated ones joined by ", ". */
	lua_newtable(L);
	const char *p = buf_str(&q->reply_headers);
	while (*p) {
		const char *end = strchr(p, '\n'), *colon = memchr(p, ':', end ? (size_t)(end - p) : strlen(p));
		const char *stop = end ? end : p + strlen(p);
		if (colon && memcmp(p, "HTTP/", 5) != 0) {
			luaL_Buffer name;
			const char *v = colon + 1, *ve = stop;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
				ve--;
			luaL_buffinit(L, &name);
			for (const char *c = p; c < colon; c++)
				luaL_addchar(&name, (char)tolower((unsigned char)*c));
			luaL_pushresult(&name);
			lua_pushvalue(L, -1);
			if (lua_rawget(L, -3) == LUA_TSTRING) {
				lua_pushliteral(L, ", ");
				lua_pushlstring(L, v, (size_t)(ve - v));
				lua_concat(L, 3);
			} else {
				lua_pop(L, 1);
				lua_pushlstring(L, v, (size_t)(ve - v));
			}
			lua_rawset(L, -3);
		}
		p = end ? end + 1 : stop;
	}
	lua_setfield(L, -2, "headers");
	luaL_setmetatable(L, RESPONSE_MT);
}

/* One request, on the run's reused handle: response. */
static int perform(lua_State *L, const char *method, int url, int opts)
{
	Http *h = http_state(L);
	Request *q = request_read(L, method, url, opts);
	host_outside(L, "http");
	q->easy = h->easy;
	request_setup(q, h->share);
	q->rc = lib.easy_perform(q->easy);
	response_push(L, q);
	request_free(q);
	return 1;
}

static int method_call(lua_State *L, const char *method)
{
	luaL_checkstring(L, 1);
	if (!lua_isnoneornil(L, 2))
		luaL_checktype(L, 2, LUA_TTABLE);
	lua_settop(L, 2);
	return perform(L, method, 1, lua_istable(L, 2) ? 2 : 0);
}

static int http_get(lua_State *L) { return method_call(L, "GET"); }
static int http_post(lua_State *L) { return method_call(L, "POST"); }
static int http_put(lua_State *L) { return method_call(L, "PUT"); }
static int http_delete(lua_State *L) { return method_call(L, "DELETE"); }

/* The method of a request table at idx, upper-cased ([-0, +1]). */
static const char *request_method(lua_State *L, int idx)
{
	luaL_Buffer b;
	const char *m = lua_getfield(L, idx, "method") == LUA_TNIL ? "GET" : luaL_checkstring(L, -1);
	luaL_buffinit(L, &b);
	for (; *m; m++)
		luaL_addchar(&b, (char)toupper((unsigned char)*m));
	luaL_pushresult(&b);
	lua_remove(L, -2);
	return lua_tostring(L, -1);
}

/* http.request{method=, url=, ...} -> response */
static int http_request(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	const char *method = request_method(L, 1);
	if (lua_getfield(L, 1, "url") != LUA_TSTRING)
		return luaL_error(L, "http.request: url is missing");
	return perform(L, method, lua_gettop(L), 1);
}

/* http.all{url_or_request, ...} -> responses in the same order, fetched in parallel. */
static int http_all(lua_State *L)
{
	Http *h;
	CURLM *multi;
	int n, first, running = 0;
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	h = http_state(L);
	n = (int)lua_rawlen(L, 1);
	lua_createtable(L, n, 0);   /* the requests, kept alive here */
	first = lua_gettop(L);
	for (int i = 1; i <= n; i++) {
		Request *q;
		int item;
		lua_rawgeti(L, 1, i);
		item = lua_gettop(L);
		if (lua_type(L, item) == LUA_TSTRING) {
			q = request_read(L, "GET", item, 0);
		} else if (lua_type(L, item) == LUA_TTABLE) {
			const char *method = request_method(L, item);
			if (lua_getfield(L, item, "url") != LUA_TSTRING)
				return luaL_error(L, "http.all: item %d has no url", i);
			q = request_read(L, method, lua_gettop(L), item);
		} else {
			return luaL_error(L, "http.all: item %d is a %s, not a URL or a request", i, luaL_typename(L, item));
		}
		if (!(q->easy = lib.easy_init()))
			return luaL_error(L, "http.all: cannot start libcurl");
		q->owned = 1;
		request_setup(q, h->share);
		/* Keep the request and the strings it points to: all of this item's stack. */
		lua_createtable(L, lua_gettop(L) - item + 1, 0);
		for (int k = item; k < lua_gettop(L); k++) {
			lua_pushvalue(L, k);
			lua_rawseti(L, -2, k - item + 1);
		}
		lua_rawseti(L, first, i);
		lua_settop(L, item - 1);
	}
	host_outside(L, "http.all");
	multi = lib.multi_init();
	if (!multi)
		return luaL_error(L, "http.all: cannot start libcurl");
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(L, first, i);
		lua_rawgeti(L, -1, (lua_Integer)lua_rawlen(L, -1));
		Request *q = lua_touserdata(L, -1);
		lib.easy_setopt(q->easy, CURLOPT_PRIVATE, q);
		lib.multi_add_handle(multi, q->easy);
		lua_pop(L, 2);
	}
	do {
		CURLMsg *msg;
		int left;
		lib.multi_perform(multi, &running);
		while ((msg = lib.multi_info_read(multi, &left)) != NULL) {
			Request *q;
			if (msg->msg != CURLMSG_DONE)
				continue;
			lib.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&q);
			q->rc = msg->data.result;
		}
		if (running)
			lib.multi_poll(multi, NULL, 0, 200, NULL);
	} while (running);
	lua_createtable(L, n, 0);
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(L, first, i);
		lua_rawgeti(L, -1, (lua_Integer)lua_rawlen(L, -1));
		Request *q = lua_touserdata(L, -1);
		lib.multi_remove_handle(multi, q->easy);
		lua_pop(L, 2);
	}
	lib.multi_cleanup(multi);
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(L, first, i);
		lua_rawgeti(L, -1, (lua_Integer)lua_rawlen(L, -1));
		Request *q = lua_touserdata(L, -1);
		lua_pop(L, 2);
		response_push(L, q);   /* a failure raises; __gc frees the rest */
		lua_rawseti(L, -2, i);
		request_free(q);
	}
	return 1;
}

static const luaL_Reg http_funcs[] = {
	{ "get", http_get },
	{ "post", http_post },
	{ "put", http_put },
	{ "delete", http_delete },
	{ "request", http_request },
	{ "all", http_all },
	{ NULL, NULL },
};

/* The module; libcurl starts on the first request, not here. */
int luaopen_http(lua_State *L)
{
	if (luaL_newmetatable(L, REQUEST_MT)) {
		lua_pushcfunction(L, request_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
	if (luaL_newmetatable(L, RESPONSE_MT)) {
		lua_createtable(L, 0, 2);
		lua_pushcfunction(L, response_json);
		lua_setfield(L, -2, "json");
		lua_pushcfunction(L, response_ok);
		lua_setfield(L, -2, "ok");
		lua_setfield(L, -2, "__index");
	}
	lua_pop(L, 1);
	luaL_newlib(L, http_funcs);
	return 1;
}
