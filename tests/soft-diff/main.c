/* soft-diff: differential test of ember's soft x86-64 CPU against the host CPU. Generates
 * seeded random cases per instruction family, runs each natively (sandboxed child) and on the
 * soft CPU, compares everything, and reports per family and per instruction. Families listed
 * in the claimed file must agree on every case; the others are reported (not-implemented
 * counts as skipped). The last line is "N passed, M failed"; the exit status is 1 if M > 0. */
#include <cpuid.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diff.h"
#include "gen.h"

#define BATCH      128
#define MAX_MNEMS  96
#define MAX_FAMSEL 64

enum verdict { V_PASS, V_FAIL, V_NOTIMPL };

struct mnem_stat {
    char name[24];
    unsigned pass, fail, notimpl;
};

struct fam_stat {
    bool selected, claimed, available;
    unsigned ran, pass, fail, notimpl, shown;
    unsigned nmnems;
    struct mnem_stat mnems[MAX_MNEMS];
};

struct options {
    uint64_t seed;
    unsigned cases;    /* per family */
    unsigned first;    /* first case index */
    double time_limit; /* seconds for the whole run (0: none) */
    unsigned show;     /* failure examples per family */
    bool verbose;
    const char *claimed_path;
    const char *families[MAX_FAMSEL];
    unsigned nfamilies;
};

struct run {
    struct options opt;
    struct diff_native *nat;
    struct diff_soft *soft; /* NULL: soft CPU not in this build */
    struct gen_features feat;
    struct fam_stat *fam;
    struct diff_case *cases;
    struct diff_outcome *nat_out, *soft_out;
    double start;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int family_index(const char *name)
{
    for (unsigned i = 0; i < gen_nfamilies; i++)
        if (strcmp(gen_families[i]->name, name) == 0)
            return (int)i;
    return -1;
}

/* claimed.txt: one family name per line; '#' starts a comment. Unknown names are an error so a
 * typo cannot silently un-claim a family. */
static int read_claimed(const char *path, struct fam_stat *fam)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "soft-diff: cannot open claimed list %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[256];
    unsigned lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = strchr(line, '#');
        if (p)
            *p = 0;
        char *tok = strtok(line, " \t\r\n");
        if (!tok)
            continue;
        int i = family_index(tok);
        if (i < 0) {
            fprintf(stderr, "soft-diff: %s:%u: unknown family '%s'\n", path, lineno, tok);
            rc = -1;
            continue;
        }
        fam[i].claimed = true;
    }
    fclose(f);
    return rc;
}

static void host_features(struct gen_features *f)
{
    unsigned a, b, c, d;
    memset(f, 0, sizeof *f);
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        char vendor[12];
        memcpy(vendor, &b, 4);
        memcpy(vendor + 4, &d, 4);
        memcpy(vendor + 8, &c, 4);
        f->host_amd =
            memcmp(vendor, "AuthenticAMD", 12) == 0 || memcmp(vendor, "HygonGenuine", 12) == 0;
    }
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        f->popcnt = c & (1u << 23);
        f->movbe = c & (1u << 22);
        f->cx16 = c & (1u << 13);
        f->sse3 = c & 1u;
        f->ssse3 = c & (1u << 9);
        f->fpu = d & 1u;
        f->mmx = d & (1u << 23);
        f->sse2 = (d & (1u << 25)) && (d & (1u << 26));
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d))
        f->lzcnt = c & (1u << 5);
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
        f->bmi1 = b & (1u << 3);
}

/* Optional instructions only when both the host and the soft CPU's CPUID have them. */
static void soft_features(struct run *r)
{
    uint32_t l1[4], e1[4], l7[4];
    struct gen_features *f = &r->feat;
    if (!r->soft)
        return;
    bool ok1 = diff_soft_cpuid(r->soft, 1, 0, l1),
         oke = diff_soft_cpuid(r->soft, 0x80000001, 0, e1);
    bool ok7 = diff_soft_cpuid(r->soft, 7, 0, l7);
    f->popcnt &= ok1 && (l1[2] & (1u << 23));
    f->movbe &= ok1 && (l1[2] & (1u << 22));
    f->cx16 &= ok1 && (l1[2] & (1u << 13));
    f->sse3 &= ok1 && (l1[2] & 1u);
    f->ssse3 &= ok1 && (l1[2] & (1u << 9));
    f->fpu &= ok1 && (l1[3] & 1u);
    f->mmx &= ok1 && (l1[3] & (1u << 23));
    f->sse2 &= ok1 && (l1[3] & (1u << 25)) && (l1[3] & (1u << 26));
    f->lzcnt &= oke && (e1[2] & (1u << 5));
    f->bmi1 &= ok7 && (l7[1] & (1u << 3));
}

