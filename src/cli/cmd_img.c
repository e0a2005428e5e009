/* `ember img`: the disk-image tool (create, info, check, snapshot, convert, resize, commit),
 * built on the block layer's image API (src/block) with its own io_uring ring. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "block/blk_driver.h"
#include "block/qcow2.h"
#include "cli/cmd_img.h"
#include "util/parse.h"

#define IMG_EXIT_ERROR 1
#define IMG_EXIT_USAGE 2
#define COPY_CHUNK     (1u << 20)

static const char img_usage[] =
    "usage: ember img COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  create [-f qcow2|raw] [-o OPTS] [-b BACKING -F FMT] FILE [SIZE]\n"
    "  info [--output=human|json] FILE\n"
    "  check [-r leaks|all] FILE\n"
    "  snapshot (-l | -c NAME | -a NAME | -d NAME) FILE\n"
    "  convert [-f FMT] [-O qcow2|raw] [-o OPTS] [-p] SRC DST\n"
    "  resize [-f FMT] FILE [+]SIZE\n"
    "  commit FILE\n"
    "\n"
    "Run `ember img COMMAND --help` for the options of one command.\n";

static const char *const cmd_help[][2] = {
    {"create", "usage: ember img create [-f qcow2|raw] [-o OPTS] [-b BACKING -F FMT] FILE [SIZE]\n"
               "  Creates FILE. SIZE takes K/M/G/T suffixes; with a backing file it defaults\n"
               "  to the backing file's size. -F names the backing format (raw or qcow2): it\n"
               "  is recorded in the image, never probed later. OPTS (qcow2): cluster_size=N,\n"
               "  compat=0.10|1.1 (version 2 or 3), refcount_bits=1..64.\n"},
    {"info", "usage: ember img info [--output=human|json] FILE\n"
             "  Shows format, sizes, backing file, snapshots and qcow2 details.\n"},
    {"check", "usage: ember img check [-r leaks|all] FILE\n"
              "  Verifies qcow2 metadata and refcounts. -r leaks frees leaked clusters.\n"
              "  Exit status: 0 clean, 2 corruption found, 3 leaked clusters found.\n"},
    {"snapshot", "usage: ember img snapshot (-l | -c NAME | -a NAME | -d NAME) FILE\n"
                 "  -l lists, -c creates, -a applies (reverts the disk to), -d deletes an\n"
                 "  internal qcow2 snapshot.\n"},
    {"convert", "usage: ember img convert [-f FMT] [-O qcow2|raw] [-o OPTS] [-p] SRC DST\n"
                "  Copies SRC (any format, whole backing chain) into a new DST. Zero areas\n"
                "  stay unallocated. A progress bar is shown on a terminal (or with -p).\n"},
    {"resize", "usage: ember img resize [-f FMT] FILE [+]SIZE\n"
               "  Grows the virtual disk to SIZE (or by SIZE with '+'). Shrinking is refused.\n"},
    {"commit", "usage: ember img commit FILE\n"
               "  Writes the data of the qcow2 overlay FILE into its backing file, then empties\n"
               "  the overlay.\n"},
};

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

static int print_cmd_help(const char *cmd)
{
    for (size_t i = 0; i < sizeof(cmd_help) / sizeof(cmd_help[0]); i++)
        if (strcmp(cmd_help[i][0], cmd) == 0) {
            fputs(cmd_help[i][1], stdout);
            return 0;
        }
    return IMG_EXIT_USAGE;
}

static int usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "ember img %s: %s\n", cmd, msg);
    for (size_t i = 0; i < sizeof(cmd_help) / sizeof(cmd_help[0]); i++)
        if (strcmp(cmd_help[i][0], cmd) == 0)
            fputs(cmd_help[i][1], stderr);
    return IMG_EXIT_USAGE;
}

/* An image opened by the tool on its own ring (no I/O thread). */
struct img_handle {
    struct io_uring ring;
    bool ring_ok;
    struct blk_image *img;
};

