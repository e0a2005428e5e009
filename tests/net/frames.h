/* Test helper: builds Ethernet/IPv4/UDP DHCP frames and recognises replies; known TCP/UDP
 * frames whose checksums were computed by an independent implementation. */
#ifndef EMBER_TESTS_FRAMES_H
#define EMBER_TESTS_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const uint8_t test_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/* Ones'-complement sum of big-endian 16-bit words (an odd last byte padded), folded. */
static inline uint16_t be_sum(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | (i + 1 < len ? p[i + 1] : 0));
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)sum;
}

static inline uint16_t ip_checksum(const uint8_t *p, size_t len)
{
    return (uint16_t)~be_sum(p, len, 0);
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

/* Gives a frame from build_dhcp_discover a UDP checksum: the full one (partial = 0), or what a
 * driver using checksum offload leaves in the field (the folded pseudo-header sum, partial =
 * 1; csum_start 34, csum_offset 6). */
static inline void dhcp_discover_udp_csum(uint8_t *f, size_t len, int partial)
{
    uint8_t *ip = f + 14, *udp = f + 34;
    size_t udp_len = len - 34;
    uint8_t pseudo[12] = {0};
    memcpy(pseudo, ip + 12, 8);
    pseudo[9] = 17;
    pseudo[10] = (uint8_t)(udp_len >> 8);
    pseudo[11] = (uint8_t)udp_len;
    udp[6] = udp[7] = 0;
    uint16_t c = be_sum(pseudo, sizeof(pseudo), 0);
    if (!partial) {
        c = (uint16_t)~be_sum(udp, udp_len, c);
        if (c == 0)
            c = 0xFFFF;
    }
    udp[6] = (uint8_t)(c >> 8);
    udp[7] = (uint8_t)c;
}

/* Known frames (hex), from a script independent of ember's checksum code:
 * UDP 10.0.2.2:53 -> 10.0.2.15:40000, 13-byte payload (odd), checksum 0x700b. */
static const char known_udp4_hex[] =
    "52540012345652550000000208004500002912344000401110800a0002020a00020f"
    "00359c400015700b656d62657220636865636b736d";
/* The same with a payload whose checksum computes to 0; the field holds 0 ("no checksum"). */
static const char known_udp4_zero_hex[] =
    "52540012345652550000000208004500002912344000401110800a0002020a0002"
    "0f00359c4000150000656d6265722063686563db7e6d";
/* TCP 10.0.2.2:8000 -> 10.0.2.15:33000, PSH|ACK, 37-byte payload, checksum 0x13fb. */
static const char known_tcp4_hex[] =
    "52540012345652550000000208004500004d12344000400610670a0002020a00020f1f4080e8010203040a0b0c0d"
    "5018721013fb0000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324";
/* TCP SYN fec0::2 -> fec0::15 with an MSS option, checksum 0xbbee. */
static const char known_tcp6_hex[] =
    "52540012345652550000000286dd6000000000180640fec000000000000000000000"
    "00000002fec000000000000000000000000000151f4080e81122334400000000"
    "6002ffffbbee00000204ffc4";

static inline size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned hi = (unsigned)(hex[0] <= '9' ? hex[0] - '0' : (hex[0] | 0x20) - 'a' + 10);
        unsigned lo = (unsigned)(hex[1] <= '9' ? hex[1] - '0' : (hex[1] | 0x20) - 'a' + 10);
        out[n++] = (uint8_t)(hi << 4 | lo);
    }
    return n;
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
