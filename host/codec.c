/* codec.c: canonical JSON encoding of Lua values (ours) and decoding (jansson). */
#include "codec.h"

#include <jansson.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 200
#define ARRAY_MT "understudy.json.array"

typedef struct Enc {
	lua_State *L;
	Buf *b;
	Buf *why;
	const void *path[MAX_DEPTH];   /* tables on the way down: cycles */
	int depth;
	char where[256];               /* ".a[2].b" for messages: always valid UTF-8 */
	size_t wlen;
	const Secrets *secrets;        /* values to hide, or NULL */
	int hidden;                    /* how many were */
	int exact;                     /* integral floats as 1.0 */
	int lossy;                     /* an integral float was written as an integer */
} Enc;

static int enc_value(Enc *e, int idx);

/* Record why the value cannot be encoded, with the path to it. */
static int enc_fail(Enc *e, const char *what)
{
	buf_reset(e->why);
	buf_adds(e->why, what);
	if (e->wlen)
		buf_addf(e->why, " at %s", e->where);
	return -1;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
size_t codec_utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min, cp;
	if (c < 0x80)
		return 1;
	else if (c >= 0xC2 && c <= 0xDF)
		len = 2, min = 0x80, cp = c & 0x1F;
	else if ((c & 0xF0) == 0xE0)
		len = 3, min = 0x800, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* Append s as a JSON string, as it is; -1 when it is not valid UTF-8. */
static int enc_text(Enc *e, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;
	if (n > CODEC_VALUE_MAX || e->b->len > CODEC_VALUE_MAX - n)
		return enc_fail(e, CODEC_TOO_LARGE);
	buf_addc(e->b, '"');
	while (i < n) {
		unsigned char c = u[i];
		const char *esc = NULL;
		char ubuf[7];
		if (c >= 0x80) {
			size_t k = codec_utf8_len(u + i, n - i);
			if (k == 0)
				return enc_fail(e, "string is not valid UTF-8");
			i += k;
			continue;
		}
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (c < 0x20) {
				memcpy(ubuf, "\\u00", 4);
				ubuf[4] = hex[c >> 4];
				ubuf[5] = hex[c & 15];
				ubuf[6] = '\0';
				esc = ubuf;
			}
		}
		if (esc) {
			buf_add(e->b, s + run, i - run);
			buf_adds(e->b, esc);
			run = i + 1;
		}
		i++;
	}
	buf_add(e->b, s + run, n - run);
	buf_addc(e->b, '"');
	return 0;
}

/* Append "<secret:NAME>". */
static void enc_hidden(Enc *e, const char *name)
{
	Buf tmp = { 0 };
	buf_addf(&tmp, "<secret:%s>", name);
	enc_text(e, buf_str(&tmp), tmp.len);
	buf_free(&tmp);
	e->hidden++;
}

/* Append s as a JSON string, with the secrets in it hidden; -1 when it is not valid UTF-8. */
static int enc_string(Enc *e, const char *s, size_t n)
{
	const char *name;
	Buf hid = { 0 };
	int rc, hidden;
	if (!e->secrets || !e->secrets->n)
		return enc_text(e, s, n);
	if ((name = secrets_match(e->secrets, s, n))) {
		enc_hidden(e, name);
		return 0;
	}
	hidden = secrets_hide(e->secrets, s, n, &hid);
	if (!hidden) {
		buf_free(&hid);
		return enc_text(e, s, n);
	}
	e->hidden += hidden;
	rc = enc_text(e, buf_str(&hid), hid.len);
	buf_free(&hid);
	return rc;
}

/* Append the number text t; a secret number is hidden. */
static void enc_number_text(Enc *e, const char *t)
{
	const char *name = e->secrets ? secrets_match(e->secrets, t, strlen(t)) : NULL;
	if (name)
		enc_hidden(e, name);
	else
		buf_adds(e->b, t);
}

/* Append a float: integral values as integers, else the shortest round trip. */
static int enc_float(Enc *e, double d)
{
	char tmp[40];
	if (isnan(d) || isinf(d))
		return enc_fail(e, isnan(d) ? "number is NaN" : "number is infinite");
	if (d == floor(d) && fabs(d) < 9007199254740992.0) {
		snprintf(tmp, sizeof tmp, "%s%lld", signbit(d) && d == 0 ? "-" : "", (long long)d);
	} else {
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(tmp, sizeof tmp, "%.*g", prec, d);
			if (strtod(tmp, NULL) == d)
				break;
		}
	}
	if (!strpbrk(tmp, ".e")) {   /* it reads back as an integer */
		if (e->exact)
			strcat(tmp, ".0");
		else
			e->lossy = 1;
		if (!e->exact && tmp[0] == '-' && strcmp(tmp, "-0") == 0)
			strcpy(tmp, "0");
	}
	enc_number_text(e, tmp);
	return 0;
}