static int handle_open(struct img_handle *h, const char *path, enum blk_format fmt, bool ro,
                       bool no_backing)
{
    memset(h, 0, sizeof(*h));
    int r = io_uring_queue_init(16, &h->ring, 0);
    if (r < 0) {
        fprintf(stderr, "ember img: io_uring setup failed: %s\n", strerror(-r));
        return r;
    }
    h->ring_ok = true;
    struct blk_open_opts o;
    blk_open_opts_init(&o);
    o.format = fmt;
    o.read_only = ro;
    o.no_backing = no_backing;
    char err[BLK_ERRBUF_SIZE] = "";
    r = blk_image_open(path, &o, &h->ring, NULL, &h->img, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "ember img: %s\n", err[0] ? err : strerror(-r));
        io_uring_queue_exit(&h->ring);
        h->ring_ok = false;
    }
    return r;
}

static int handle_close(struct img_handle *h)
{
    int r = 0;
    if (h->img) {
        if (!h->img->read_only)
            r = h->img->ops->flush(h->img);
        if (r < 0)
            fprintf(stderr, "ember img: %s: flush failed: %s\n", h->img->path, strerror(-r));
        blk_image_close(h->img);
        h->img = NULL;
    }
    if (h->ring_ok)
        io_uring_queue_exit(&h->ring);
    h->ring_ok = false;
    return r;
}

static int parse_format(const char *s, enum blk_format *f)
{
    if (strcmp(s, "qcow2") == 0)
        *f = BLK_FORMAT_QCOW2;
    else if (strcmp(s, "raw") == 0)
        *f = BLK_FORMAT_RAW;
    else
        return -EINVAL;
    return 0;
}

/* Parses qcow2 creation options "cluster_size=64k,compat=1.1,refcount_bits=16". */
static int parse_create_opts(const char *list, struct qcow2_create_opts *o)
{
    struct kv_iter it;
    kv_iter_init(&it, list);
    while (kv_iter_next(&it)) {
        uint64_t v;
        if (strcmp(it.key, "cluster_size") == 0) {
            if (parse_size(it.value, 1, &v) < 0 || v < 512 || v > (2u << 20) || (v & (v - 1)))
                return -EINVAL;
            o->cluster_bits = (unsigned)__builtin_ctzll(v);
        } else if (strcmp(it.key, "compat") == 0) {
            if (strcmp(it.value, "0.10") == 0 || strcmp(it.value, "v2") == 0)
                o->version = 2;
            else if (strcmp(it.value, "1.1") == 0 || strcmp(it.value, "v3") == 0)
                o->version = 3;
            else
                return -EINVAL;
        } else if (strcmp(it.key, "refcount_bits") == 0) {
            if (parse_u64(it.value, 1, 64, &v) < 0 || (v & (v - 1)))
                return -EINVAL;
            o->refcount_bits = (unsigned)v;
        } else {
            return -EINVAL;
        }
    }
    return it.error ? -EINVAL : 0;
}

static int create_raw(const char *path, uint64_t size)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
        fprintf(stderr, "ember img: %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -errno;
    }
    close(fd);
    return 0;
}

/* Size of an image file (any format), for backing files without an explicit size. */
static int image_size(const char *path, enum blk_format fmt, uint64_t *size)
{
    struct img_handle h;
    int r = handle_open(&h, path, fmt, true, false);
    if (r < 0)
        return r;
    *size = h.img->size;
    handle_close(&h);
    return 0;
}

