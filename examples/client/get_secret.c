/* get_secret.c: a complete minimal client of the asps library.
 *
 *   get_secret HOST:PORT CA_FILE NAME...
 *
 * Attests (a fresh key and an RA-TLS certificate whose quote binds it),
 * connects to the asps server at HOST:PORT, trusting the server certificate
 * that CA_FILE (PEM) issued, asks for every NAME in one call and prints one
 * line per secret: its name, its length and its bytes in hex. A real
 * program would use the bytes and never print them.
 *
 * The attester is the one the environment names (asps/client.h,
 * asps_client_attester_from_env): the TEE's device by default
 * (ASPS_ATTESTER unset = "auto"), or the simulated platform with
 * ASPS_ATTESTER=sim ASPS_SIM_DIR=DIR ASPS_SIM_MRENCLAVE=HEX ...
 *
 * Build against an installed asps (make install):
 *   cc get_secret.c $(pkg-config --cflags --libs asps) -o get_secret
 * Exit: 0 every secret received, 1 denied or refused, 2 usage or local
 * error, 3 server or its secret store unavailable (retry later). */
#include <stdio.h>

#include <asps/client.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: get_secret HOST:PORT CA_FILE NAME...\n"
                        "(asps %s)\n", ASPS_VERSION_STRING);
        return 2;
    }
    asps_errbuf eb = {{0}};
    asps_attester *att = NULL;
    asps_err e = asps_client_attester_from_env(&att, &eb);
    if (e != ASPS_OK) {
        fprintf(stderr, "get_secret: attester: %s\n", eb.msg);
        return 2;
    }
    asps_client_opts o = {.server = argv[1], .ca_file = argv[2], .use_attester = att};
    asps_client *c = NULL;
    e = asps_client_new(&o, &c, &eb);
    if (e != ASPS_OK) {
        fprintf(stderr, "get_secret: %s [%s]\n", eb.msg, asps_err_name(e));
        asps_attester_free(att);
        return 2;
    }
    size_t n = (size_t)argc - 3;
    asps_secret *s = NULL;
    int status = 0, rc = 0;
    e = asps_client_get(c, (const char *const *)argv + 3, n, &s, &status, &eb);
    if (e == ASPS_OK) {
        for (size_t i = 0; i < n; i++) {
            printf("%s (%zu bytes): ", s[i].name, s[i].len);
            for (size_t k = 0; k < s[i].len; k++)
                printf("%02x", s[i].value[k]);
            printf("\n");
        }
        asps_secrets_free(s, n);
    } else {
        fprintf(stderr, "get_secret: %s [%s, gRPC status %d]\n", eb.msg, asps_err_name(e), status);
        rc = e == ASPS_E_DENIED ? 1 : e == ASPS_E_UNAVAILABLE ? 3 : 2;
    }
    asps_client_free(c);      /* cleanses its private key */
    asps_attester_free(att);  /* after the client, which renews with it */
    return rc;
}
