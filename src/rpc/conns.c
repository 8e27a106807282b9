/* conns.c: the server's connections as numbers (issue 17).
 *
 * A call finds its connection by its auth context. In gRPC core 1.51 a
 * server connection has exactly one grpc_auth_context, and every call on it
 * gets that same object (read in gRPC core's sources of that time, the
 * copies of these files at hand being from around 1.51:
 * security_handshaker.cc, OnPeerCheckedInner, puts the auth context its
 * check_peer made, once per handshake, into the connection's channel args;
 * server_auth_filter.cc, ServerAuthFilter::Create, takes it from there once
 * per channel stack, that is per connection, and MakeCallPromise gives each
 * call's grpc_server_security_context a new reference to that one object;
 * security_context.cc, grpc_call_auth_context, returns another reference to
 * the call's, never a copy). Pinned against the installed gRPC end to end:
 * test_rpc (a handler sees one id per connection, another for another
 * connection) and test_claims_conn (twenty calls on one connection hash
 * its certificate once). Were it ever otherwise, every call would get a
 * new id: slower (the index every time), never wrong.
 *
 * An address alone proves nothing: once a connection is gone its auth
 * context is freed and the same address may hold the next connection's.
 * So the table holds a reference to each auth context it has seen: while
 * it is in the table it cannot be freed, its address cannot be reused, and
 * a pointer found here IS that connection. Each entry gets an id from one
 * process-wide 64-bit counter (from 1, never repeated, whatever the server):
 * callers key their per-connection hints by it and need to compare nothing
 * else. The table is bounded (least recently used entry released when
 * full): a connection whose entry went gets a new id at its next call, and
 * its hints are then simply not found (found again the slow way).
 *
 * Memory: the table itself 56 bytes an entry (its pin, two bucket
 * pointers), allocated with the table; each pinned auth context keeps what
 * gRPC put in it, the peer's certificate as PEM among it (13.2 KB for a
 * simulated-platform RA-TLS certificate: LeakSanitizer's count of three
 * left unreleased), from its connection's close until its entry goes (CAP
 * newer connections have called) or the server is freed: about 13.5 MB
 * for ASPS_RPC_CONNECTION_IDS such connections. The server adds only
 * connections whose calls reach a handler, and only auth contexts of at
 * most 32 KB (server.c, pin_worthy): at most CAP x 32 KB whatever clients
 * send.
 */
#include "rpc_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct pin {
    void *obj;                 /* NULL: free */
    uint64_t id;
    struct pin *hnext;         /* bucket chain */
    struct pin *newer, *older; /* LRU list, most recent at the head */
};

struct asps_rpc__conns {
    pthread_mutex_t mu;
    void (*release)(void *obj);
    struct pin *pins; /* cap of them */
    size_t cap, used;
    struct pin **buckets; /* n_buckets, a power of 2 >= 2 * cap */
    size_t n_buckets;
    struct pin *head, *tail;
};

/* Ids are unique in the process, not per table: a service outliving one
 * server (or serving two) never sees an id twice. */
static _Atomic uint64_t last_id;

asps_rpc__conns *asps_rpc__conns_new(size_t cap, void (*release)(void *obj))
{
    if (cap == 0 || release == NULL)
        return NULL;
    asps_rpc__conns *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->n_buckets = 1;
    while (t->n_buckets < 2 * cap)
        t->n_buckets *= 2;
    t->pins = calloc(cap, sizeof *t->pins);
    t->buckets = calloc(t->n_buckets, sizeof *t->buckets);
    if (t->pins == NULL || t->buckets == NULL) {
        free(t->pins);
        free(t->buckets);
        free(t);
        return NULL;
    }
    t->cap = cap;
    t->release = release;
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

/* heap addresses share their low bits: mixed */
static struct pin **bucket(asps_rpc__conns *t, const void *obj)
{
    uint64_t a = (uint64_t)(uintptr_t)obj * 0x9e3779b97f4a7c15ull;
    return &t->buckets[(a >> 32) & (t->n_buckets - 1)];
}

static void lru_unlink(asps_rpc__conns *t, struct pin *p)
{
    if (p->newer)
        p->newer->older = p->older;
    else
        t->head = p->older;
    if (p->older)
        p->older->newer = p->newer;
    else
        t->tail = p->newer;
    p->newer = p->older = NULL;
}

static void lru_push(asps_rpc__conns *t, struct pin *p)
{
    p->newer = NULL;
    p->older = t->head;
    if (t->head)
        t->head->newer = p;
    t->head = p;
    if (t->tail == NULL)
        t->tail = p;
}

/* Under mu: the entry of OBJ (made the most recent), or NULL. */
static struct pin *find_locked(asps_rpc__conns *t, const void *obj)
{
    for (struct pin *p = *bucket(t, obj); p != NULL; p = p->hnext)
        if (p->obj == obj) {
            if (t->head != p) {
                lru_unlink(t, p);
                lru_push(t, p);
            }
            return p;
        }
    return NULL;
}

uint64_t asps_rpc__conns_find(asps_rpc__conns *t, const void *obj)
{
    if (t == NULL || obj == NULL)
        return 0;
    pthread_mutex_lock(&t->mu);
    struct pin *p = find_locked(t, obj);
    uint64_t id = p ? p->id : 0;
    pthread_mutex_unlock(&t->mu);
    return id;
}

uint64_t asps_rpc__conns_add(asps_rpc__conns *t, void *obj)
{
    if (t == NULL || obj == NULL)
        return 0;
    void *drop = NULL;
    pthread_mutex_lock(&t->mu);
    struct pin *p = find_locked(t, obj);
    if (p != NULL) {
        drop = obj; /* another call of the connection pinned it first */
    } else {
        if (t->used < t->cap) {
            p = &t->pins[t->used++];
        } else { /* full: the least recently used goes */
            p = t->tail;
            lru_unlink(t, p);
            for (struct pin **pp = bucket(t, p->obj); *pp != NULL; pp = &(*pp)->hnext)
                if (*pp == p) {
                    *pp = p->hnext;
                    break;
                }
            drop = p->obj;
        }
        p->obj = obj;
        p->id = atomic_fetch_add(&last_id, 1) + 1;
        struct pin **b = bucket(t, obj);
        p->hnext = *b;
        *b = p;
        lru_push(t, p);
    }
    uint64_t id = p->id;
    pthread_mutex_unlock(&t->mu);
    if (drop != NULL)
        t->release(drop); /* outside the lock: it may free */
    return id;
}

size_t asps_rpc__conns_used(asps_rpc__conns *t)
{
    if (t == NULL)
        return 0;
    pthread_mutex_lock(&t->mu);
    size_t n = t->used;
    pthread_mutex_unlock(&t->mu);
    return n;
}

size_t asps_rpc__conns_clear(asps_rpc__conns *t)
{
    if (t == NULL)
        return 0;
    pthread_mutex_lock(&t->mu);
    size_t n = t->used;
    for (size_t i = 0; i < n; i++)
        t->release(t->pins[i].obj);
    memset(t->pins, 0, t->cap * sizeof *t->pins);
    memset(t->buckets, 0, t->n_buckets * sizeof *t->buckets);
    t->used = 0;
    t->head = t->tail = NULL;
    pthread_mutex_unlock(&t->mu);
    return n;
}

void asps_rpc__conns_free(asps_rpc__conns *t)
{
    if (t == NULL)
        return;
    asps_rpc__conns_clear(t);
    pthread_mutex_destroy(&t->mu);
    free(t->pins);
    free(t->buckets);
    free(t);
}