static int do_create(const char *path, enum blk_format fmt, bool have_size, uint64_t size,
                     struct qcow2_create_opts *o)
{
    if (fmt == BLK_FORMAT_RAW) {
        if (o->backing_file) {
            fprintf(stderr, "ember img: raw images cannot have a backing file\n");
            return -EINVAL;
        }
        return create_raw(path, size);
    }
    if (o->backing_file && !have_size) {
        enum blk_format bf = BLK_FORMAT_RAW;
        if (!o->backing_format || parse_format(o->backing_format, &bf) < 0)
            return -EINVAL;
        /* Relative backing names are relative to the new image's directory. */
        char *full = NULL;
        if (o->backing_file[0] != '/') {
            char *copy = strdup(path);
            const char *slash = copy ? strrchr(copy, '/') : NULL;
            if (copy && slash) {
                copy[slash - copy] = 0;
                if (asprintf(&full, "%s/%s", copy, o->backing_file) < 0)
                    full = NULL;
            }
            free(copy);
        }
        int r = image_size(full ? full : o->backing_file, bf, &size);
        free(full);
        if (r < 0)
            return r;
    }
    o->size = size;
    char err[BLK_ERRBUF_SIZE] = "";
    int r = qcow2_create(path, o, err, sizeof(err));
    if (r < 0)
        fprintf(stderr, "ember img: %s\n", err);
    return r;
}

static int cmd_create(int argc, char **argv)
{
    enum blk_format fmt = BLK_FORMAT_QCOW2;
    struct qcow2_create_opts o = {0};
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "f:o:b:F:")) != -1) {
        switch (c) {
        case 'f':
            if (parse_format(optarg, &fmt) < 0)
                return usage_error("create", "unknown format (use qcow2 or raw)");
            break;
        case 'o':
            if (parse_create_opts(optarg, &o) < 0)
                return usage_error("create", "bad -o option list");
            break;
        case 'b':
            o.backing_file = optarg;
            break;
        case 'F':
            o.backing_format = optarg;
            break;
        default:
            return usage_error("create", "unknown option");
        }
    }
    if (optind >= argc || argc - optind > 2)
        return usage_error("create", "expected FILE [SIZE]");
    const char *path = argv[optind];
    uint64_t size = 0;
    bool have_size = argc - optind == 2;
    if (have_size && parse_size(argv[optind + 1], 1, &size) < 0)
        return usage_error("create", "bad SIZE");
    if (!have_size && !o.backing_file)
        return usage_error("create", "SIZE is required without a backing file");
    enum blk_format bf;
    if (o.backing_file && (!o.backing_format || parse_format(o.backing_format, &bf) < 0))
        return usage_error("create", "-b needs -F raw|qcow2 (the backing format is recorded, "
                                     "never probed)");
    return do_create(path, fmt, have_size, size, &o) < 0 ? IMG_EXIT_ERROR : 0;
}

static void human_size(uint64_t v, char *buf, size_t n)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double d = (double)v;
    unsigned u = 0;
    while (d >= 1024 && u < 6) {
        d /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, n, "%" PRIu64 " B", v);
    else
        snprintf(buf, n, "%.3g %s", d, units[u]);
}

static void format_date(uint32_t sec, char *buf, size_t n)
{
    time_t t = sec;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static json_t *snapshot_json(const struct qcow2_snapshot *s)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "id", s->id, "name", s->name,
                     "vm-state-size", (json_int_t)s->vm_state_size, "date-sec",
                     (json_int_t)s->date_sec, "date-nsec", (json_int_t)s->date_nsec, "vm-clock-sec",
                     (json_int_t)(s->vm_clock_nsec / 1000000000ull), "vm-clock-nsec",
                     (json_int_t)(s->vm_clock_nsec % 1000000000ull));
}

