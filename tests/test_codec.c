/* test_codec.c: unit tests of the JSON value codec and SHA-256; prints "ok"/"FAIL" lines. */
#include "codec.h"
#include "sha256.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

static int failures;

static void check(int ok, const char *name, const char *got, const char *want)
{
	if (ok) {
		printf("ok %s\n", name);
	} else {
		printf("FAIL %s\n  got:  %s\n  want: %s\n", name, got, want);
		failures++;
	}
}

/* Evaluate a Lua expression and push its value. */
static void eval(lua_State *L, const char *expr)
{
	char chunk[1024];
	snprintf(chunk, sizeof chunk, "return %s", expr);
	if (luaL_dostring(L, chunk) != LUA_OK) {
		printf("FAIL cannot evaluate %s: %s\n", expr, lua_tostring(L, -1));
		failures++;
		lua_pop(L, 1);
		lua_pushnil(L);
	}
}

/*
 * Encode the value of expr: with refused 0 it must give want exactly,
 * with refused 1 it must be refused with a reason containing want.
 */
static void encode_case(lua_State *L, const char *expr, const char *want, int refused)
{
	Buf b = { 0 }, why = { 0 };
	char name[256];
	eval(L, expr);
	int rc = codec_encode(L, -1, &b, &why);
	int ok = refused ? rc == -1 && strstr(buf_str(&why), want) != NULL
	                 : rc == 0 && strcmp(buf_str(&b), want) == 0;
	snprintf(name, sizeof name, "%s %s", refused ? "refuse" : "encode", expr);
	check(ok, name, rc ? buf_str(&why) : buf_str(&b), want);
	lua_pop(L, 1);
	buf_free(&b);
	buf_free(&why);
}

#define encodes(L, expr, want) encode_case(L, expr, want, 0)
#define refuses(L, expr, want) encode_case(L, expr, want, 1)

/* decode(text) then encode gives want (the canonical form). */
static void round_trip(lua_State *L, const char *text, const char *want)
{
	Buf b = { 0 }, why = { 0 };
	char name[256];
	int rc = codec_decode(L, text, strlen(text), &why);
	if (rc == 0) {
		rc = codec_encode(L, -1, &b, &why);
		lua_pop(L, 1);
	}
	snprintf(name, sizeof name, "round trip %s", text);
	check(rc == 0 && strcmp(buf_str(&b), want) == 0, name, rc ? buf_str(&why) : buf_str(&b), want);
	buf_free(&b);
	buf_free(&why);
}

/* decode(text) fails with a message containing want. */
static void bad_json(lua_State *L, const char *text, const char *want)
{
	Buf why = { 0 };
	char name[256];
	int top = lua_gettop(L);
	int rc = codec_decode(L, text, strlen(text), &why);
	snprintf(name, sizeof name, "bad json %s", text);
	check(rc == -1 && lua_gettop(L) == top && strstr(buf_str(&why), want), name, buf_str(&why), want);
	if (rc == 0)
		lua_settop(L, top);
	buf_free(&why);
}

/*
 * Encode expr (exactly: floats stay floats), check the text against want
 * (unless NULL), decode it, and compare the two values with the Lua
 * function cmp.
 */
static void comes_back(lua_State *L, const char *label, const char *expr, int exact, const char *want, const char *cmp)
{
	Buf b = { 0 }, why = { 0 };
	char name[256];
	CodecOptions o = { NULL, exact, 0, 0 };
	int ok = 0;
	eval(L, expr);
	if (codec_encode_as(L, -1, &b, &why, &o) == 0 && (!want || strcmp(buf_str(&b), want) == 0) &&
	    codec_decode(L, b.data, b.len, &why) == 0) {
		lua_getglobal(L, cmp);
		lua_insert(L, -3);
		lua_call(L, 2, 1);
		ok = lua_toboolean(L, -1);
	}
	lua_pop(L, 1);
	snprintf(name, sizeof name, "%s %s", label, expr);
	check(ok, name, buf_str(&b), want ? want : "the same value back");
	buf_free(&b);
	buf_free(&why);
}

/* A Lua value survives encode then decode: compared by a Lua deep-equal. */
#define survives(L, expr) comes_back(L, "survives", expr, 0, NULL, "deep_equal")
/* Encoded exactly it is want, and decoding gives back floats where it had floats. */
#define exactly(L, expr, want) comes_back(L, "exactly", expr, 1, want, "same_types")

/* Fill set from NAME=VALUE pairs, up to a NULL. */
static void secrets_from(const char *const *pairs, Secrets *set)
{
	for (int i = 0; pairs[i]; i++) {
		const char *eq = strchr(pairs[i], '=');
		char step[64];
		snprintf(step, sizeof step, "%.*s", (int)(eq - pairs[i]), pairs[i]);
		secrets_add(set, step, eq + 1, strlen(eq + 1));
	}
}

