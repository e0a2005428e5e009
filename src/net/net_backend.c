/* Backend selection from the --net option string ("tap=IF" or "user[,hostfwd=...]", both
 * with an optional mtu=). */
#include "net/net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/parse.h"

#define NET_MAX_HOSTFWD 16

int net_backend_open(const char *spec, struct net_backend **out)
{
    *out = NULL;
    char tap[64] = "";
    bool user = false;
    char *fwd[NET_MAX_HOSTFWD + 1] = {0};
    unsigned nfwd = 0;
    uint64_t mtu = 0;
    int rc = 0;
    struct kv_iter it;
    kv_iter_init(&it, spec ? spec : "");
    while (kv_iter_next(&it)) {
        if (strcmp(it.key, "tap") == 0) {
            size_t n = strlen(it.value);
            if (n == 0 || n >= 16) { /* IFNAMSIZ */
                log_error("--net: tap=%s: interface names are 1 to 15 characters", it.value);
                rc = -EINVAL;
                goto out;
            }
            memcpy(tap, it.value, n + 1);
        } else if (strcmp(it.key, "user") == 0 && !it.value[0]) {
            user = true;
        } else if (strcmp(it.key, "hostfwd") == 0) {
            if (nfwd == NET_MAX_HOSTFWD) {
                log_error("--net: at most %d hostfwd rules", NET_MAX_HOSTFWD);
                rc = -EINVAL;
                goto out;
            }
            fwd[nfwd] = strdup(it.value);
            if (!fwd[nfwd]) {
                rc = -ENOMEM;
                goto out;
            }
            nfwd++;
        } else if (strcmp(it.key, "mtu") == 0) {
            if (parse_u64(it.value, NET_MTU_MIN, NET_MTU_MAX, &mtu) < 0) {
                log_error("--net: mtu=%s: expected a number from %d to %d", it.value, NET_MTU_MIN,
                          NET_MTU_MAX);
                rc = -EINVAL;
                goto out;
            }
        }
        /* Other keys (mac=...) belong to the device. */
    }
    if (it.error) {
        log_error("--net: an option is too long");
        rc = -EINVAL;
        goto out;
    }
    if ((tap[0] != 0) == user) {
        log_error("--net: say either tap=IFNAME or user");
        rc = -EINVAL;
        goto out;
    }
    if (tap[0] && nfwd) {
        log_error("--net: hostfwd= is only for user networking");
        rc = -EINVAL;
        goto out;
    }
    if (tap[0])
        rc = net_tap_open(tap, (unsigned)mtu, out);
    else
        rc = net_slirp_open((const char *const *)fwd, mtu ? (unsigned)mtu : NET_MTU_USER_DEFAULT,
                            out);
out:
    for (unsigned i = 0; i < nfwd; i++)
        free(fwd[i]);
    return rc;
}
