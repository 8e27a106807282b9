/* test_verdicts.c: the table of refused certificates of a server with
 * refuse_in_calls (src/rpc/common.c), asked on every call.
 *
 * A call on a connection already found not refused is answered from a hint
 * kept by the address of the connection's PEM string (gRPC keeps one per
 * connection), without hashing. The address alone never answers: one
 * buffer here plays a connection's PEM string and then, at the same address
 * and with the same length, the next connection's, as happens when freed
 * memory is reused; and a certificate refused later (by another
 * connection's handshake) is refused on the connections already open. The
 * end-to-end path through gRPC is in test_rpc (refuse_in_calls).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_internal.h"

/* Two certificates' PEM texts of the same length, one character apart
 * (the table keys on the text gRPC gives; it never parses it). */
#define PEM_HEAD "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUX"
#define PEM_TAIL "2fQ==\n-----END CERTIFICATE-----\n"
static const char X[] = PEM_HEAD "a" PEM_TAIL;
static const char Y[] = PEM_HEAD "b" PEM_TAIL;

static void test_hints_never_answer_for_another_certificate(void **state)
{
    (void)state;
    asps_rpc__vpool *p = asps_rpc__vpool_new(1, 16);
    assert_non_null(p);
    char conn[sizeof X]; /* a connection's PEM string, at one address */
    char msg[300] = "";

    /* an empty table answers at once */
    memcpy(conn, X, sizeof X);
    assert_int_equal(asps_rpc__vpool_verdict(p, conn, msg, sizeof msg), 0);

    asps_rpc__vpool_put_verdict(p, Y, GRPC_STATUS_UNAUTHENTICATED, "evidence refused: y");
    for (int i = 0; i < 2; i++) /* looked up, then from the connection's hint */
        assert_int_equal(asps_rpc__vpool_verdict(p, conn, msg, sizeof msg), 0);

    /* the next connection, same address, same length: Y, refused */
    memcpy(conn, Y, sizeof Y);
    assert_int_equal(asps_rpc__vpool_verdict(p, conn, msg, sizeof msg), GRPC_STATUS_UNAUTHENTICATED);
    assert_string_equal(msg, "evidence refused: y");

    memcpy(conn, X, sizeof X);
    assert_int_equal(asps_rpc__vpool_verdict(p, conn, msg, sizeof msg), 0);
    assert_int_equal(asps_rpc__vpool_verdict(p, conn, msg, sizeof msg), 0);

    /* X refused later by another connection's handshake (collateral gone):
     * the open connection's calls are refused too, hint or not */
    asps_rpc__vpool_put_verdict(p, X, GRPC_STATUS_UNAVAILABLE, "evidence not checked");
    assert_int_equal(asps_rpc__vpool_verdict(p, conn, msg, sizeof msg), GRPC_STATUS_UNAVAILABLE);
    assert_string_equal(msg, "evidence not checked");

    /* and served again once it verifies */
    asps_rpc__vpool_put_verdict(p, X, 0, NULL);
    assert_int_equal(asps_rpc__vpool_verdict(p, conn, msg, sizeof msg), 0);
    memcpy(conn, Y, sizeof Y);
    assert_int_equal(asps_rpc__vpool_verdict(p, conn, msg, sizeof msg), GRPC_STATUS_UNAUTHENTICATED);
    asps_rpc__vpool_unref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hints_never_answer_for_another_certificate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