/* Encode expr with the secrets given as NAME=VALUE pairs: want exactly, and how many were hidden. */
static void hides(lua_State *L, const char *expr, const char *const *secrets, const char *want, int want_hidden)
{
	Secrets set = { 0 };
	Buf b = { 0 }, why = { 0 };
	char name[256];
	int hidden = -1, rc;
	secrets_from(secrets, &set);
	eval(L, expr);
	CodecOptions o = { &set, 0, 0, 0 };
	rc = codec_encode_as(L, -1, &b, &why, &o);
	hidden = o.hidden;
	snprintf(name, sizeof name, "hide in %s", expr);
	check(rc == 0 && strcmp(buf_str(&b), want) == 0 && hidden == want_hidden, name, rc ? buf_str(&why) : buf_str(&b), want);
	lua_pop(L, 1);
	buf_free(&b);
	buf_free(&why);
	secrets_free(&set);
}

/* Refusing expr with the secrets given, the reason holds want and none of a secret's text. */
static void hidden_in_reason(lua_State *L, const char *expr, const char *const *secrets, const char *want)
{
	Secrets set = { 0 };
	Buf b = { 0 }, why = { 0 };
	char name[256];
	int rc;
	secrets_from(secrets, &set);
	eval(L, expr);
	CodecOptions o = { &set, 0, 0, 0 };
	rc = codec_encode_as(L, -1, &b, &why, &o);
	snprintf(name, sizeof name, "hide in the reason for %s", expr);
	check(rc != 0 && strstr(buf_str(&why), want) && !strstr(buf_str(&why), "kkkk"), name, buf_str(&why), want);
	lua_pop(L, 1);
	buf_free(&b);
	buf_free(&why);
	secrets_free(&set);
}

/* Every byte of the reason given for refusing expr is valid UTF-8, and it holds want. */
static void reason_is_text(lua_State *L, const char *expr, const char *want)
{
	Buf b = { 0 }, why = { 0 };
	char name[256];
	int ok = 0;
	eval(L, expr);
	if (codec_encode(L, -1, &b, &why) != 0) {
		const unsigned char *u = (const unsigned char *)buf_str(&why);
		size_t n = why.len, k;
		ok = strstr(buf_str(&why), want) != NULL;
		for (size_t i = 0; ok && i < n; i += k)
			ok = (k = codec_utf8_len(u + i, n - i)) != 0 && u[i] >= 0x20;
	}
	snprintf(name, sizeof name, "reason is text: %s", expr);
	check(ok, name, buf_str(&why), want);
	lua_pop(L, 1);
	buf_free(&b);
	buf_free(&why);
}

