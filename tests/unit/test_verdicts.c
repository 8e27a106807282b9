/* test_verdicts.c: the table of refused certificates of a server with
 * refuse_in_calls (src/rpc/common.c), asked on every call, and the table
 * that gives each connection its id (src/rpc/conns.c).
 *
 * A call on a connection already found not refused is answered from a hint
 * kept by the connection's id (server.c gives every call of a connection
 * the same id, never another connection's), without hashing. One buffer
 * here plays a connection's PEM string and then, at the same address and
 * with the same length, the next connection's (another id), as happens
 * when freed memory is reused: a hint kept by the address would answer for
 * the wrong certificate. A certificate refused later (by another
 * connection's handshake) is refused on the connections already open, and
 * calls without an id (0) are looked up by hash. The end-to-end path
 * through gRPC is in test_rpc (refuse_in_calls, connection ids).
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
    assert_int_equal(asps_rpc__vpool_verdict(p, conn, 1, msg, sizeof msg), 0);

    asps_rpc__vpool_put_verdict(p, Y, GRPC_STATUS_UNAUTHENTICATED, "evidence refused: y");
    for (int i = 0; i < 2; i++) /* looked up, then from the connection's hint */
        assert_int_equal(asps_rpc__vpool_verdict(p, conn, 1, msg, sizeof msg), 0);

    /* the next connection (id 2), same address, same length: Y, refused */
    memcpy(conn, Y, sizeof Y);
    assert_int_equal(asps_rpc__vpool_verdict(p, conn, 2, msg, sizeof msg), GRPC_STATUS_UNAUTHENTICATED);
    assert_string_equal(msg, "evidence refused: y");
    assert_int_equal(asps_rpc__vpool_verdict(p, conn, 2, msg, sizeof msg), GRPC_STATUS_UNAUTHENTICATED);

    memcpy(conn, X, sizeof X); /* and the one after it: X again */
    assert_int_equal(asps_rpc__vpool_verdict(p, conn, 3, msg, sizeof msg), 0);
    assert_int_equal(asps_rpc__vpool_verdict(p, conn, 3, msg, sizeof msg), 0);

    /* X refused later by another connection's handshake (collateral gone):
     * the open connections' calls are refused too, hint or not */
    asps_rpc__vpool_put_verdict(p, X, GRPC_STATUS_UNAVAILABLE, "evidence not checked");
    assert_int_equal(asps_rpc__vpool_verdict(p, conn, 3, msg, sizeof msg), GRPC_STATUS_UNAVAILABLE);
    assert_string_equal(msg, "evidence not checked");
    assert_int_equal(asps_rpc__vpool_verdict(p, X, 1, msg, sizeof msg), GRPC_STATUS_UNAVAILABLE);

    /* and served again once it verifies */
    asps_rpc__vpool_put_verdict(p, X, 0, NULL);
    assert_int_equal(asps_rpc__vpool_verdict(p, conn, 3, msg, sizeof msg), 0);
    memcpy(conn, Y, sizeof Y);
    assert_int_equal(asps_rpc__vpool_verdict(p, conn, 4, msg, sizeof msg), GRPC_STATUS_UNAUTHENTICATED);

    /* no id: by hash every time, whatever the address held before */
    for (int i = 0; i < 2; i++) {
        memcpy(conn, X, sizeof X);
        assert_int_equal(asps_rpc__vpool_verdict(p, conn, 0, msg, sizeof msg), 0);
        memcpy(conn, Y, sizeof Y);
        assert_int_equal(asps_rpc__vpool_verdict(p, conn, 0, msg, sizeof msg),
                         GRPC_STATUS_UNAUTHENTICATED);
    }
    asps_rpc__vpool_unref(p);
}

/* One refusal kept must not make every other certificate's handshake and
 * first call hash its whole text: a text whose fingerprint (its length and
 * its last 128 bytes, common.c pem_fp) no kept refusal shares is answered
 * without hashing; texts that share one (X and Y below: the same length
 * and tail, one character apart before it) are told apart by their SHA-256,
 * never by the fingerprint. */