/*
 * Append prefix and text[0..n) to the path shown in messages, as valid
 * UTF-8: a byte that is not part of a character, or a control byte, is
 * written \xNN, and the path is cut only between characters. Returns the
 * old length to restore.
 */
static size_t enc_push_where(Enc *e, const char *prefix, const char *text, size_t n)
{
	size_t old = e->wlen, room = sizeof e->where - 1;
	const unsigned char *u;
	size_t p = strlen(prefix);
	Buf hid = { 0 };
	if (e->secrets && e->secrets->n) {   /* a key that is a secret is hidden before it is cut */
		const char *name = secrets_match(e->secrets, text, n);
		if (name)
			buf_addf(&hid, "<secret:%s>", name);
		else
			secrets_hide(e->secrets, text, n, &hid);
		text = buf_str(&hid);
		n = hid.len;
	}
	u = (const unsigned char *)text;
	if (e->wlen + p <= room) {
		memcpy(e->where + e->wlen, prefix, p);
		e->wlen += p;
	}
	for (size_t i = 0; i < n;) {
		size_t k = codec_utf8_len(u + i, n - i);
		char esc[5];
		const char *piece = text + i;
		size_t len = k;
		if (k == 0 || u[i] < 0x20 || u[i] == 0x7f) {
			snprintf(esc, sizeof esc, "\\x%02x", u[i]);
			piece = esc;
			len = 4;
			k = 1;
		}
		if (e->wlen + len > room)
			break;
		memcpy(e->where + e->wlen, piece, len);
		e->wlen += len;
		i += k;
	}
	e->where[e->wlen] = '\0';
	buf_free(&hid);
	return old;
}

static void enc_pop_where(Enc *e, size_t old)
{
	e->wlen = old;
	e->where[old] = '\0';
}

typedef struct Key {
	const char *s;
	size_t n;
} Key;

static int key_cmp(const void *a, const void *b)
{
	const Key *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->s, y->s, n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

int codec_is_array(lua_State *L, int idx)
{
	int marked = 0;
	if (lua_getmetatable(L, idx)) {
		if (lua_getfield(L, -1, "__jsontype") == LUA_TSTRING)
			marked = strcmp(lua_tostring(L, -1), "array") == 0;
		lua_pop(L, 2);
	}
	return marked;
}

/* Append the table at idx (absolute) as an array or an object. */
static int enc_table(Enc *e, int idx)
{
	lua_State *L = e->L;
	const void *p = lua_topointer(L, idx);
	lua_Integer nint = 0, maxint = 0;
	size_t nstr = 0, total = 0;
	int rc = 0;

	for (int i = 0; i < e->depth; i++)
		if (e->path[i] == p)
			return enc_fail(e, "table contains itself (cycle)");
	if (e->depth == MAX_DEPTH)
		return enc_fail(e, "tables nested too deep");
	if (!lua_checkstack(L, 8))
		return enc_fail(e, "out of stack space");

	lua_pushnil(L);
	while (lua_next(L, idx)) {
		total++;
		if (lua_type(L, -2) == LUA_TSTRING)
			nstr++;
		else if (lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1) {
			nint++;
			if (lua_tointeger(L, -2) > maxint)
				maxint = lua_tointeger(L, -2);
		} else {
			lua_pop(L, 2);
			return enc_fail(e, "table key is not a string or a positive integer");
		}
		lua_pop(L, 1);
	}
	if (nint && nstr)
		return enc_fail(e, "table mixes array items and named fields");
	if (nint && maxint != nint)
		return enc_fail(e, "array has holes");

	e->path[e->depth++] = p;
	if (total == 0) {
		buf_adds(e->b, codec_is_array(L, idx) ? "[]" : "{}");
	} else if (nint) {
		buf_addc(e->b, '[');
		for (lua_Integer i = 1; i <= nint && rc == 0; i++) {
			char index[32];
			int len = snprintf(index, sizeof index, "%lld]", (long long)i);
			size_t old = enc_push_where(e, "[", index, (size_t)len);
			if (i > 1)
				buf_addc(e->b, ',');
			lua_rawgeti(L, idx, i);
			rc = enc_value(e, lua_gettop(L));
			lua_pop(L, 1);
			enc_pop_where(e, old);
		}
		buf_addc(e->b, ']');
	} else {
		Key small[16];
		Key *keys = total <= 16 ? small : malloc(total * sizeof *keys);
		size_t k = 0;
		if (!keys) {
			e->depth--;
			return enc_fail(e, "out of memory");
		}
		/* Keys stay alive: the table holds them and is not changed meanwhile. */
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			keys[k].s = lua_tolstring(L, -2, &keys[k].n);
			k++;
			lua_pop(L, 1);
		}
		qsort(keys, k, sizeof *keys, key_cmp);
		buf_addc(e->b, '{');
		for (size_t i = 0; i < k && rc == 0; i++) {
			size_t old = enc_push_where(e, ".", keys[i].s, keys[i].n);
			if (i > 0)
				buf_addc(e->b, ',');
			/* A key holding NUL could be written but never read back (jansson refuses it). */
			if (memchr(keys[i].s, '\0', keys[i].n))
				rc = enc_fail(e, "table key holds a NUL byte");
			else
				rc = enc_string(e, keys[i].s, keys[i].n);
			buf_addc(e->b, ':');
			lua_pushlstring(L, keys[i].s, keys[i].n);
			lua_rawget(L, idx);
			if (rc == 0)
				rc = enc_value(e, lua_gettop(L));
			lua_pop(L, 1);
			enc_pop_where(e, old);
		}
		buf_addc(e->b, '}');
		if (keys != small)
			free(keys);
	}
	e->depth--;
	return rc;
}