int main(void)
{
	lua_State *L = luaL_newstate();
	char hex[65];
	luaL_openlibs(L);
	(void)luaL_dostring(L,
		"function deep_equal(a, b)\n"
		"  if type(a) ~= type(b) then return false end\n"
		"  if type(a) ~= 'table' then return a == b end\n"
		"  for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end\n"
		"  for k in pairs(b) do if a[k] == nil then return false end end\n"
		"  return true\n"
		"end\n"
		"function same_types(a, b)\n"
		"  if type(a) == 'number' then return math.type(a) == math.type(b) and a == b and 1/a == 1/b end\n"
		"  if type(a) ~= 'table' then return a == b end\n"
		"  for k, v in pairs(a) do if not same_types(v, b[k]) then return false end end\n"
		"  return true\n"
		"end\n"
		"cyc = {}; cyc.self = cyc\n"
		"shared = {1}; dag = {a = shared, b = shared}\n");

	/* Canonical form. */
	encodes(L, "{b = 1, a = {2, 3}, c = {d = true}}", "{\"a\":[2,3],\"b\":1,\"c\":{\"d\":true}}");
	encodes(L, "3", "3");
	encodes(L, "3.0", "3");
	encodes(L, "-0.0", "0");
	encodes(L, "0.1", "0.1");
	encodes(L, "1/3", "0.3333333333333333");
	encodes(L, "1e300", "1e+300");
	encodes(L, "-2.5", "-2.5");
	encodes(L, "math.maxinteger", "9223372036854775807");
	encodes(L, "math.mininteger", "-9223372036854775808");
	encodes(L, "'a\"b\\\\c\\n\\t\\1\\127'", "\"a\\\"b\\\\c\\n\\t\\u0001\x7f\"");
	encodes(L, "'caf\\u{e9} \\u{1F600}'", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
	encodes(L, "nil", "null");
	encodes(L, "{}", "{}");
	encodes(L, "setmetatable({}, {__jsontype = 'array'})", "[]");
	encodes(L, "{['b'] = 1, ['a'] = 2, ['B'] = 3, ['ab'] = 4}", "{\"B\":3,\"a\":2,\"ab\":4,\"b\":1}");
	encodes(L, "dag", "{\"a\":[1],\"b\":[1]}");
	encodes(L, "{x = 3.0, y = {1.0, 2}}", "{\"x\":3,\"y\":[1,2]}");

	/* Exactly, for replay: integral floats stay floats, -0.0 keeps its sign. */
	exactly(L, "{1.0, -0.0, 3, 2^53, 1e300, 0.5, -7.0}", "[1.0,-0.0,3,9007199254740992.0,1e+300,0.5,-7.0]");
	CodecOptions lossy = { 0 };
	Buf lb = { 0 }, lw = { 0 };
	eval(L, "{a = 2.0}");
	codec_encode_as(L, -1, &lb, &lw, &lossy);
	check(lossy.lossy && strcmp(buf_str(&lb), "{\"a\":2}") == 0, "canonical 2.0 is said to be lossy", buf_str(&lb), "{\"a\":2}");
	eval(L, "{a = 2, b = 0.5}");
	buf_reset(&lb);
	codec_encode_as(L, -1, &lb, &lw, &lossy);
	check(!lossy.lossy, "canonical 2 and 0.5 are not lossy", buf_str(&lb), "not lossy");
	lua_pop(L, 2);
	buf_free(&lb);
	buf_free(&lw);

	/* What JSON cannot hold. */
	refuses(L, "cyc", "cycle");
	refuses(L, "0/0", "NaN");
	refuses(L, "math.huge", "infinite");
	refuses(L, "-math.huge", "infinite");
	refuses(L, "{a = {1, print}}", "function value at .a[2]");
	refuses(L, "{1, 2, x = 3}", "mixes");
	refuses(L, "{1, nil, 3}", "holes");
	refuses(L, "{[true] = 1}", "key");
	refuses(L, "{[1.5] = 1}", "key");
	refuses(L, "'\\xff'", "UTF-8");
	refuses(L, "'\\xc0\\xaf'", "UTF-8");          /* overlong */
	refuses(L, "'\\xed\\xa0\\x80'", "UTF-8");      /* surrogate */
	refuses(L, "'\\xf4\\x90\\x80\\x80'", "UTF-8"); /* past U+10FFFF */
	refuses(L, "'abc\\xe2\\x82'", "UTF-8");        /* cut short */
	refuses(L, "io.stdout", "userdata");
	refuses(L, "coroutine.create(print)", "thread");
	refuses(L, "{x = {['a\\0b'] = 1}}", "table key holds a NUL byte at .x.a\\x00b");

	/* The reason for a refusal is always text: keys that are not UTF-8 are escaped, long ones cut between characters. */
	reason_is_text(L, "{['\\xff\\n'] = print}", "string is not valid UTF-8 at .\\xff\\x0a");
	reason_is_text(L, "{[string.rep('\\u{e9}', 200)] = print}", "function value at .\xc3\xa9\xc3\xa9");
	reason_is_text(L, "{[string.rep('x', 253) .. '\\u{20ac}'] = {f = print}}", "function value at .xxx");

	/* Secrets: whole values, numbers, inside longer text, the longest first. */
	static const char *const token[] = { "token=tk-93f1", "pin=4242", "ab=ab", NULL };
	hides(L, "{t = 'tk-93f1', h = 'Bearer tk-93f1!', n = 4242, s = '4242'}", token,
	      "{\"h\":\"Bearer <secret:token>!\",\"n\":\"<secret:pin>\",\"s\":\"<secret:pin>\",\"t\":\"<secret:token>\"}", 4);
	hides(L, "{'ab', 'cab', 4243}", token, "[\"<secret:ab>\",\"cab\",4243]", 1);
	hides(L, "{['tk-93f1'] = 1}", token, "{\"<secret:token>\":1}", 1);
	static const char *const long_key[] = { "k=kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	                                        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	                                        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	                                        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", NULL };
	hidden_in_reason(L, "{[string.rep('k', 340)] = print}", long_key, "function value at .<secret:k>");

	/* Decoding and round trips. */
	round_trip(L, "{\"b\": [1, 2.0, 2.5], \"a\": null}", "{\"a\":null,\"b\":[1,2,2.5]}");
	round_trip(L, "[]", "[]");
	round_trip(L, "{}", "{}");
	round_trip(L, "\"\\u00e9\\n\"", "\"\xc3\xa9\\n\"");
	round_trip(L, "1e2", "100");
	round_trip(L, "  true ", "true");
	round_trip(L, "[[[]]]", "[[[]]]");
	bad_json(L, "[1,", "line 1");
	bad_json(L, "{\"a\" 1}", "column");
	bad_json(L, "", "line");
	bad_json(L, "nul", "line 1");

	survives(L, "{name = 'x', list = {1, 2, {3}}, flag = false, n = 0.25}");
	survives(L, "'line\\nbreak \\0 nul'");
	survives(L, "math.mininteger");
	survives(L, "{[''] = 1}");

	/* SHA-256 (FIPS 180-2 examples) and HMAC (RFC 4231 case 1). */
	sha256_hex("", 0, hex);
	check(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0,
	      "sha256 empty", hex, "e3b0...");
	sha256_hex("abc", 3, hex);
	check(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
	      "sha256 abc", hex, "ba78...");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256_hex(two, strlen(two), hex);
	check(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0,
	      "sha256 two blocks", hex, "248d...");
	unsigned char key[20];
	memset(key, 0x0b, sizeof key);
	sha256_hmac_hex(key, sizeof key, "Hi There", 8, hex);
	check(strcmp(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7") == 0,
	      "hmac-sha256 rfc4231", hex, "b034...");

	lua_close(L);
	return failures ? 1 : 0;
}
