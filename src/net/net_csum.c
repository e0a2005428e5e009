/* Internet checksums (see net_csum.h). The sum runs over 64-bit words with end-around carry:
 * 2^64 = 1 modulo 2^16 - 1, so folding the 64-bit ones'-complement sum gives the 16-bit one. */
#include "net/net_csum.h"

#include <errno.h>
#include <string.h>

static inline uint64_t add_carry(uint64_t a, uint64_t b)
{
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r))
        r++;
    return r;
}

uint32_t net_csum_partial(const void *buf, size_t len, uint32_t sum)
{
    const uint8_t *p = buf;
    uint64_t acc = sum;
    while (len >= 32) {
        uint64_t w[4];
        memcpy(w, p, sizeof(w));
        acc = add_carry(acc, w[0]);
        acc = add_carry(acc, w[1]);
        acc = add_carry(acc, w[2]);
        acc = add_carry(acc, w[3]);
        p += 32;
        len -= 32;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        acc = add_carry(acc, w);
        p += 8;
        len -= 8;
    }
    if (len >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        acc = add_carry(acc, w);
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        acc = add_carry(acc, w);
        p += 2;
        len -= 2;
    }
    if (len) {
        uint8_t last[2] = {p[0], 0};
        uint16_t w;
        memcpy(&w, last, 2);
        acc = add_carry(acc, w);
    }
    acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
    acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
    return (uint32_t)acc;
}

uint16_t net_csum_fold(uint32_t sum)
{
    sum = (sum & 0xFFFF) + (sum >> 16);
    sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)sum;
}

int net_csum_complete(uint8_t *frame, size_t len, size_t start, size_t offset)
{
    /* Driver-supplied offsets: checked without any sum that could overflow. */
    if (start > len || offset > len - start || len - start - offset < 2)
        return -EINVAL;
    uint16_t c = (uint16_t)~net_csum_fold(net_csum_partial(frame + start, len - start, 0));
    if (c == 0)
        c = 0xFFFF;
    memcpy(frame + start + offset, &c, 2);
    return 0;
}

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

#define ETH_HLEN     14
#define ETH_P_IPV4   0x0800
#define ETH_P_IPV6   0x86DD
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

bool net_csum_l4_verify(const uint8_t *frame, size_t len)
{
    if (len < ETH_HLEN)
        return false;
    const uint8_t *ip = frame + ETH_HLEN;
    size_t avail = len - ETH_HLEN;
    uint8_t pseudo[40];
    size_t pseudo_len;
    const uint8_t *l4;
    size_t l4_len;
    uint8_t proto;
    unsigned type = be16(frame + 12);
    if (type == ETH_P_IPV4) {
        if (avail < 20 || (ip[0] >> 4) != 4)
            return false;
        size_t ihl = (size_t)(ip[0] & 15) * 4;
        size_t total = be16(ip + 2);
        if (ihl < 20 || total < ihl || total > avail)
            return false;
        if ((ip[6] & 0x3F) || ip[7])
            return false; /* MF or a fragment offset: the checksum covers the whole datagram */
        proto = ip[9];
        l4 = ip + ihl;
        l4_len = total - ihl;
        memcpy(pseudo, ip + 12, 8); /* source, destination */
        pseudo[8] = 0;
        pseudo[9] = proto;
        pseudo[10] = (uint8_t)(l4_len >> 8);
        pseudo[11] = (uint8_t)l4_len;
        pseudo_len = 12;
    } else if (type == ETH_P_IPV6) {
        if (avail < 40 || (ip[0] >> 4) != 6)
            return false;
        size_t payload = be16(ip + 4);
        if (payload > avail - 40)
            return false;
        proto = ip[6]; /* extension headers are not followed: not verified */
        l4 = ip + 40;
        l4_len = payload;
        memcpy(pseudo, ip + 8, 32); /* source, destination */
        pseudo[32] = pseudo[33] = 0;
        pseudo[34] = (uint8_t)(l4_len >> 8);
        pseudo[35] = (uint8_t)l4_len;
        pseudo[36] = pseudo[37] = pseudo[38] = 0;
        pseudo[39] = proto;
        pseudo_len = 40;
    } else {
        return false;
    }
    if (proto == IPPROTO_TCP_) {
        if (l4_len < 20)
            return false;
    } else if (proto == IPPROTO_UDP_) {
        if (l4_len < 8 || be16(l4 + 4) != l4_len)
            return false;
        if (l4[6] == 0 && l4[7] == 0)
            return false; /* no checksum (IPv4) or an invalid one (IPv6): nothing verified */
    } else {
        return false;
    }
    uint32_t sum = net_csum_partial(pseudo, pseudo_len, 0);
    sum = net_csum_partial(l4, l4_len, sum);
    return net_csum_fold(sum) == 0xFFFF;
}
