/*
 * Listen addresses of the /metrics endpoint: a port alone binds loopback (nothing is exposed
 * by default), explicit hosts and IPv6 brackets are honoured, and bad text is refused with
 * a message that names it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "collector/export/http_metrics.h"

static void expect_ipv4(const char *listen, const char *host, unsigned port)
{
	struct sockaddr_storage address;
	socklen_t length = 0;
	char err[256] = "";
	assert_int_equal(agp_http_parse_listen(listen, &address, &length, err, sizeof(err)), 0);
	assert_int_equal(address.ss_family, AF_INET);
	const struct sockaddr_in *in = (const struct sockaddr_in *)&address;
	char text[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
	assert_string_equal(text, host);
	assert_int_equal(ntohs(in->sin_port), port);
	assert_int_equal(length, sizeof(struct sockaddr_in));
}

static void test_port_alone_is_loopback(void **state)
{
	(void)state;
	expect_ipv4("9464", "127.0.0.1", 9464);
	expect_ipv4("0", "127.0.0.1", 0);
}

static void test_explicit_hosts(void **state)
{
	(void)state;
	expect_ipv4("0.0.0.0:9464", "0.0.0.0", 9464);
	expect_ipv4("*:80", "0.0.0.0", 80);
	expect_ipv4("10.1.2.3:65535", "10.1.2.3", 65535);
	struct sockaddr_storage address;
	socklen_t length = 0;
	char err[256];
	assert_int_equal(agp_http_parse_listen("[::1]:9464", &address, &length, err, sizeof(err)),
	                 0);
	assert_int_equal(address.ss_family, AF_INET6);
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address;
	assert_int_equal(ntohs(in6->sin6_port), 9464);
	assert_true(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
}

static void test_bad_addresses(void **state)
{
	(void)state;
	const char *bad[] = {"",
	                     "http",
	                     "65536",
	                     "-1",
	                     "127.0.0.1:",
	                     ":9464",
	                     "[::1]9464",
	                     "[::1",
	                     "127.0.0.1:12x",
	                     "no.such.host.invalid:9464"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sockaddr_storage address;
		socklen_t length = 1234;
		char err[256] = "";
		assert_int_equal(agp_http_parse_listen(bad[i], &address, &length, err, sizeof(err)),
		                 -EINVAL);
		assert_int_equal(length, 1234); /* untouched */
		assert_non_null(strstr(err, bad[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_port_alone_is_loopback),
	    cmocka_unit_test(test_explicit_hosts),
	    cmocka_unit_test(test_bad_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