static struct mnem_stat *mnem_slot(struct fam_stat *fs, const char *name)
{
    for (unsigned i = 0; i < fs->nmnems; i++)
        if (strcmp(fs->mnems[i].name, name) == 0)
            return &fs->mnems[i];
    if (fs->nmnems == MAX_MNEMS)
        return &fs->mnems[MAX_MNEMS - 1]; /* overflow bucket */
    struct mnem_stat *m = &fs->mnems[fs->nmnems++];
    snprintf(m->name, sizeof m->name, "%s", name);
    return m;
}

static enum verdict judge(const struct diff_case *c, const struct diff_outcome *n,
                          const struct diff_outcome *s, char *why, size_t len)
{
    if (diff_compare(c, n, s, why, len))
        return V_PASS;
    /* Not implemented yet: the soft CPU raised #UD (or has no CPU at all) where the host ran the
     * snippet to its end. */
    if ((s->vector == 6 && n->vector == DIFF_END) ||
        (s->vector == DIFF_ERROR && strcmp(s->detail, "soft CPU not built") == 0))
        return V_NOTIMPL;
    return V_FAIL;
}

static void print_code(const struct diff_case *c)
{
    for (unsigned i = 0; i < c->code_len; i++)
        printf("%02x", c->code[i]);
}

/* The initial state of a case (with --verbose, for failures): enough to rebuild it by hand. */
static void dump_input(const struct diff_case *c)
{
    static const char *const names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                          "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
    uint32_t mxcsr;
    uint16_t fcw;
    memcpy(&mxcsr, c->in.fx + 24, 4);
    memcpy(&fcw, c->in.fx, 2);
    printf("       input:");
    for (unsigned i = 0; i < 16; i++)
        printf("%s %s=%#" PRIx64, i % 4 ? "" : "\n        ", names[i], c->in.gpr[i]);
    printf("\n         rflags=%#" PRIx64 " mxcsr=%#x fcw=%#x\n", c->in.rflags, mxcsr, fcw);
    if (!c->cmp_fpu)
        return;
    for (unsigned i = 0; i < 16; i++) {
        uint64_t lo, hi;
        memcpy(&lo, c->in.fx + 160 + 16 * i, 8);
        memcpy(&hi, c->in.fx + 168 + 16 * i, 8);
        printf("         xmm%-2u=%016" PRIx64 ":%016" PRIx64 "%s", i, hi, lo, i % 2 ? "\n" : "");
    }
}

/* The x87/SSE part of an FXSAVE image (with --verbose, for failures of x87/SSE cases). */
static void dump_fx(const char *who, const uint8_t fx[512])
{
    uint16_t fcw, fsw;
    uint32_t mxcsr;
    memcpy(&fcw, fx, 2);
    memcpy(&fsw, fx + 2, 2);
    memcpy(&mxcsr, fx + 24, 4);
    printf("       %s: fcw=%#x fsw=%#x ftw=%#x mxcsr=%#x\n", who, fcw, fsw, fx[4], mxcsr);
    for (unsigned i = 0; i < 8; i++) {
        uint64_t mant;
        uint16_t se;
        memcpy(&mant, fx + 32 + 16 * i, 8);
        memcpy(&se, fx + 40 + 16 * i, 2);
        printf("%s st%u=%04x:%016" PRIx64 "%s", i % 4 ? "" : "         ", i, se, mant,
               i % 4 == 3 ? "\n" : "");
    }
}

static void record(struct run *r, unsigned fam, const struct diff_case *c,
                   const struct diff_outcome *n, const struct diff_outcome *s)
{
    struct fam_stat *fs = &r->fam[fam];
    char why[512];
    enum verdict v = judge(c, n, s, why, sizeof why);
    struct mnem_stat *m = mnem_slot(fs, c->mnemonic[0] ? c->mnemonic : "?");
    fs->ran++;
    if (v == V_PASS) {
        fs->pass++;
        m->pass++;
    } else if (v == V_NOTIMPL) {
        fs->notimpl++;
        m->notimpl++;
    } else {
        fs->fail++;
        m->fail++;
    }
    bool show = v != V_PASS && (fs->claimed || v == V_FAIL) && fs->shown < r->opt.show;
    if (r->opt.verbose || show) {
        if (v != V_PASS)
            fs->shown++;
        printf("  %s %s#%u [%s] code=",
               v == V_PASS   ? "ok  "
               : v == V_FAIL ? "FAIL"
                             : "UNIMPL",
               gen_families[fam]->name, c->index, c->text);
        print_code(c);
        if (n->vector >= 0)
            printf(" (host: #%d at %#" PRIx64 ")", n->vector, n->rip);
        printf("\n");
        if (v != V_PASS && r->opt.verbose) {
            dump_input(c);
            if (c->cmp_fpu) {
                dump_fx("host", n->out.fx);
                dump_fx("soft", s->out.fx);
            }
        }
        if (v != V_PASS)
            printf("       %s\n       reproduce: soft-diff --seed %" PRIu64
                   " --family %s --first %u --cases 1 --verbose\n",
                   why, r->opt.seed, gen_families[fam]->name, c->index);
    }
}

