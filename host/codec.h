/* codec.h: Lua values <-> canonical JSON, the form every value is recorded in. */
#ifndef UNDERSTUDY_CODEC_H
#define UNDERSTUDY_CODEC_H

#include <lua.h>
#include "buf.h"
#include "secret.h"

/* json.null is a light userdata holding NULL. */
#define codec_isnull(L, i) (lua_islightuserdata(L, (i)) && lua_touserdata(L, (i)) == NULL)

/*
 * Append the value at idx to b as canonical JSON: object keys sorted by
 * byte, no spaces, integral numbers as integers (3.0 -> 3), the shortest
 * decimal that reads back as the same double otherwise.
 * Returns 0, or -1 when JSON cannot hold the value; then *why says what
 * and where (".a[2]: function"), and b holds garbage past its old length.
 */
int codec_encode(lua_State *L, int idx, Buf *b, Buf *why);

/* How codec_encode_as writes a value, and what it tells back. */
/* The largest value the record keeps, as JSON: a larger one is refused, before it takes the memory. */
#define CODEC_VALUE_MAX (16u << 20)
#define CODEC_TOO_LARGE "value too large: the record keeps values up to 16 MiB of JSON"

typedef struct CodecOptions {
	const Secrets *secrets;    /* replaced by "<secret:NAME>" (whole strings, numbers, inside strings), or NULL */
	int exact;                 /* integral floats keep a ".0" (and -0.0 its sign): decoded, they are floats again */
	int hidden;                /* out: how many secrets were replaced */
	int lossy;                 /* out: a float was written as an integer: only exact would give it back */
} CodecOptions;

/* codec_encode, as the options say (NULL: canonical). */
int codec_encode_as(lua_State *L, int idx, Buf *b, Buf *why, CodecOptions *o);

/* Length of the valid UTF-8 character at s (n bytes left), or 0. */
size_t codec_utf8_len(const unsigned char *s, size_t n);

/*
 * Decode the JSON text s[0..n) and push the value ([-0, +1]).
 * Returns 0, or -1 with a message "line L column C: what" in err and
 * nothing pushed. Empty arrays come back with the json.array metatable
 * so they encode as [] again.
 */
int codec_decode(lua_State *L, const char *s, size_t n, Buf *err);

/* The same, refusing an object with a key twice (a file a person wrote: one answer each). */
int codec_decode_unique(lua_State *L, const char *s, size_t n, Buf *err);

/* Push the metatable that marks an empty table as a JSON array ([-0, +1]). */
void codec_push_array_mt(lua_State *L);

/* Is the table at idx an empty one marked as a JSON array ([] decoded)? */
int codec_is_array(lua_State *L, int idx);

#endif