static void print_snapshot_table(FILE *f, const struct qcow2 *q)
{
    fprintf(f, "Snapshot list:\n%-10s%-20s%10s%20s%15s\n", "ID", "TAG", "VM SIZE", "DATE",
            "VM CLOCK");
    for (uint32_t i = 0; i < q->nb_snaps; i++) {
        const struct qcow2_snapshot *s = &q->snaps[i];
        char date[32], vs[32];
        format_date(s->date_sec, date, sizeof(date));
        human_size(s->vm_state_size, vs, sizeof(vs));
        uint64_t ms = s->vm_clock_nsec / 1000000;
        fprintf(f, "%-10s%-20s%10s%20s %04" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%03" PRIu64 "\n",
                s->id, s->name, vs, date, ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
    }
}

static int info_json(const char *path, struct blk_image *img, uint64_t disk)
{
    struct qcow2 *q = qcow2_from_image(img);
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:b}", "filename", path, "format",
                          blk_format_name(img->format), "virtual-size", (json_int_t)img->size,
                          "actual-size", (json_int_t)disk, "dirty-flag", 0);
    if (!o)
        return -ENOMEM;
    if (q) {
        json_object_set_new(o, "cluster-size", json_integer((json_int_t)q->cluster_size));
        if (q->h.backing_file[0]) {
            json_object_set_new(o, "backing-filename", json_string(q->h.backing_file));
            if (q->h.backing_format[0])
                json_object_set_new(o, "backing-filename-format", json_string(q->h.backing_format));
        }
        json_t *snaps = json_array();
        for (uint32_t i = 0; i < q->nb_snaps; i++)
            json_array_append_new(snaps, snapshot_json(&q->snaps[i]));
        json_object_set_new(o, "snapshots", snaps);
        json_t *data = json_pack(
            "{s:s, s:s, s:b, s:i, s:b, s:b}", "compat", q->h.version == 2 ? "0.10" : "1.1",
            "compression-type", q->h.compression_type ? "zstd" : "zlib", "lazy-refcounts",
            (int)((q->h.compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0), "refcount-bits",
            1 << q->h.refcount_order, "corrupt",
            (int)((q->h.incompatible_features & QCOW2_INCOMPAT_CORRUPT) != 0), "extended-l2",
            (int)q->extended_l2);
        json_object_set_new(o, "format-specific",
                            json_pack("{s:s, s:o}", "type", "qcow2", "data", data));
    }
    char *s = json_dumps(o, JSON_INDENT(4));
    json_decref(o);
    if (!s)
        return -ENOMEM;
    puts(s);
    free(s);
    return 0;
}

static void info_human(const char *path, struct blk_image *img, uint64_t disk)
{
    struct qcow2 *q = qcow2_from_image(img);
    char vs[32], ds[32];
    human_size(img->size, vs, sizeof(vs));
    human_size(disk, ds, sizeof(ds));
    printf("image: %s\nfile format: %s\nvirtual size: %s (%" PRIu64 " bytes)\ndisk size: %s\n",
           path, blk_format_name(img->format), vs, img->size, ds);
    if (!q)
        return;
    printf("cluster_size: %" PRIu64 "\n", q->cluster_size);
    if (q->h.backing_file[0]) {
        printf("backing file: %s\n", q->h.backing_file);
        if (q->h.backing_format[0])
            printf("backing file format: %s\n", q->h.backing_format);
    }
    if (q->nb_snaps)
        print_snapshot_table(stdout, q);
    printf("Format specific information:\n    compat: %s\n    compression type: %s\n"
           "    lazy refcounts: %s\n    refcount bits: %u\n    corrupt: %s\n"
           "    extended l2: %s\n",
           q->h.version == 2 ? "0.10" : "1.1", q->h.compression_type ? "zstd" : "zlib",
           (q->h.compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS) ? "true" : "false",
           1u << q->h.refcount_order,
           (q->h.incompatible_features & QCOW2_INCOMPAT_CORRUPT) ? "true" : "false",
           q->extended_l2 ? "true" : "false");
}

