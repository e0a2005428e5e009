/* Host side of the differential tester: runs snippets on the real CPU inside a forked child
 * that maps the fixed code/data/control pages, loads the case's registers, x87/SSE state and
 * RFLAGS through the assembly stub (native_stub.S), jumps into the snippet and stores everything
 * back when the snippet jumps to the exit stub. A fault becomes a signal whose ucontext gives the
 * vector (trapno), error code, CR2 and the registers at the fault. The child runs under a
 * seccomp filter (exit, rt_sigreturn, sigaltstack queries, write to stderr) and is killed when it
 * stops making progress. */
#include <errno.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diff.h"
#include "native_ctl.h"

void diff_native_enter(void);
extern const char diff_native_exit[];
extern const char diff_native_resume[];

/* Shared with the child: its progress and the outcomes it writes. */
struct native_shared {
    _Atomic unsigned progress; /* index of the case being run; n when all are done */
    struct diff_outcome out[];
};

struct diff_native {
    unsigned batch_max;
    size_t shared_size;
    struct native_shared *sh;
};

/* The outcome the child's fault handler fills in. A signal handler can only find it through
 * a global; it lives in the child process only (set before each case), so VMs/tests in the
 * parent are unaffected. */
static struct diff_outcome *native_cur_out;

static const int native_gpr_from_greg[16] = {
    REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
    REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

static void native_fault(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    struct diff_outcome *o = native_cur_out;
    greg_t *g = uc->uc_mcontext.gregs;

    o->vector = (int)(g[REG_TRAPNO] & 0xff);
    o->error_code = (uint32_t)g[REG_ERR];
    o->fault_addr = o->vector == 14 ? (uint64_t)(uintptr_t)si->si_addr : 0;
    o->rip = (uint64_t)g[REG_RIP];
    for (int i = 0; i < 16; i++)
        o->out.gpr[i] = (uint64_t)g[native_gpr_from_greg[i]];
    o->out.rflags = (uint64_t)g[REG_EFL];
    if (uc->uc_mcontext.fpregs)
        memcpy(o->out.fx, uc->uc_mcontext.fpregs, sizeof o->out.fx);
    if (sig == SIGTRAP && o->vector != 3 && o->vector != 1) /* e.g. a trap without trapno */
        o->vector = 3;
    /* Resume in the stub's epilogue: it reloads the host stack and FPU state. */
    g[REG_RIP] = (greg_t)(uintptr_t)diff_native_resume;
    g[REG_EFL] &= ~(greg_t)((1 << 8) | (1 << 10)); /* TF, DF */
}

static _Noreturn void child_die(const char *what)
{
    /* stderr only: the parent reports the child's exit status. */
    (void)!write(2, what, strlen(what));
    _exit(111);
}

static void child_map(uint64_t addr, uint64_t size, int prot)
{
    void *p = mmap((void *)(uintptr_t)addr, size, prot,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED || p != (void *)(uintptr_t)addr)
        child_die("soft-diff child: cannot map a fixed test page (address in use?)\n");
}

static void child_setup(void)
{
    child_map(DIFF_CODE_ADDR, DIFF_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
    child_map(DIFF_WIN_ADDR, DIFF_WIN_SIZE, PROT_READ | PROT_WRITE);
    child_map((uint64_t)CTL_ADDR, CTL_SIZE, PROT_READ | PROT_WRITE);

    stack_t ss = {.ss_sp = (void *)(uintptr_t)(CTL_ADDR + CTL_ALTSTACK),
                  .ss_size = CTL_ALTSTACK_SIZE};
    if (sigaltstack(&ss, NULL) != 0)
        child_die("soft-diff child: sigaltstack failed\n");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = native_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], &sa, NULL) != 0)
            child_die("soft-diff child: sigaction failed\n");

    /* The sandbox: only what the run loop needs. */
    scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!f)
        child_die("soft-diff child: seccomp_init failed\n");
    if (seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(exit_group), 0) != 0 ||
        seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(exit), 0) != 0 ||
        seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigreturn), 0) != 0 ||
        /* ASan queries the signal stack before noreturn calls such as _exit. */
        seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(sigaltstack), 1, SCMP_A0(SCMP_CMP_EQ, 0)) !=
            0 ||
        seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, SCMP_A0(SCMP_CMP_EQ, 2)) != 0 ||
        seccomp_load(f) != 0)
        child_die("soft-diff child: cannot install the seccomp filter\n");
    seccomp_release(f);
}