/* Per-case seeding: every case is reproducible on its own from (seed, family, index). */
static void case_rng(struct rng *rng, uint64_t seed, unsigned fam, uint32_t index)
{
    rng_seed(rng, seed ^ ((uint64_t)(fam + 1) * 0x9e3779b97f4a7c15ULL) ^
                      ((uint64_t)index * 0xd1b54a32d192ed03ULL));
}

/* Runs cases [done, done + n) of family fam (relative to --first). */
static int run_batch(struct run *r, unsigned fam, unsigned done, unsigned n)
{
    unsigned made = 0;
    for (unsigned i = 0; i < n; i++) {
        struct rng rng;
        uint32_t index = r->opt.first + done + i;
        case_rng(&rng, r->opt.seed, fam, index);
        if (gen_case(&rng, &r->feat, fam, index, &r->cases[made]))
            made++;
        else
            fprintf(stderr, "soft-diff: %s#%u: generator made no valid case\n",
                    gen_families[fam]->name, index);
    }
    int rc = diff_native_run(r->nat, r->cases, made, r->nat_out);
    if (rc < 0) {
        fprintf(stderr, "soft-diff: native run failed: %s\n", strerror(-rc));
        return rc;
    }
    for (unsigned i = 0; i < made; i++) {
        diff_soft_run(r->soft, &r->cases[i], &r->soft_out[i]);
        record(r, fam, &r->cases[i], &r->nat_out[i], &r->soft_out[i]);
    }
    return 0;
}

/* Round-robin over the families one batch at a time, so a time limit spreads the cases over
 * all of them. */
static int run_all(struct run *r)
{
    for (unsigned done = 0; done < r->opt.cases; done += BATCH) {
        unsigned n = r->opt.cases - done < BATCH ? r->opt.cases - done : BATCH;
        for (unsigned f = 0; f < gen_nfamilies; f++) {
            if (!r->fam[f].selected || !r->fam[f].available)
                continue;
            if (r->opt.time_limit > 0 && now_s() - r->start > r->opt.time_limit)
                return 0;
            int rc = run_batch(r, f, done, n);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static void report_family(const struct run *r, unsigned fam)
{
    const struct fam_stat *fs = &r->fam[fam];
    const char *status = !fs->ran && !fs->available ? "not advertised"
                         : !fs->ran                 ? "not run"
                         : fs->claimed ? (fs->pass == fs->ran ? "claimed, ok" : "claimed, FAILING")
                         : fs->pass == fs->ran && fs->ran ? "unclaimed, all pass"
                                                          : "unclaimed";
    printf("%-13s %6u ran %6u pass %5u fail %5u not-impl   [%s] %s\n", gen_families[fam]->name,
           fs->ran, fs->pass, fs->fail, fs->notimpl, status, gen_families[fam]->what);
    if (fs->pass == fs->ran)
        return;
    for (unsigned i = 0; i < fs->nmnems; i++) {
        const struct mnem_stat *m = &fs->mnems[i];
        if (m->fail || m->notimpl)
            printf("    %-22s %5u pass %5u fail %5u not-impl\n", m->name, m->pass, m->fail,
                   m->notimpl);
    }
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: soft-diff [--seed N] [--cases N] [--first N] [--time-limit SECONDS]\n"
        "                 [--claimed FILE] [--family NAME]... [--show N] [--verbose] [--list]\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, 's'},    {"cases", required_argument, NULL, 'n'},
        {"first", required_argument, NULL, 'f'},   {"time-limit", required_argument, NULL, 't'},
        {"claimed", required_argument, NULL, 'c'}, {"family", required_argument, NULL, 'F'},
        {"show", required_argument, NULL, 'S'},    {"verbose", no_argument, NULL, 'v'},
        {"list", no_argument, NULL, 'l'},          {NULL, 0, NULL, 0},
    };
    o->seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
    o->cases = 200;
    o->show = 3;
    int ch;
    char *end;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            o->seed = strtoull(optarg, &end, 0);
            if (*end)
                goto bad;
            break;
        case 'n':
            o->cases = (unsigned)strtoul(optarg, &end, 0);
            if (*end)
                goto bad;
            break;
        case 'f':
            o->first = (unsigned)strtoul(optarg, &end, 0);
            if (*end)
                goto bad;
            break;
        case 't':
            o->time_limit = strtod(optarg, &end);
            if (*end)
                goto bad;
            break;
        case 'S':
            o->show = (unsigned)strtoul(optarg, &end, 0);
            if (*end)
                goto bad;
            break;
        case 'c':
            o->claimed_path = optarg;
            break;
        case 'F':
            if (family_index(optarg) < 0) {
                fprintf(stderr, "soft-diff: unknown family '%s' (see --list)\n", optarg);
                return -1;
            }
            if (o->nfamilies == MAX_FAMSEL)
                goto bad;
            o->families[o->nfamilies++] = optarg;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'l':
            for (unsigned i = 0; i < gen_nfamilies; i++)
                printf("%-13s %s\n", gen_families[i]->name, gen_families[i]->what);
            exit(0);
        default:
            goto bad;
        }
    }
    if (optind != argc)
        goto bad;
    return 0;
bad:
    usage();
    return -1;
}