static int cmd_info(int argc, char **argv)
{
    bool json = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--output=json") == 0)
            json = true;
        else if (strcmp(argv[i], "--output=human") == 0)
            json = false;
        else if (argv[i][0] == '-' || path)
            return usage_error("info", "unexpected argument");
        else
            path = argv[i];
    }
    if (!path)
        return usage_error("info", "expected FILE");
    struct img_handle h;
    if (handle_open(&h, path, BLK_FORMAT_PROBE, true, true) < 0)
        return IMG_EXIT_ERROR;
    struct stat st;
    uint64_t disk = fstat(h.img->file.fd, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
    int r = 0;
    if (json)
        r = info_json(path, h.img, disk);
    else
        info_human(path, h.img, disk);
    handle_close(&h);
    return r < 0 ? IMG_EXIT_ERROR : 0;
}

static struct qcow2 *need_qcow2(struct img_handle *h, const char *cmd)
{
    struct qcow2 *q = qcow2_from_image(h->img);
    if (!q)
        fprintf(stderr, "ember img %s: %s is not a qcow2 image\n", cmd, h->img->path);
    return q;
}

static int cmd_check(int argc, char **argv)
{
    bool repair = false;
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "r:")) != -1) {
        if (c != 'r' || (strcmp(optarg, "leaks") && strcmp(optarg, "all")))
            return usage_error("check", "bad option (use -r leaks|all)");
        repair = true;
    }
    if (optind != argc - 1)
        return usage_error("check", "expected FILE");
    struct img_handle h;
    if (handle_open(&h, argv[optind], BLK_FORMAT_PROBE, !repair, true) < 0)
        return IMG_EXIT_ERROR;
    struct qcow2 *q = need_qcow2(&h, "check");
    if (!q) {
        handle_close(&h);
        return IMG_EXIT_ERROR;
    }
    struct qcow2_check_result res;
    int r = qcow2_check(q, repair, &res, stderr);
    handle_close(&h);
    if (r < 0) {
        fprintf(stderr, "ember img check: %s: check failed: %s\n", argv[optind], strerror(-r));
        return IMG_EXIT_ERROR;
    }
    if (res.leaks_fixed)
        printf("The following inconsistencies were found and repaired:\n\n    %" PRIu64
               " leaked clusters\n    0 corruptions\n\n",
               res.leaks_fixed);
    uint64_t leaks = res.leaks - res.leaks_fixed;
    if (res.corruptions)
        printf("\n%" PRIu64 " errors were found on the image.\nData may be corrupted, or "
               "further writes to the image may corrupt it.\n",
               res.corruptions);
    if (leaks)
        printf("\n%" PRIu64 " leaked clusters were found on the image.\nThis means waste of "
               "disk space, but no harm to data.\n",
               leaks);
    if (!res.corruptions && !leaks)
        printf("No errors were found on the image.\n");
    printf("%" PRIu64 " clusters allocated\nImage end offset: %" PRIu64 "\n",
           res.allocated_clusters, res.image_end_offset);
    return res.corruptions ? 2 : leaks ? 3 : 0;
}

static int cmd_snapshot(int argc, char **argv)
{
    char op = 0;
    const char *name = NULL;
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "lc:a:d:")) != -1) {
        if (op || (c != 'l' && c != 'c' && c != 'a' && c != 'd'))
            return usage_error("snapshot", "give exactly one of -l, -c, -a, -d");
        op = (char)c;
        name = optarg;
    }
    if (!op || optind != argc - 1)
        return usage_error("snapshot", "expected one operation and FILE");
    struct img_handle h;
    if (handle_open(&h, argv[optind], BLK_FORMAT_PROBE, op == 'l', true) < 0)
        return IMG_EXIT_ERROR;
    struct qcow2 *q = need_qcow2(&h, "snapshot");
    int r = q ? 0 : -EINVAL;
    char err[BLK_ERRBUF_SIZE] = "";
    if (q && op == 'l')
        print_snapshot_table(stdout, q);
    else if (q && op == 'c')
        r = qcow2_snapshot_create(q, name, err, sizeof(err));
    else if (q && op == 'a')
        r = qcow2_snapshot_apply(q, name, err, sizeof(err));
    else if (q && op == 'd')
        r = qcow2_snapshot_delete(q, name, err, sizeof(err));
    if (r < 0 && err[0])
        fprintf(stderr, "ember img snapshot: %s: %s\n", argv[optind], err);
    int cr = handle_close(&h);
    return r < 0 || cr < 0 ? IMG_EXIT_ERROR : 0;
}

