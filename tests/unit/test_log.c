/* test_log.c: the one logger (log.h), the dependency state (depstate.h)
 * and the summary lines of tally.h, read back by a reader asps did not
 * write: every JSON line is parsed by python3's json module (strict: no
 * raw control characters, valid escapes), its time by datetime against
 * RFC 3339 "YYYY-MM-DDTHH:MM:SS.mmmZ" and the clock now, and its message
 * must come back byte for byte as logged. Text lines are checked by
 * python3's re against the documented layout; a control character in a
 * message never breaks a text line. */
#include "testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "depstate.h"
#include "log.h"
#include "tally.h"

typedef struct {
    char *dir;
    char path[512];
    int fd;
} sink;

static void sink_open(sink *k)
{
    k->dir = tu_mkdtemp();
    snprintf(k->path, sizeof k->path, "%s/log", k->dir);
    k->fd = open(k->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    assert_true(k->fd >= 0);
}

static void sink_close(sink *k)
{
    asps_log_configure(ASPS_LOG_INFO, ASPS_LOG_TEXT, 2);
    close(k->fd);
    tu_rm_rf(k->dir);
    free(k->dir);
}

static char *slurp(const sink *k)
{
    size_t n;
    char *s = (char *)tu_read_file(k->path, &n);
    assert_non_null(s);
    return s;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Runs python3 with SCRIPT (argv[1] the log file, argv[2] EXTRA) and
 * returns its exit status (0: every check held). */
static int python_check(const char *script, const char *log, const char *extra)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execlp("python3", "python3", "-c", script, log, extra ? extra : "", (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        tu_skip("no python3");
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Each line: a JSON object with exactly time, level, component, msg (all
 * strings); time RFC 3339 UTC with milliseconds, within 60 s of now. The
 * messages, in order, must equal the hex strings of argv[2] (comma
 * separated, decoded as UTF-8 with surrogateescape) and the levels and
 * components those given after each ':' ("hex:level:component"). */
static const char json_check[] =
    "import json, sys, re, datetime\n"
    "want = [w.split(':') for w in sys.argv[2].split(',') if w]\n"
    "lines = open(sys.argv[1], 'rb').read().split(b'\\n')\n"
    "assert lines[-1] == b'', 'no newline at the end'\n"
    "lines = lines[:-1]\n"
    "assert len(lines) == len(want), (len(lines), len(want))\n"
    "now = datetime.datetime.now(datetime.timezone.utc)\n"
    "for raw, (hx, lvl, comp) in zip(lines, want):\n"
    "    o = json.loads(raw.decode('utf-8', 'surrogateescape'))\n"
    "    assert list(o) == ['time', 'level', 'component', 'msg'], o\n"
    "    assert re.fullmatch(r'\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z', o['time']), o['time']\n"
    "    t = datetime.datetime.strptime(o['time'], '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc)\n"
    "    assert abs((now - t).total_seconds()) < 60, (now, t)\n"
    "    assert o['level'] == lvl and o['component'] == comp, o\n"
    "    exp = bytes.fromhex(hx).decode('utf-8', 'surrogateescape')\n"
    "    assert o['msg'] == exp, (o['msg'], exp)\n";

/* Each text line: TIME LEVEL(padded to 5) COMPONENT: MSG, no control
 * character anywhere but the newline; the message as given in argv[2]
 * (plain text here, '|' separated "level:component:msg"). */
static const char text_check[] =
    "import sys, re, datetime\n"
    "want = [w.split(':', 2) for w in sys.argv[2].split('|') if w]\n"
    "data = open(sys.argv[1], 'rb').read()\n"
    "assert data.endswith(b'\\n')\n"
    "lines = data.decode('utf-8').split('\\n')[:-1]\n"
    "assert len(lines) == len(want), (lines, want)\n"
    "for l, (lvl, comp, msg) in zip(lines, want):\n"
    "    assert not re.search(r'[\\x00-\\x1f\\x7f]', l), repr(l)\n"
    "    m = re.fullmatch(r'(\\S+) (error|warn |info |debug) ([^:]+): (.*)', l)\n"
    "    assert m, repr(l)\n"
    "    datetime.datetime.strptime(m.group(1), '%Y-%m-%dT%H:%M:%S.%fZ')\n"
    "    assert m.group(2).strip() == lvl and m.group(3) == comp, (l, lvl, comp)\n"
    "    assert m.group(4) == msg, (m.group(4), msg)\n";

static void hex_append(char *out, size_t cap, const char *s)
{
    size_t n = strlen(out);
    for (; *s && n + 3 < cap; s++, n += 2)
        snprintf(out + n, cap - n, "%02x", (unsigned char)*s);
}

static void test_parse_names(void **state)
{
    (void)state;
    asps_log_level l;
    asps_log_format f;
    const char *levels[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(asps_log_level_parse(levels[i], &l), 0);
        assert_int_equal((int)l, i);
    }
    const char *bad_levels[] = {"", "ERROR", "warning", "trace", "info ", NULL};
    for (int i = 0; i < 6; i++)
        assert_int_equal(asps_log_level_parse(bad_levels[i], &l), -1);
    assert_int_equal(asps_log_format_parse("text", &f), 0);
    assert_int_equal(f, ASPS_LOG_TEXT);
    assert_int_equal(asps_log_format_parse("json", &f), 0);
    assert_int_equal(f, ASPS_LOG_JSON);
    assert_int_equal(asps_log_format_parse("JSON", &f), -1);
    assert_int_equal(asps_log_format_parse(NULL, &f), -1);
}

/* Messages that need escaping come back whole through a strict JSON parser. */
static void test_json_lines_parse_and_round_trip(void **state)
{
    (void)state;
    sink k;
    sink_open(&k);
    asps_log_configure(ASPS_LOG_DEBUG, ASPS_LOG_JSON, k.fd);
    const char *msgs[] = {
        "plain words",
        "quote \" backslash \\ slash /",
        "tab\there, cr\rlf\nform\fbell\a, esc\x1b, del\x7f",
        "unicode \xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91",
        "{\"looks\": \"like json\"}",
        "",
    };
    const asps_log_level lv[] = {ASPS_LOG_ERROR, ASPS_LOG_WARN, ASPS_LOG_INFO, ASPS_LOG_DEBUG,
                                 ASPS_LOG_INFO, ASPS_LOG_WARN};
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char want[8192] = "";
    for (size_t i = 0; i < 6; i++) {
        asps_log(lv[i], "kms", "%s", msgs[i]);
        hex_append(want, sizeof want, msgs[i]);
        snprintf(want + strlen(want), sizeof want - strlen(want), ":%s:kms,", names[lv[i]]);
    }
    /* one trailing newline is dropped, a component with a quote escaped */
    asps_log(ASPS_LOG_INFO, "odd\"comp", "ends with a newline\n");
    hex_append(want, sizeof want, "ends with a newline");
    strcat(want, ":info:odd\"comp,");
    assert_int_equal(python_check(json_check, k.path, want), 0);
    sink_close(&k);
}

/* The check above fails on a line that is not JSON: it is no check
 * otherwise. */
static void test_json_check_rejects_broken_lines(void **state)
{
    (void)state;
    sink k;
    sink_open(&k);
    const char bad[] = "{\"time\":\"2026-12-05T01:00:00.000Z\",\"level\":\"info\",\"component\":\"x\","
                       "\"msg\":\"raw\tcontrol\"}\n";
    assert_int_equal(write(k.fd, bad, sizeof bad - 1), (ssize_t)(sizeof bad - 1));
    char want[256] = "";
    hex_append(want, sizeof want, "raw\tcontrol");
    strcat(want, ":info:x,");
    assert_int_not_equal(python_check(json_check, k.path, want), 0);
    sink_close(&k);
}

static void test_text_lines_one_line_each(void **state)
{
    (void)state;
    sink k;
    sink_open(&k);
    asps_log_configure(ASPS_LOG_INFO, ASPS_LOG_TEXT, k.fd);
    asps_log(ASPS_LOG_ERROR, "serve", "cannot open %s", "x.pem");
    asps_log(ASPS_LOG_WARN, "grpc", "two\nlines\tand a bell\a");
    asps_log(ASPS_LOG_INFO, "rpc", "done\n");
    asps_log(ASPS_LOG_DEBUG, "rpc", "dropped at info");
    assert_int_equal(python_check(text_check, k.path,
                                  "error:serve:cannot open x.pem|"
                                  "warn:grpc:two\\x0alines\\x09and a bell\\x07|"
                                  "info:rpc:done|"),
                     0);
    sink_close(&k);
}

static void test_levels_filter(void **state)
{
    (void)state;
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int min = 0; min < 4; min++) {
        sink k;
        sink_open(&k);
        asps_log_configure((asps_log_level)min, ASPS_LOG_JSON, k.fd);
        char want[1024] = "";
        for (int l = 0; l < 4; l++) {
            assert_int_equal(asps_log_enabled((asps_log_level)l), l <= min);
            asps_log((asps_log_level)l, "t", "level %d", l);
            if (l <= min) {
                char m[32];
                snprintf(m, sizeof m, "level %d", l);
                hex_append(want, sizeof want, m);
                snprintf(want + strlen(want), sizeof want - strlen(want), ":%s:t,", names[l]);
            }
        }
        assert_int_equal(python_check(json_check, k.path, want), 0);
        sink_close(&k);
    }
}

/* A message past 4 KiB is cut, and the line stays one valid JSON line even
 * when every byte needs a six-character escape. */
static void test_long_messages_cut_and_valid(void **state)
{
    (void)state;
    sink k;
    sink_open(&k);
    asps_log_configure(ASPS_LOG_INFO, ASPS_LOG_JSON, k.fd);
    char *big = malloc(10001);
    assert_non_null(big);
    memset(big, 'a', 10000);
    big[10000] = 0;
    asps_log(ASPS_LOG_INFO, "t", "%s", big);
    memset(big, '\x01', 10000);
    asps_log(ASPS_LOG_INFO, "t", "%s", big);
    free(big);
    static const char check[] =
        "import json, sys\n"
        "ls = open(sys.argv[1], 'rb').read().split(b'\\n')\n"
        "assert ls[-1] == b'' and len(ls) == 3, len(ls)\n"
        "a, b = (json.loads(l) for l in ls[:2])\n"
        "assert a['msg'] == 'a' * 4095, len(a['msg'])\n"
        "assert 0 < len(b['msg']) <= 4095 and set(b['msg']) == {'\\x01'}, len(b['msg'])\n";
    assert_int_equal(python_check(check, k.path, NULL), 0);
    sink_close(&k);
}

/* Bytes that are not well-formed UTF-8 (a path in Latin-1, a message cut
 * inside a character) never reach a line raw: every JSON line is UTF-8
 * (RFC 8259 section 8.1; read here strictly, without surrogateescape) and
 * every text line too, each such byte written as the four characters \xNN;
 * well-formed characters pass whole, and a long message is never cut
 * inside one. */
static void test_ill_formed_utf8_escaped(void **state)
{
    (void)state;
    static const char *const msgs[] = {
        "from dir\xff\xfe/policy.json",     /* Latin-1 bytes of a path */
        "cut \xe2\x82 then ok \xc3\xa9",    /* a sequence cut short, then a whole one */
        "overlong \xc0\xaf surrogate \xed\xa0\x80 high \xf4\x90\x80\x80 stray \x80",
    };
    static const char check[] =
        "import json, sys\n"
        "fmt = sys.argv[2]\n"
        "ls = open(sys.argv[1], 'rb').read().decode('utf-8').split('\\n')\n"
        "assert ls[-1] == '' and len(ls) == 5, len(ls)\n"
        "if fmt == 'json':\n"
        "    m = [json.loads(l)['msg'] for l in ls[:4]]\n"
        "else:\n"
        "    m = [l.split(': ', 1)[1] for l in ls[:4]]\n"
        "assert m[0] == 'from dir\\\\xff\\\\xfe/policy.json', m[0]\n"
        "assert m[1] == 'cut \\\\xe2\\\\x82 then ok \\u00e9', m[1]\n"
        "assert m[2] == 'overlong \\\\xc0\\\\xaf surrogate \\\\xed\\\\xa0\\\\x80 high "
        "\\\\xf4\\\\x90\\\\x80\\\\x80 stray \\\\x80', m[2]\n"
        "assert m[3] == 'a' + '\\u20ac' * 1364 + '\\\\xe2\\\\x82', m[3][-20:]\n";
    for (int json = 0; json <= 1; json++) {
        sink k;
        sink_open(&k);
        asps_log_configure(ASPS_LOG_INFO, json ? ASPS_LOG_JSON : ASPS_LOG_TEXT, k.fd);
        for (size_t i = 0; i < 3; i++)
            asps_log(ASPS_LOG_INFO, "t", "%s", msgs[i]);
        /* "a", then 3-byte characters past the 4 KiB cut (4095 bytes): the
         * cut falls 2 bytes into the 1365th character */
        char big[1 + 3 * 2000 + 1];
        big[0] = 'a';
        for (size_t i = 0; i < 2000; i++)
            memcpy(big + 1 + 3 * i, "\xe2\x82\xac", 3);
        big[sizeof big - 1] = 0;
        asps_log(ASPS_LOG_INFO, "t", "%s", big);
        assert_int_equal(python_check(check, k.path, json ? "json" : "text"), 0);
        sink_close(&k);
    }
}

static void *burst(void *arg)
{
    for (int i = 0; i < 200; i++)
        asps_log(ASPS_LOG_INFO, "thread", "thread %ld line %d %s", (long)(intptr_t)arg, i,
                 "padding padding padding padding padding padding padding padding");
    return NULL;
}

/* Lines of several threads never interleave. */
static void test_threads_do_not_interleave(void **state)
{
    (void)state;
    sink k;
    sink_open(&k);
    asps_log_configure(ASPS_LOG_INFO, ASPS_LOG_JSON, k.fd);
    pthread_t t[4];
    for (intptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, burst, (void *)i), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    static const char check[] =
        "import json, sys, collections\n"
        "ls = open(sys.argv[1], 'rb').read().split(b'\\n')[:-1]\n"
        "assert len(ls) == 800, len(ls)\n"
        "c = collections.Counter(json.loads(l)['msg'].split()[1] for l in ls)\n"
        "assert c == {'0': 200, '1': 200, '2': 200, '3': 200}, c\n";
    assert_int_equal(python_check(check, k.path, NULL), 0);
    sink_close(&k);
}

/* N failures make one "down" line, a success after them one "recovered"
 * line; the counts say what happened. */
static void test_depstate_logs_transitions_once(void **state)
{
    (void)state;
    sink k;
    sink_open(&k);
    asps_log_configure(ASPS_LOG_INFO, ASPS_LOG_TEXT, k.fd);
    asps_dep_reset();
    asps_dep_state st;
    asps_dep_get(ASPS_DEP_KMS, &st);
    assert_int_equal(st.status, ASPS_DEP_UNKNOWN);
    asps_dep_ok(ASPS_DEP_KMS, "vault"); /* the first success: debug only */
    asps_dep_ok(ASPS_DEP_KMS, "vault");
    for (int i = 0; i < 7; i++)
        asps_dep_down(ASPS_DEP_KMS, "vault", i == 6 ? "vault: kv/a: connection refused" : "first");
    asps_dep_get(ASPS_DEP_KMS, &st);
    assert_int_equal(st.status, ASPS_DEP_DOWN);
    assert_int_equal(st.failed_now, 7);
    assert_int_equal(st.failed_total, 7);
    assert_int_equal(st.outages, 1);
    assert_string_equal(st.last_error, "vault: kv/a: connection refused");
    assert_true(st.since > 0);
    asps_dep_ok(ASPS_DEP_KMS, "vault");
    asps_dep_ok(ASPS_DEP_KMS, "vault");
    asps_dep_get(ASPS_DEP_KMS, &st);
    assert_int_equal(st.status, ASPS_DEP_UP);
    assert_int_equal(st.ok_total, 4);
    assert_int_equal(st.failed_now, 0);
    /* the PCCS is its own: untouched by the KMS */
    asps_dep_get(ASPS_DEP_PCCS, &st);
    assert_int_equal(st.status, ASPS_DEP_UNKNOWN);
    asps_dep_down(ASPS_DEP_PCCS, "https://127.0.0.1:8081", "pccs: HTTP 503");
    asps_dep_down(ASPS_DEP_PCCS, "https://127.0.0.1:8081", "pccs: HTTP 503");
    char *s = slurp(&k);
    assert_int_equal(count_lines(s), 3);
    assert_non_null(strstr(s, " warn  kms: the KMS (vault) is down: first; calls that need it fail "
                              "with UNAVAILABLE until it answers\n"));
    assert_non_null(strstr(s, " warn  kms: the KMS (vault) recovered after "));
    assert_non_null(strstr(s, " s down (7 failed calls)\n"));
    assert_non_null(strstr(s, " warn  pccs: the PCCS (https://127.0.0.1:8081) is down: pccs: HTTP 503;"));
    assert_true(strstr(s, "kms: the KMS (vault) is down") < strstr(s, "recovered"));
    free(s);
    asps_dep_reset();
    assert_string_equal(asps_dep_name(ASPS_DEP_KMS), "kms");
    assert_string_equal(asps_dep_name(ASPS_DEP_PCCS), "pccs");
    assert_string_equal(asps_dep_name((asps_dep)7), "?");
    sink_close(&k);
}

/* The tally's summary is a log line (warn, its component). */
static void test_tally_line_through_logger(void **state)
{
    (void)state;
    sink k;
    sink_open(&k);
    asps_log_configure(ASPS_LOG_INFO, ASPS_LOG_JSON, k.fd);
    asps_tally *t = asps_tally_new("refusals", 60000, "service");
    assert_non_null(t);
    asps_tally_add(t, "tcb_revoked");
    asps_tally_add(t, "tcb_revoked");
    asps_tally_add(t, "root_untrusted");
    asps_tally_free(t); /* prints what is left */
    static const char check[] =
        "import json, sys, re\n"
        "ls = open(sys.argv[1], 'rb').read().split(b'\\n')[:-1]\n"
        "os = [json.loads(l) for l in ls]\n"
        "assert all(o['level'] == 'warn' and o['component'] == 'service' for o in os), os\n"
        "tot = {}\n"
        "for o in os:\n"
        "    m = re.fullmatch(r'refusals in the last [0-9.]+ s: (\\d+) \\((.*)\\)', o['msg'])\n"
        "    assert m, o\n"
        "    for p in m.group(2).split(', '):\n"
        "        r, c = p.rsplit(' ', 1)\n"
        "        tot[r] = tot.get(r, 0) + int(c)\n"
        "assert tot == {'tcb_revoked': 2, 'root_untrusted': 1}, tot\n";
    assert_int_equal(python_check(check, k.path, NULL), 0);
    sink_close(&k);
}

/* The rate limiter (asps_log_limiter): the first BURST calls of a window
 * are admitted, the rest counted; the first call after a window with drops
 * writes one "N log lines suppressed in the last S s" line for the
 * limiter's component, once; a window without drops writes none. The
 * clock is the caller's, so the windows here are exact. */
static void test_limiter_burst_then_one_summary(void **state)
{
    (void)state;
    sink k;
    sink_open(&k);
    asps_log_configure(ASPS_LOG_INFO, ASPS_LOG_TEXT, k.fd);
    static asps_log_limiter lim = ASPS_LOG_LIMITER_INIT("peer", 3, 2000);
    const int64_t t0 = 5000;
    /* window 1 (t0 .. t0+1999): 10 calls, 3 shown, 7 counted */
    for (int i = 0; i < 10; i++) {
        int shown = asps_log_limiter_admit(&lim, t0 + 100 * i);
        assert_int_equal(shown, i < 3);
        if (shown)
            asps_log(ASPS_LOG_INFO, "peer", "line %d", i);
    }
    assert_int_equal(asps_log_limiter_admit(&lim, t0 + 1999), 0); /* still window 1: 8 */
    /* window 2 opens: the summary first, then this call's line */
    assert_int_equal(asps_log_limiter_admit(&lim, t0 + 2000), 1);
    asps_log(ASPS_LOG_INFO, "peer", "window 2");
    assert_int_equal(asps_log_limiter_admit(&lim, t0 + 2500), 1);
    asps_log(ASPS_LOG_INFO, "peer", "window 2 again");
    /* window 3: window 2 dropped nothing, so no summary */
    assert_int_equal(asps_log_limiter_admit(&lim, t0 + 4000), 1);
    asps_log(ASPS_LOG_INFO, "peer", "window 3");
    /* a long quiet gap: window 3 dropped nothing either */
    assert_int_equal(asps_log_limiter_admit(&lim, t0 + 60000), 1);
    asps_log(ASPS_LOG_INFO, "peer", "much later");
    assert_int_equal(python_check(text_check, k.path,
                                  "info:peer:line 0|info:peer:line 1|info:peer:line 2|"
                                  "warn:peer:8 log lines suppressed in the last 2 s|"
                                  "info:peer:window 2|info:peer:window 2 again|"
                                  "info:peer:window 3|info:peer:much later|"),
                     0);
    sink_close(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_names),
        cmocka_unit_test(test_json_lines_parse_and_round_trip),
        cmocka_unit_test(test_json_check_rejects_broken_lines),
        cmocka_unit_test(test_text_lines_one_line_each),
        cmocka_unit_test(test_levels_filter),
        cmocka_unit_test(test_long_messages_cut_and_valid),
        cmocka_unit_test(test_ill_formed_utf8_escaped),
        cmocka_unit_test(test_threads_do_not_interleave),
        cmocka_unit_test(test_depstate_logs_transitions_once),
        cmocka_unit_test(test_tally_line_through_logger),
        cmocka_unit_test(test_limiter_burst_then_one_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