static int enc_value(Enc *e, int idx)
{
	lua_State *L = e->L;
	if (e->b->len > CODEC_VALUE_MAX)   /* many small items add up too */
		return enc_fail(e, CODEC_TOO_LARGE);
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		buf_adds(e->b, "null");
		return 0;
	case LUA_TBOOLEAN:
		buf_adds(e->b, lua_toboolean(L, idx) ? "true" : "false");
		return 0;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx)) {
			char tmp[24];
			enc_number_text(e, buf_int((long long)lua_tointeger(L, idx), tmp));
			return 0;
		}
		return enc_float(e, lua_tonumber(L, idx));
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		return enc_string(e, s, n);
	}
	case LUA_TTABLE:
		return enc_table(e, idx);
	case LUA_TLIGHTUSERDATA:
		if (codec_isnull(L, idx)) {
			buf_adds(e->b, "null");
			return 0;
		}
		/* fall through */
	default: {
		char what[64];
		snprintf(what, sizeof what, "%s value", luaL_typename(L, idx));
		return enc_fail(e, what);
	}
	}
}

int codec_encode_as(lua_State *L, int idx, Buf *b, Buf *why, CodecOptions *o)
{
	Enc e;
	int rc;
	e.L = L;
	e.b = b;
	e.why = why;
	e.depth = 0;
	e.wlen = 0;
	e.where[0] = '\0';
	e.secrets = o ? o->secrets : NULL;
	e.exact = o ? o->exact : 0;
	e.hidden = 0;
	e.lossy = 0;
	rc = enc_value(&e, lua_absindex(L, idx));
	if (o) {
		o->hidden = e.hidden;
		o->lossy = e.lossy;
	}
	return rc;
}

int codec_encode(lua_State *L, int idx, Buf *b, Buf *why)
{
	return codec_encode_as(L, idx, b, why, NULL);
}

void codec_push_array_mt(lua_State *L)
{
	if (luaL_newmetatable(L, ARRAY_MT)) {
		lua_pushliteral(L, "array");
		lua_setfield(L, -2, "__jsontype");
	}
}

/* Push the Lua form of a jansson value ([-0, +1]). */
static int dec_push(lua_State *L, json_t *j)
{
	if (!lua_checkstack(L, 4))
		return -1;
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *v;
		lua_createtable(L, 0, (int)json_object_size(j));
		json_object_foreach(j, k, v) {
			if (dec_push(L, v))
				return -1;
			lua_setfield(L, -2, k);
		}
		return 0;
	}
	case JSON_ARRAY: {
		size_t i, n = json_array_size(j);
		lua_createtable(L, (int)n, 0);
		for (i = 0; i < n; i++) {
			if (dec_push(L, json_array_get(j, i)))
				return -1;
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		if (n == 0) {
			codec_push_array_mt(L);
			lua_setmetatable(L, -2);
		}
		return 0;
	}
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(j), json_string_length(j));
		return 0;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(j));
		return 0;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(j));
		return 0;
	case JSON_TRUE:
		lua_pushboolean(L, 1);
		return 0;
	case JSON_FALSE:
		lua_pushboolean(L, 0);
		return 0;
	case JSON_NULL:
	default:
		lua_pushlightuserdata(L, NULL);
		return 0;
	}
}

/* Decode with jansson's flags. */
static int decode(lua_State *L, const char *s, size_t n, size_t flags, Buf *err)
{
	json_error_t je;
	json_t *j = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL | flags, &je);
	int top = lua_gettop(L);
	if (!j) {
		buf_reset(err);
		buf_addf(err, "line %d column %d: %s", je.line, je.column, je.text);
		return -1;
	}
	if (dec_push(L, j)) {
		lua_settop(L, top);
		json_decref(j);
		buf_reset(err);
		buf_adds(err, "nested too deep");
		return -1;
	}
	json_decref(j);
	return 0;
}

int codec_decode(lua_State *L, const char *s, size_t n, Buf *err)
{
	return decode(L, s, n, 0, err);
}

int codec_decode_unique(lua_State *L, const char *s, size_t n, Buf *err)
{
	return decode(L, s, n, JSON_REJECT_DUPLICATES, err);
}