static void progress(bool show, uint64_t done, uint64_t total)
{
    if (!show)
        return;
    double pct = total ? 100.0 * (double)done / (double)total : 100.0;
    int bar = (int)(pct / 2.5);
    fprintf(stderr, "\r    [%-40.*s] %6.2f%%", bar, "########################################",
            pct);
    if (done >= total)
        fputc('\n', stderr);
    fflush(stderr);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Copies every non-zero chunk of src into dst (a fresh image that reads as zeroes). */
static int copy_image(struct blk_image *src, struct blk_image *dst, bool show)
{
    uint8_t *buf = malloc(COPY_CHUNK);
    if (!buf)
        return -ENOMEM;
    int r = 0;
    uint64_t size = src->size;
    progress(show, 0, size);
    for (uint64_t off = 0; off < size && r == 0; off += COPY_CHUNK) {
        size_t n = size - off < COPY_CHUNK ? (size_t)(size - off) : COPY_CHUNK;
        r = blk_image_pread(src, off, buf, n);
        if (r == 0 && !all_zero(buf, n))
            r = blk_image_pwrite(dst, off, buf, n);
        progress(show, off + n, size);
    }
    free(buf);
    return r;
}

static int cmd_convert(int argc, char **argv)
{
    enum blk_format in_fmt = BLK_FORMAT_PROBE, out_fmt = BLK_FORMAT_QCOW2;
    struct qcow2_create_opts o = {0};
    bool show = isatty(STDERR_FILENO);
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "f:O:o:p")) != -1) {
        switch (c) {
        case 'f':
            if (parse_format(optarg, &in_fmt) < 0)
                return usage_error("convert", "unknown source format");
            break;
        case 'O':
            if (parse_format(optarg, &out_fmt) < 0)
                return usage_error("convert", "unknown output format");
            break;
        case 'o':
            if (parse_create_opts(optarg, &o) < 0)
                return usage_error("convert", "bad -o option list");
            break;
        case 'p':
            show = true;
            break;
        default:
            return usage_error("convert", "unknown option");
        }
    }
    if (optind != argc - 2)
        return usage_error("convert", "expected SRC DST");
    struct img_handle src, dst;
    if (handle_open(&src, argv[optind], in_fmt, true, false) < 0)
        return IMG_EXIT_ERROR;
    int r = do_create(argv[optind + 1], out_fmt, true, src.img->size, &o);
    if (r == 0)
        r = handle_open(&dst, argv[optind + 1], out_fmt, false, true);
    if (r < 0) {
        handle_close(&src);
        return IMG_EXIT_ERROR;
    }
    r = copy_image(src.img, dst.img, show);
    if (r < 0)
        fprintf(stderr, "ember img convert: copy failed: %s\n", strerror(-r));
    int cr = handle_close(&dst);
    handle_close(&src);
    return r < 0 || cr < 0 ? IMG_EXIT_ERROR : 0;
}

