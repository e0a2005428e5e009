/* Test helper: builds Ethernet/IPv4/UDP DHCP frames and recognises replies. */
#ifndef EMBER_TESTS_FRAMES_H
#define EMBER_TESTS_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const uint8_t test_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static inline uint16_t ip_checksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

/* A DHCPDISCOVER broadcast from test_mac; returns the frame length. */
static inline size_t build_dhcp_discover(uint8_t *f, uint32_t xid)
{
    const size_t bootp_len = 300, udp_len = 8 + bootp_len, ip_len = 20 + udp_len;
    memset(f, 0, 14 + ip_len);
    memset(f, 0xFF, 6);
    memcpy(f + 6, test_mac, 6);
    f[12] = 0x08;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(ip_len >> 8);
    ip[3] = (uint8_t)ip_len;
    ip[8] = 64;
    ip[9] = 17;
    memset(ip + 16, 0xFF, 4);
    uint16_t c = ip_checksum(ip, 20);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    uint8_t *udp = ip + 20;
    udp[1] = 68;
    udp[3] = 67;
    udp[4] = (uint8_t)(udp_len >> 8);
    udp[5] = (uint8_t)udp_len;
    uint8_t *b = udp + 8;
    b[0] = 1; /* BOOTREQUEST */
    b[1] = 1;
    b[2] = 6;
    memcpy(b + 4, &xid, 4);
    memcpy(b + 28, test_mac, 6);
    static const uint8_t opts[] = {99, 130, 83, 99, 53, 1, 1, 255};
    memcpy(b + 236, opts, sizeof(opts));
    return 14 + ip_len;
}

/* True if frame is a DHCP reply of message type `type` (2 = OFFER) for xid; sets *yiaddr. */
static inline int is_dhcp_reply(const uint8_t *f, size_t len, uint32_t xid, uint8_t type,
                                uint8_t yiaddr[4])
{
    if (len < 14 + 20 + 8 + 240 || f[12] != 0x08 || f[13] != 0 || f[14 + 9] != 17)
        return 0;
    size_t ihl = (size_t)(f[14] & 15) * 4;
    const uint8_t *udp = f + 14 + ihl;
    if ((size_t)(udp - f) + 8 + 240 > len || udp[3] != 68)
        return 0;
    const uint8_t *b = udp + 8;
    if (b[0] != 2 || memcmp(b + 4, &xid, 4) != 0)
        return 0;
    memcpy(yiaddr, b + 16, 4);
    for (size_t i = 240; b + i + 2 < f + len && b[i] != 255;) {
        if (b[i] == 0) {
            i++;
            continue;
        }
        if (b[i] == 53 && b[i + 1] >= 1)
            return b[i + 2] == type;
        i += 2 + b[i + 1];
    }
    return 0;
}

#endif