static void child_run_case(const struct diff_case *c, struct diff_outcome *o)
{
    uint8_t *code = (uint8_t *)(uintptr_t)DIFF_CODE_ADDR;
    uint8_t *ctl = (uint8_t *)(uintptr_t)CTL_ADDR;
    /* Terminator: jmp *[CTL_ADDR + CTL_EXIT] (FF /4, SIB absolute disp32). */
    const uint32_t exit_ptr = (uint32_t)(CTL_ADDR + CTL_EXIT);
    const uint8_t term[7] = {0xff,
                             0x24,
                             0x25,
                             (uint8_t)exit_ptr,
                             (uint8_t)(exit_ptr >> 8),
                             (uint8_t)(exit_ptr >> 16),
                             (uint8_t)(exit_ptr >> 24)};
    uint64_t entry = DIFF_CODE_ADDR, exitp = (uint64_t)(uintptr_t)diff_native_exit;

    memset(code, 0xcc, DIFF_CODE_SIZE);
    memcpy(code, c->code, c->code_len);
    memcpy(code + c->code_len, term, sizeof term);
    memcpy((void *)(uintptr_t)DIFF_WIN_ADDR, c->win, DIFF_WIN_SIZE);
    memcpy(ctl + CTL_IN_GPR, c->in.gpr, sizeof c->in.gpr);
    memcpy(ctl + CTL_IN_FLAGS, &c->in.rflags, 8);
    memcpy(ctl + CTL_ENTRY, &entry, 8);
    memcpy(ctl + CTL_EXIT, &exitp, 8);
    memcpy(ctl + CTL_FX_IN, c->in.fx, 512);

    memset(o, 0, sizeof *o);
    o->vector = DIFF_END;
    native_cur_out = o;
    diff_native_enter();
    if (o->vector == DIFF_END) {
        o->rip = DIFF_CODE_ADDR + c->code_len;
        memcpy(o->out.gpr, ctl + CTL_OUT_GPR, sizeof o->out.gpr);
        memcpy(&o->out.rflags, ctl + CTL_OUT_FLAGS, 8);
        memcpy(o->out.fx, ctl + CTL_FX_OUT, 512);
    }
    memcpy(o->win, (void *)(uintptr_t)DIFF_WIN_ADDR, DIFF_WIN_SIZE);
}

static _Noreturn void child_main(struct native_shared *sh, const struct diff_case *cases,
                                 unsigned start, unsigned n)
{
    child_setup();
    for (unsigned i = start; i < n; i++) {
        atomic_store(&sh->progress, i);
        child_run_case(&cases[i], &sh->out[i]);
    }
    atomic_store(&sh->progress, n);
    _exit(0);
}

int diff_native_create(unsigned batch_max, struct diff_native **out)
{
    struct diff_native *nat = calloc(1, sizeof *nat);
    if (!nat)
        return -ENOMEM;
    nat->batch_max = batch_max;
    nat->shared_size = sizeof(struct native_shared) + batch_max * sizeof(struct diff_outcome);
    nat->sh =
        mmap(NULL, nat->shared_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (nat->sh == MAP_FAILED) {
        int err = -errno;
        free(nat);
        return err;
    }
    *out = nat;
    return 0;
}

void diff_native_destroy(struct diff_native *nat)
{
    if (!nat)
        return;
    munmap(nat->sh, nat->shared_size);
    free(nat);
}

static void mark_error(struct diff_outcome *o, int vector, const char *detail)
{
    memset(o, 0, sizeof *o);
    o->vector = vector;
    snprintf(o->detail, sizeof o->detail, "%s", detail);
}

/* Waits for the child; kills it when progress stalls for stall_ms. Returns the wait status,
 * or -errno. */
static int wait_child(pid_t pid, struct native_shared *sh, int stall_ms, bool *killed)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0)
        return -errno;
    unsigned last = atomic_load(&sh->progress);
    int idle = 0;
    *killed = false;
    for (;;) {
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        int r = poll(&pfd, 1, 50);
        if (r < 0 && errno != EINTR) {
            int err = -errno;
            close(pidfd);
            return err;
        }
        if (r > 0)
            break;
        unsigned now = atomic_load(&sh->progress);
        if (now != last) {
            last = now;
            idle = 0;
        } else if ((idle += 50) >= stall_ms && !*killed) {
            if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) != 0) {
                int err = -errno;
                close(pidfd);
                return err;
            }
            *killed = true;
        }
    }
    close(pidfd);
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return -errno;
    return status;
}

int diff_native_run(struct diff_native *nat, const struct diff_case *cases, unsigned n,
                    struct diff_outcome *out)
{
    if (n > nat->batch_max)
        return -EINVAL;
    unsigned start = 0;
    while (start < n) {
        atomic_store(&nat->sh->progress, start);
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            return -errno;
        if (pid == 0)
            child_main(nat->sh, cases, start, n);
        bool killed = false;
        int status = wait_child(pid, nat->sh, 1000, &killed);
        if (status < 0)
            return status;
        unsigned done = atomic_load(&nat->sh->progress);
        if (done > n)
            return -EIO;
        memcpy(&out[start], &nat->sh->out[start], (done - start) * sizeof *out);
        if (done == n && WIFEXITED(status) && WEXITSTATUS(status) == 0)
            break;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 111)
            return -EADDRINUSE; /* child could not set up (message on stderr) */
        char why[64];
        if (done == n) { /* all cases ran but the child did not exit cleanly */
            fprintf(stderr, "soft-diff: native child ended with status %#x after its last case\n",
                    status);
            return -EIO;
        }
        if (killed)
            snprintf(why, sizeof why, "native run timed out");
        else if (WIFSIGNALED(status))
            snprintf(why, sizeof why, "native child killed by signal %d", WTERMSIG(status));
        else
            snprintf(why, sizeof why, "native child exited with status %d",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        mark_error(&out[done], killed ? DIFF_TIMEOUT : DIFF_ERROR, why);
        start = done + 1;
    }
    return 0;
}

void diff_fx_default(uint8_t fx[512])
{
    memset(fx, 0, 512);
    fx[0] = 0x7f; /* FCW = 0x037f */
    fx[1] = 0x03;
    const uint32_t mxcsr = 0x1f80, mxcsr_mask = 0xffff;
    memcpy(fx + 24, &mxcsr, 4);
    memcpy(fx + 28, &mxcsr_mask, 4);
}