static int setup(struct run *r)
{
    r->fam = calloc(gen_nfamilies, sizeof *r->fam);
    r->cases = calloc(BATCH, sizeof *r->cases);
    r->nat_out = calloc(BATCH, sizeof *r->nat_out);
    r->soft_out = calloc(BATCH, sizeof *r->soft_out);
    if (!r->fam || !r->cases || !r->nat_out || !r->soft_out) {
        fprintf(stderr, "soft-diff: out of memory\n");
        return -1;
    }
    if (r->opt.claimed_path && read_claimed(r->opt.claimed_path, r->fam) < 0)
        return -1;
    for (unsigned i = 0; i < r->opt.nfamilies; i++)
        r->fam[family_index(r->opt.families[i])].selected = true;
    for (unsigned i = 0; i < gen_nfamilies; i++)
        if (r->opt.nfamilies == 0)
            r->fam[i].selected = true;
    int rc = diff_native_create(BATCH, &r->nat);
    if (rc < 0) {
        fprintf(stderr, "soft-diff: cannot set up native runs: %s\n", strerror(-rc));
        return -1;
    }
    rc = diff_soft_create(&r->soft);
    if (rc == -ENOSYS) {
        printf("soft-diff: the soft CPU is not part of this build: every family is skipped "
               "(native side still runs)\n");
        r->soft = NULL;
    } else if (rc < 0) {
        fprintf(stderr, "soft-diff: cannot set up the soft CPU: %s\n", strerror(-rc));
        return -1;
    }
    host_features(&r->feat);
    soft_features(r);
    for (unsigned i = 0; i < gen_nfamilies; i++)
        r->fam[i].available = !gen_families[i]->available || gen_families[i]->available(&r->feat);
    return 0;
}

static void teardown(struct run *r)
{
    diff_soft_destroy(r->soft);
    diff_native_destroy(r->nat);
    free(r->fam);
    free(r->cases);
    free(r->nat_out);
    free(r->soft_out);
}

int main(int argc, char **argv)
{
    struct run r;
    memset(&r, 0, sizeof r);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_args(argc, argv, &r.opt) < 0)
        return 2;
    if (setup(&r) < 0) {
        teardown(&r);
        return 2;
    }
    printf("soft-diff: seed %" PRIu64 ", %u cases per family from #%u%s\n", r.opt.seed, r.opt.cases,
           r.opt.first, r.soft ? "" : " (native only)");
    r.start = now_s();
    int rc = run_all(&r);

    uint64_t passed = 0, failed = 0, skipped = 0, unclaimed_mismatch = 0, total = 0;
    printf("\nfamily          cases                                        status\n");
    for (unsigned i = 0; i < gen_nfamilies; i++) {
        struct fam_stat *fs = &r.fam[i];
        if (!fs->selected)
            continue;
        report_family(&r, i);
        total += fs->ran;
        passed += fs->pass;
        if (fs->claimed) {
            failed += fs->fail + fs->notimpl;
            if (!fs->available) /* a claimed family the soft CPU does not advertise */
                failed++;
        } else {
            skipped += fs->notimpl;
            unclaimed_mismatch += fs->fail;
        }
    }
    printf("\nsoft-diff: seed %" PRIu64 ", %" PRIu64 " cases in %.1f s\n", r.opt.seed, total,
           now_s() - r.start);
    printf("mismatched in unclaimed families (not counted as failed): %" PRIu64 "\n",
           unclaimed_mismatch);
    printf("skipped (not implemented): %" PRIu64 "\n", skipped);
    printf("%" PRIu64 " passed, %" PRIu64 " failed\n", passed, failed);
    teardown(&r);
    if (rc < 0)
        return 2;
    return failed ? 1 : 0;
}