static int cmd_resize(int argc, char **argv)
{
    enum blk_format fmt = BLK_FORMAT_PROBE;
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "f:")) != -1)
        if (c != 'f' || parse_format(optarg, &fmt) < 0)
            return usage_error("resize", "bad option");
    if (optind != argc - 2)
        return usage_error("resize", "expected FILE SIZE");
    const char *spec = argv[optind + 1];
    bool rel = spec[0] == '+';
    uint64_t v;
    if (parse_size(spec + rel, 1, &v) < 0)
        return usage_error("resize", "bad SIZE");
    struct img_handle h;
    if (handle_open(&h, argv[optind], fmt, false, true) < 0)
        return IMG_EXIT_ERROR;
    uint64_t size = rel ? h.img->size + v : v;
    int r;
    struct qcow2 *q = qcow2_from_image(h.img);
    if (size < h.img->size)
        r = -ENOTSUP;
    else if (q)
        r = qcow2_resize(q, size);
    else
        r = blk_file_truncate(&h.img->file, size);
    if (r < 0)
        fprintf(stderr, "ember img resize: %s: %s\n", argv[optind],
                r == -ENOTSUP ? "shrinking is not supported" : strerror(-r));
    int cr = handle_close(&h);
    if (r == 0 && cr == 0)
        printf("Image resized.\n");
    return r < 0 || cr < 0 ? IMG_EXIT_ERROR : 0;
}

/* Copies the clusters allocated in top (its own layer only) into base. */
static int commit_data(struct blk_image *top, struct blk_image *base)
{
    uint8_t *buf = malloc(COPY_CHUNK);
    if (!buf)
        return -ENOMEM;
    int r = 0;
    for (uint64_t off = 0; off < top->size && r == 0;) {
        uint64_t len = top->size - off < COPY_CHUNK ? top->size - off : COPY_CHUNK;
        enum blk_status st;
        uint64_t n;
        r = top->ops->block_status(top, off, len, &st, &n);
        if (r < 0 || n == 0)
            break;
        if (off + n > base->size && st != BLK_STATUS_UNALLOCATED) {
            r = -ENOSPC; /* the overlay is larger than its backing file */
            break;
        }
        if (st == BLK_STATUS_DATA) {
            r = blk_image_pread(top, off, buf, (size_t)n);
            if (r == 0)
                r = blk_image_pwrite(base, off, buf, (size_t)n);
        } else if (st == BLK_STATUS_ZERO) {
            r = base->ops->write_zeroes(base, off, n);
        }
        off += n;
    }
    free(buf);
    return r;
}

static int cmd_commit(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return usage_error("commit", "expected FILE");
    struct img_handle top, base;
    if (handle_open(&top, argv[1], BLK_FORMAT_PROBE, false, false) < 0)
        return IMG_EXIT_ERROR;
    struct qcow2 *q = need_qcow2(&top, "commit");
    if (!q || !q->backing) {
        if (q)
            fprintf(stderr, "ember img commit: %s has no backing file\n", argv[1]);
        handle_close(&top);
        return IMG_EXIT_ERROR;
    }
    if (handle_open(&base, q->backing->path, q->backing->format, false, true) < 0) {
        handle_close(&top);
        return IMG_EXIT_ERROR;
    }
    int r = commit_data(top.img, base.img);
    if (r == 0)
        r = base.img->ops->flush(base.img);
    if (r == 0) /* the backing file now holds the data: empty the overlay */
        r = qcow2_discard_range(q, 0, top.img->size, false);
    if (r < 0)
        fprintf(stderr, "ember img commit: %s: %s\n", argv[1], strerror(-r));
    int c1 = handle_close(&base);
    int c2 = handle_close(&top);
    if (r == 0 && c1 == 0 && c2 == 0)
        printf("Image committed.\n");
    return r < 0 || c1 < 0 || c2 < 0 ? IMG_EXIT_ERROR : 0;
}

int cmd_img(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(img_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? IMG_EXIT_USAGE : 0;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"create", cmd_create},     {"info", cmd_info},       {"check", cmd_check},
                {"snapshot", cmd_snapshot}, {"convert", cmd_convert}, {"resize", cmd_resize},
                {"commit", cmd_commit}};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(argv[1], cmds[i].name) != 0)
            continue;
        if (wants_help(argc - 1, argv + 1))
            return print_cmd_help(cmds[i].name);
        return cmds[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "ember img: unknown command '%s'\n%s", argv[1], img_usage);
    return IMG_EXIT_USAGE;
}