#define BODY "MIIBszCCAVmgAwIBAgIUXMIIBszCCAVmgAwIBAgIUXMIIBszCCAVmgAwIBAgIUX\n" \
             "MIIBszCCAVmgAwIBAgIUXMIIBszCCAVmgAwIBAgIUXMIIBszCCAVmgAwIBAgIUX\n" \
             "MIIBszCCAVmgAwIBAgIUXMIIBszCCAVmgAwIBAgIUXMIIBszCCAVmgAwIBAgIUX\n"
static const char Z[] = PEM_HEAD "a" BODY "3gQ==\n-----END CERTIFICATE-----\n";

static void test_fingerprint_spares_hashing_and_never_decides(void **state)
{
    (void)state;
    asps_rpc__vpool *p = asps_rpc__vpool_new(1, 64);
    assert_non_null(p);
    char msg[300] = "";
    static const char X[] = PEM_HEAD "a" BODY PEM_TAIL, Y[] = PEM_HEAD "b" BODY PEM_TAIL;
    assert_true(sizeof X > 128 + sizeof PEM_HEAD); /* the difference is before the tail */
    asps_rpc__vpool_put_verdict(p, Y, GRPC_STATUS_UNAUTHENTICATED, "evidence refused: y");
    unsigned long h = asps_rpc__vpool_hashed(p);
    assert_int_equal(h, 1); /* a refusal is kept by its hash */

    /* Z: another tail. Its first call and its handshake's "verified" hash nothing */
    assert_int_equal(asps_rpc__vpool_verdict(p, Z, 10, msg, sizeof msg), 0);
    asps_rpc__vpool_put_verdict(p, Z, 0, NULL);
    assert_int_equal(asps_rpc__vpool_verdict(p, Z, 0, msg, sizeof msg), 0);
    assert_int_equal(asps_rpc__vpool_hashed(p), h);

    /* X shares Y's fingerprint: hashed, and not refused */
    assert_int_equal(asps_rpc__vpool_verdict(p, X, 11, msg, sizeof msg), 0);
    assert_int_equal(asps_rpc__vpool_hashed(p), h + 1);
    /* forgetting X (it verified) must not forget Y */
    asps_rpc__vpool_put_verdict(p, X, 0, NULL);
    assert_int_equal(asps_rpc__vpool_verdict(p, Y, 12, msg, sizeof msg), GRPC_STATUS_UNAUTHENTICATED);
    assert_string_equal(msg, "evidence refused: y");

    /* a full table of refusals with other tails: Z still costs no hashing,
     * and each of them is still found */
    char pem[32][sizeof Z + 8];
    for (int i = 0; i < 32; i++) {
        snprintf(pem[i], sizeof pem[i], "%s" BODY "Z%02dgQ==\n-----END CERTIFICATE-----\n", PEM_HEAD, i);
        asps_rpc__vpool_put_verdict(p, pem[i], GRPC_STATUS_UNAUTHENTICATED, "refused");
    }
    h = asps_rpc__vpool_hashed(p);
    for (int i = 0; i < 8; i++)
        assert_int_equal(asps_rpc__vpool_verdict(p, Z, 20 + (uint64_t)i, msg, sizeof msg), 0);
    assert_true(asps_rpc__vpool_hashed(p) - h <= 1); /* 1: a fingerprint met by chance */
    int found = 0;
    for (int i = 0; i < 32; i++)
        found += asps_rpc__vpool_verdict(p, pem[i], 0, msg, sizeof msg) == GRPC_STATUS_UNAUTHENTICATED;
    assert_true(found >= 24); /* a probe window may push some out: 8 places each */
    asps_rpc__vpool_unref(p);
}

