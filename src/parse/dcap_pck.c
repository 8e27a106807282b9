/* dcap_pck.c: the SGX extensions of a PCK certificate (OID
 * 1.2.840.113741.1.13.1), read from DER through the bounded reader:
 *   SEQUENCE { SEQUENCE { OID, value } ... }
 * with PPID (.1, OCTET STRING 16), TCB (.2, SEQUENCE of 18 {OID, value}:
 * .2.1-.2.16 component SVNs, .2.17 PCESVN INTEGER, .2.18 CPUSVN OCTET STRING
 * 16), PCE-ID (.3, OCTET STRING 2), FMSPC (.4, OCTET STRING 6), SGX type (.5,
 * ENUMERATED), and for platform CA certificates .6 and .7 (ignored). Each
 * required entry must appear exactly once. */
#include <string.h>

#include "dcap_parse.h"
#include "reader.h"

enum { T_INT = 0x02, T_OCTETS = 0x04, T_OID = 0x06, T_ENUM = 0x0a, T_SEQ = 0x30 };

/* 1.2.840.113741.1.13.1 */
static const uint8_t sgx_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

/* OID content == sgx_oid followed by the arcs in sub[] (each < 128). */
static int oid_is(asps_reader oid, const uint8_t *sub, size_t nsub)
{
    if (asps_reader_left(&oid) != sizeof sgx_oid + nsub)
        return 0;
    const uint8_t *p;
    asps_reader_bytes(&oid, &p, asps_reader_left(&oid));
    return memcmp(p, sgx_oid, sizeof sgx_oid) == 0 && memcmp(p + sizeof sgx_oid, sub, nsub) == 0;
}

/* A non-negative DER INTEGER no larger than max. */
static int der_uint(asps_reader *r, uint8_t tag, uint32_t max, uint32_t *out)
{
    asps_reader c;
    if (!asps_reader_der(r, tag, &c) || asps_reader_left(&c) < 1 || asps_reader_left(&c) > 4)
        return 0;
    const uint8_t *p;
    size_t n = asps_reader_left(&c);
    asps_reader_bytes(&c, &p, n);
    if (p[0] & 0x80)
        return 0; /* negative */
    if (n > 1 && p[0] == 0 && !(p[1] & 0x80))
        return 0; /* not minimal */
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    if (v > max)
        return 0;
    *out = v;
    return 1;
}

static int der_octets(asps_reader *r, uint8_t *out, size_t n)
{
    asps_reader c;
    return asps_reader_der(r, T_OCTETS, &c) && asps_reader_left(&c) == n && asps_reader_copy(&c, out, n);
}

static asps_err parse_tcb(asps_reader tcb, asps_pck_ext *o, asps_errbuf *eb)
{
    unsigned seen = 0;
    while (asps_reader_left(&tcb)) {
        asps_reader ent, oid;
        if (!asps_reader_der(&tcb, T_SEQ, &ent) || !asps_reader_der(&ent, T_OID, &oid))
            return asps_fail(eb, ASPS_E_PCK_EXTENSION, "PCK extension: malformed TCB entry");
        int idx = -1;
        for (uint8_t k = 1; k <= 18; k++) {
            const uint8_t sub[2] = {2, k};
            if (oid_is(oid, sub, 2))
                idx = k;
        }
        if (idx < 0)
            return asps_fail(eb, ASPS_E_PCK_EXTENSION, "PCK extension: unknown TCB entry");
        if (seen & (1u << idx))
            return asps_fail(eb, ASPS_E_PCK_EXTENSION, "PCK extension: duplicate TCB entry %d", idx);
        seen |= 1u << idx;
        uint32_t v;
        int ok;
        if (idx <= 16) {
            ok = der_uint(&ent, T_INT, 255, &v);
            if (ok)
                o->cpusvn_comp[idx - 1] = (uint8_t)v;
        } else if (idx == 17) {
            ok = der_uint(&ent, T_INT, 65535, &v);
            if (ok)
                o->pcesvn = (uint16_t)v;
        } else {
            ok = der_octets(&ent, o->cpusvn, 16);
        }
        if (!ok || asps_reader_left(&ent) != 0)
            return asps_fail(eb, ASPS_E_PCK_EXTENSION, "PCK extension: bad value for TCB entry %d",
                             idx);
    }
    if (seen != 0x7fffeu) /* bits 1..18 */
        return asps_fail(eb, ASPS_E_PCK_EXTENSION, "PCK extension: TCB entries missing");
    return ASPS_OK;
}

asps_err asps_dcap_parse_pck_ext(const uint8_t *der, size_t len, asps_pck_ext *o,
                                 asps_errbuf *eb)
{
    memset(o, 0, sizeof *o);
    asps_reader all = asps_reader_init(der, len), top;
    if (!asps_reader_der(&all, T_SEQ, &top) || asps_reader_left(&all) != 0)
        return asps_fail(eb, ASPS_E_PCK_EXTENSION, "PCK extension: not a single DER SEQUENCE");
    unsigned seen = 0;
    while (asps_reader_left(&top)) {
        asps_reader ent, oid;
        if (!asps_reader_der(&top, T_SEQ, &ent) || !asps_reader_der(&ent, T_OID, &oid))
            return asps_fail(eb, ASPS_E_PCK_EXTENSION, "PCK extension: malformed entry");
        int idx = -1;
        for (uint8_t k = 1; k <= 7; k++)
            if (oid_is(oid, &k, 1))
                idx = k;
        if (idx < 0)
            return asps_fail(eb, ASPS_E_PCK_EXTENSION, "PCK extension: unknown entry");
        if (seen & (1u << idx))
            return asps_fail(eb, ASPS_E_PCK_EXTENSION, "PCK extension: duplicate entry %d", idx);
        seen |= 1u << idx;
        int ok = 1;
        asps_reader tcb;
        uint32_t v;
        switch (idx) {
        case 1:
            ok = der_octets(&ent, o->ppid, 16);
            break;
        case 2:
            ok = asps_reader_der(&ent, T_SEQ, &tcb);
            if (ok)
                ASPS_TRY(parse_tcb(tcb, o, eb));
            break;
        case 3:
            ok = der_octets(&ent, o->pce_id, 2);
            break;
        case 4:
            ok = der_octets(&ent, o->fmspc, 6);
            break;
        case 5:
            ok = der_uint(&ent, T_ENUM, 255, &v);
            o->sgx_type = ok ? (int)v : 0;
            break;
        default:
            /* platform instance ID / configuration: present in platform-CA
             * PCK certificates, not used by verification */
            asps_reader_skip(&ent, asps_reader_left(&ent));
        }
        if (!ok || asps_reader_left(&ent) != 0)
            return asps_fail(eb, ASPS_E_PCK_EXTENSION, "PCK extension: bad value for entry %d", idx);
    }
    const unsigned need = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5);
    if ((seen & need) != need)
        return asps_fail(eb, ASPS_E_PCK_EXTENSION,
                         "PCK extension: required entry missing (PPID, TCB, PCE-ID, FMSPC, SGX type)");
    return ASPS_OK;
}
