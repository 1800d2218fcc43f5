/* sha256.h: SHA-256 and HMAC-SHA-256, for script hashes and keyed secret hashes. */
#ifndef UNDERSTUDY_SHA256_H
#define UNDERSTUDY_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct Sha256 {
	uint32_t h[8];
	uint64_t len;          /* bytes hashed so far */
	unsigned char block[64];
	size_t fill;
} Sha256;

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t n);
void sha256_final(Sha256 *s, unsigned char out[32]);

/* Lower-case hex of SHA-256(data) into hex[65]. */
void sha256_hex(const void *data, size_t n, char hex[65]);

/* Lower-case hex of HMAC-SHA-256(key, data) into hex[65]. */
void sha256_hmac_hex(const void *key, size_t keylen, const void *data, size_t n, char hex[65]);

#endif