/* ---- connection ids (conns.c) ----------------------------------------------------
 * Stand-ins for auth contexts: released objects are counted and must never
 * be released twice or while the table still answers for them. */
#define OBJS 8
static int released[OBJS];
static char objs[OBJS];

static void release_obj(void *o) { released[(char *)o - objs]++; }

static void test_connection_ids_pin_and_never_repeat(void **state)
{
    (void)state;
    memset(released, 0, sizeof released);
    assert_null(asps_rpc__conns_new(0, release_obj));
    asps_rpc__conns *t = asps_rpc__conns_new(3, release_obj);
    assert_non_null(t);
    assert_int_equal(asps_rpc__conns_find(t, &objs[0]), 0);
    assert_int_equal(asps_rpc__conns_add(t, NULL), 0);

    uint64_t a = asps_rpc__conns_add(t, &objs[0]);
    assert_true(a != 0);
    assert_int_equal(asps_rpc__conns_find(t, &objs[0]), a); /* the same object, the same id */
    /* a second reference to an object already in (two calls racing): the
     * same id, the extra reference released, the table's kept */
    assert_int_equal(asps_rpc__conns_add(t, &objs[0]), a);
    assert_int_equal(released[0], 1);
    uint64_t b = asps_rpc__conns_add(t, &objs[1]), c = asps_rpc__conns_add(t, &objs[2]);
    assert_true(b != a && c != a && c != b);
    assert_int_equal(released[1] + released[2], 0);

    /* full: the least recently used goes (used: 0, 1, 2, then 0 again:
     * objs[1]) */
    assert_int_equal(asps_rpc__conns_find(t, &objs[0]), a);
    uint64_t d = asps_rpc__conns_add(t, &objs[3]);
    assert_int_equal(released[1], 1); /* its reference released, once */
    assert_int_equal(asps_rpc__conns_find(t, &objs[1]), 0);
    assert_int_equal(asps_rpc__conns_find(t, &objs[0]), a);
    assert_int_equal(asps_rpc__conns_find(t, &objs[2]), c);
    assert_int_equal(asps_rpc__conns_find(t, &objs[3]), d);

    /* the evicted one comes back (the same connection calls again, or a new
     * one at the same address): a new id, never one given before */
    uint64_t e = asps_rpc__conns_add(t, &objs[1]);
    assert_true(e != a && e != b && e != c && e != d);
    assert_true(e > d && d > c); /* from one counter */
    assert_int_equal(released[1], 1);
    /* objs[0] was the least recent then (asked 0, 2, 3 in that order):
     * released (its second release: the first was the extra reference) */
    assert_int_equal(released[0], 2);
    assert_int_equal(asps_rpc__conns_find(t, &objs[0]), 0);

    /* ids are unique in the process: another table goes on counting */
    asps_rpc__conns *t2 = asps_rpc__conns_new(2, release_obj);
    uint64_t f = asps_rpc__conns_add(t2, &objs[4]);
    assert_true(f > e);
    asps_rpc__conns_free(t2);
    assert_int_equal(released[4], 1);

    /* clear releases every reference held, once; the table still works */
    assert_int_equal(asps_rpc__conns_clear(t), 3);
    int total = 0;
    for (int i = 0; i < OBJS; i++)
        total += released[i];
    assert_int_equal(released[1], 2);
    assert_int_equal(released[2], 1);
    assert_int_equal(released[3], 1);
    assert_int_equal(total, 2 + 2 + 1 + 1 + 1); /* every reference the table took, once */
    assert_int_equal(asps_rpc__conns_find(t, &objs[2]), 0);
    assert_true(asps_rpc__conns_add(t, &objs[2]) > f);
    asps_rpc__conns_free(t);
    assert_int_equal(released[2], 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hints_never_answer_for_another_certificate),
        cmocka_unit_test(test_fingerprint_spares_hashing_and_never_decides),
        cmocka_unit_test(test_connection_ids_pin_and_never_repeat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
