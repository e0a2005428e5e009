/* Decompression of qcow2 compressed clusters (spec "Compressed Clusters Descriptor"):
 * raw deflate (zlib, compression type 0) or a zstd frame (type 1). The input is untrusted and
 * may carry trailing padding; the output must be exactly one cluster. */
#include <errno.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "block/qcow2.h"

static int inflate_raw(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
    z_stream s;
    memset(&s, 0, sizeof(s));
    if (inflateInit2(&s, -15) != Z_OK)
        return -ENOMEM;
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)in_len;
    s.next_out = out;
    s.avail_out = (uInt)out_len;
    int r = inflate(&s, Z_FINISH);
    size_t produced = out_len - s.avail_out;
    inflateEnd(&s);
    /* Z_BUF_ERROR with a full output is fine: the input is padded past the stream end. */
    if ((r == Z_STREAM_END || r == Z_BUF_ERROR || r == Z_OK) && produced == out_len)
        return 0;
    return -EIO;
}

static int unzstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (!d)
        return -ENOMEM;
    ZSTD_inBuffer ib = {in, in_len, 0};
    ZSTD_outBuffer ob = {out, out_len, 0};
    int ret = -EIO;
    for (;;) {
        size_t r = ZSTD_decompressStream(d, &ob, &ib);
        if (ZSTD_isError(r))
            break;
        if (ob.pos == out_len) {
            ret = 0;
            break;
        }
        if (r == 0 || ib.pos == ib.size)
            break; /* frame ended (or input ran out) before a full cluster */
    }
    ZSTD_freeDCtx(d);
    return ret;
}

int qcow2_decompress(enum qcow2_compression type, const uint8_t *in, size_t in_len, uint8_t *out,
                     size_t out_len)
{
    switch (type) {
    case QCOW2_COMPRESS_ZLIB:
        return inflate_raw(in, in_len, out, out_len);
    case QCOW2_COMPRESS_ZSTD:
        return unzstd(in, in_len, out, out_len);
    default:
        return -ENOTSUP;
    }
}
