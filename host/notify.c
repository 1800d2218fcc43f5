/* notify.c: tells someone a manual step is waiting: a JSON POST with libcurl. */
#include "host.h"

#include <curl/curl.h>

#define NOTIFY_CONNECT_TIMEOUT_S 5L
#define NOTIFY_TIMEOUT_S 10L

/* Swallow the reply: only the status matters. */
static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

int notify_post(const char *url, const char *json, Buf *err)
{
	static int initialised;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	CURLcode rc;
	long status = 0;
	CURL *c;

	buf_reset(err);
	if (!initialised) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			buf_adds(err, "cannot initialise libcurl");
			return -1;
		}
		initialised = 1;
	}
	if (!(c = curl_easy_init())) {
		buf_adds(err, "cannot initialise libcurl");
		return -1;
	}
	headers = curl_slist_append(headers, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, NOTIFY_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, NOTIFY_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "understudy");
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		buf_adds(err, errbuf[0] ? errbuf : curl_easy_strerror(rc));
	else if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status >= 400)
		buf_addf(err, "the server answered HTTP %ld", status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	return err->len ? -1 : 0;
}
