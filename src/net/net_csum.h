/* Internet checksums (RFC 1071) for virtio-net's offloads: completing a checksum the guest left
 * partial (VIRTIO_NET_HDR_F_NEEDS_CSUM, virtio 1.2 sec. 5.1.6.2) and verifying the TCP/UDP
 * checksum of a received frame before telling the guest it is valid (DATA_VALID, 5.1.6.4).
 * Sums are over 16-bit words in memory order: the ones'-complement sum does not depend on
 * byte order (RFC 1071 sec. 2(B)), so a result stored back with memcpy has the network-order
 * bytes. Frames are plain Ethernet II (no VLAN tag). */
#ifndef EMBER_NET_NET_CSUM_H
#define EMBER_NET_NET_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Adds the ones'-complement sum of buf[0..len) to sum (a value from an earlier call, or 0).
 * An odd length counts the last byte as a word padded with zero, so only the final piece of
 * a longer sum may be odd. The result is not folded to 16 bits. */
uint32_t net_csum_partial(const void *buf, size_t len, uint32_t sum);

/* Folds a partial sum to 16 bits (not complemented). */
uint16_t net_csum_fold(uint32_t sum);

/* Completes a partial checksum in place: the complemented sum of frame[start..len) is stored
 * at frame[start + offset] (0 is stored as 0xFFFF, which means the same and keeps UDP's "no
 * checksum" value out). -EINVAL, frame unchanged, unless start + offset + 2 <= len. */
int net_csum_complete(uint8_t *frame, size_t len, size_t start, size_t offset);

/* True only if frame is IPv4 (not a fragment) or IPv6 (no extension headers) carrying TCP or
 * UDP whose checksum, with the pseudo-header, checks out. False for anything else, including
 * malformed or truncated packets and UDP without a checksum. */
bool net_csum_l4_verify(const uint8_t *frame, size_t len);

#endif
