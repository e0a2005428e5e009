/* 8254 PIT (82C54 data sheet: control word, counter latch, read-back, modes 0-5, BCD) and the
 * PC/AT port 0x61. Counter values and OUT are derived from the vclock on every access, so
 * polling loops (Linux's PIT calibration) see a counter that moves in real time. */
#include "platform/pit8254.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/iobus.h"
#include "core/memmap.h"
#include "core/vclock.h"
#include "util/log.h"

#define CTRL_SC_SHIFT      6
#define CTRL_RW_SHIFT      4
#define CTRL_MODE_SHIFT    1
#define CTRL_BCD           0x01
#define READBACK_NO_COUNT  0x20
#define READBACK_NO_STATUS 0x10

#define ACCESS_LATCH 0
#define ACCESS_LSB   1
#define ACCESS_MSB   2
#define ACCESS_WORD  3

#define P61_GATE2   0x01
#define P61_SPEAKER 0x02
#define P61_REFRESH 0x10
#define P61_OUT2    0x20

/* Fastest periodic IRQ 0 we generate (guest count 1 would be 1.19 MHz). */
#define PIT_MIN_IRQ_PERIOD_NS 20000ULL

struct pit_channel {
    uint8_t mode, access;
    bool bcd;
    uint32_t reload;   /* counts per cycle: 1..65536 (10000 in BCD) */
    bool loaded;       /* a count has been written; counting runs */
    uint64_t start_ns; /* vclock time counting (re)started */
    bool gate;
    uint64_t frozen_ticks; /* elapsed ticks while the gate is low */
    bool write_msb_next;
    uint8_t write_lsb;
    bool read_msb_next;
    uint8_t latch_bytes; /* bytes of latched count still to be read (0: not latched) */
    uint16_t latch;
    bool status_latched;
    uint8_t status;
    uint64_t irqs_done; /* channel 0: output cycles already signalled */
};

struct pit8254 {
    pthread_mutex_t lock;
    const struct vclock *clock;
    struct pit_channel ch[3];
    uint8_t port61; /* bits 0-1 as written */
    pit8254_irq_fn irq;
    void *irq_opaque;
    pit8254_arm_fn arm;
    void *arm_opaque;
};

static uint64_t ns_to_ticks(uint64_t ns)
{
    return (uint64_t)(((unsigned __int128)ns * PIT_HZ) / 1000000000ULL);
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
    return (uint64_t)(((unsigned __int128)ticks * 1000000000ULL + PIT_HZ - 1) / PIT_HZ);
}

static uint32_t from_bcd(uint16_t v)
{
    uint32_t r = 0;
    for (int shift = 12; shift >= 0; shift -= 4) {
        uint32_t d = (v >> shift) & 0xF;
        r = r * 10 + (d > 9 ? 9 : d);
    }
    return r;
}

static uint16_t to_bcd(uint32_t v)
{
    uint16_t r = 0;
    for (int i = 0; i < 4; i++, v /= 10)
        r |= (uint16_t)((v % 10) << (4 * i));
    return r;
}

static uint64_t elapsed_ticks(const struct pit_channel *c, uint64_t now)
{
    if (!c->loaded)
        return 0;
    if (!c->gate)
        return c->frozen_ticks;
    return now > c->start_ns ? ns_to_ticks(now - c->start_ns) : 0;
}

static bool periodic(const struct pit_channel *c)
{
    return c->mode == 2 || c->mode == 3;
}

/* Counter value (binary) at time now. */
static uint32_t counter_value(const struct pit_channel *c, uint64_t now)
{
    if (!c->loaded)
        return c->reload & 0xFFFF;
    uint64_t t = elapsed_ticks(c, now);
    uint32_t n = c->reload;
    uint32_t modulus = c->bcd ? 10000 : 65536;
    switch (c->mode) {
    case 2:
        return n - (uint32_t)(t % n);
    case 3: {
        uint64_t half = (n + 1) / 2;
        uint64_t phase = t % half;
        return (uint32_t)((n - 2 * phase) & ~1u) % modulus;
    }
    default: /* 0, 1, 4, 5: counts down through 0 and wraps */
        return (uint32_t)((n + modulus - (t % modulus)) % modulus);
    }
}

static bool output(const struct pit_channel *c, uint64_t now)
{
    if (!c->loaded)
        return c->mode != 0;
    uint64_t t = elapsed_ticks(c, now);
    uint32_t n = c->reload;
    switch (c->mode) {
    case 0:
    case 1:
        return t >= n;
    case 2:
        return t % n != n - 1;
    case 3:
        return t % n < (n + 1) / 2;
    default:
        return t != n; /* 4, 5: one-tick low strobe */
    }
}

/* Channel 0: the number of output rising edges (interrupts) up to time now. */
static uint64_t irq_cycles(const struct pit_channel *c, uint64_t now)
{
    if (!c->loaded)
        return 0;
    uint64_t t = elapsed_ticks(c, now);
    if (periodic(c))
        return t / c->reload;
    return t >= c->reload ? 1 : 0;
}

static uint64_t irq_period_ns(const struct pit_channel *c)
{
    uint64_t p = ticks_to_ns(c->reload);
    return p < PIT_MIN_IRQ_PERIOD_NS ? PIT_MIN_IRQ_PERIOD_NS : p;
}

static uint64_t next_irq_ns_locked(const struct pit8254 *pit)
{
    const struct pit_channel *c = &pit->ch[0];
    if (!c->loaded || !c->gate)
        return UINT64_MAX;
    if (!periodic(c))
        return c->irqs_done ? UINT64_MAX : c->start_ns + ticks_to_ns(c->reload);
    return c->start_ns + (c->irqs_done + 1) * irq_period_ns(c);
}

static void rearm(struct pit8254 *pit, uint64_t deadline)
{
    if (pit->arm)
        pit->arm(pit->arm_opaque, deadline);
}

void pit8254_poll(struct pit8254 *pit)
{
    pthread_mutex_lock(&pit->lock);
    struct pit_channel *c = &pit->ch[0];
    uint64_t now = vclock_ns(pit->clock);
    bool fire = false;
    if (c->loaded && c->gate) {
        uint64_t due = periodic(c) ? (now - c->start_ns) / irq_period_ns(c) : irq_cycles(c, now);
        if (now < c->start_ns)
            due = 0;
        if (due > c->irqs_done) {
            /* XXX: missed periods are coalesced into one interrupt (the guest sees one tick). */
            c->irqs_done = due;
            fire = true;
        }
    }
    uint64_t next = next_irq_ns_locked(pit);
    pthread_mutex_unlock(&pit->lock);
    if (fire && pit->irq) {
        pit->irq(pit->irq_opaque, true);
        pit->irq(pit->irq_opaque, false);
    }
    rearm(pit, next);
}

static void load_count(struct pit8254 *pit, unsigned idx, uint16_t raw, uint64_t now)
{
    struct pit_channel *c = &pit->ch[idx];
    uint32_t n = c->bcd ? from_bcd(raw) : raw;
    if (n == 0)
        n = c->bcd ? 10000 : 65536;
    /* Mode 2 and 3 need at least 2 counts per cycle (82C54: count of 1 is illegal). */
    if (periodic(c) && n < 2)
        n = 2;
    c->reload = n;
    c->loaded = true;
    c->start_ns = now;
    c->frozen_ticks = 0;
    c->irqs_done = 0;
}

static void write_control(struct pit8254 *pit, uint8_t v, uint64_t now)
{
    unsigned sc = v >> CTRL_SC_SHIFT;
    if (sc == 3) { /* read-back command */
        for (unsigned i = 0; i < 3; i++) {
            if (!(v & (2u << i)))
                continue;
            struct pit_channel *c = &pit->ch[i];
            if (!(v & READBACK_NO_COUNT) && !c->latch_bytes) {
                uint32_t cv = counter_value(c, now);
                c->latch = c->bcd ? to_bcd(cv) : (uint16_t)cv;
                c->latch_bytes = c->access == ACCESS_WORD ? 2 : 1;
            }
            if (!(v & READBACK_NO_STATUS) && !c->status_latched) {
                c->status = (uint8_t)((output(c, now) ? 0x80 : 0) | (c->loaded ? 0 : 0x40) |
                                      c->access << CTRL_RW_SHIFT | c->mode << CTRL_MODE_SHIFT |
                                      (c->bcd ? 1 : 0));
                c->status_latched = true;
            }
        }
        return;
    }
    struct pit_channel *c = &pit->ch[sc];
    unsigned access = (v >> CTRL_RW_SHIFT) & 3;
    if (access == ACCESS_LATCH) {
        if (!c->latch_bytes) {
            uint32_t cv = counter_value(c, now);
            c->latch = c->bcd ? to_bcd(cv) : (uint16_t)cv;
            c->latch_bytes = c->access == ACCESS_WORD ? 2 : 1;
        }
        return;
    }
    unsigned mode = (v >> CTRL_MODE_SHIFT) & 7;
    if (mode > 5)
        mode -= 4; /* 6 and 7 alias 2 and 3 */
    c->access = (uint8_t)access;
    c->mode = (uint8_t)mode;
    c->bcd = v & CTRL_BCD;
    c->loaded = false; /* a new control word stops the counter until a count is written */
    c->write_msb_next = false;
    c->read_msb_next = false;
    c->latch_bytes = 0;
    c->status_latched = false;
}

static void write_counter(struct pit8254 *pit, unsigned idx, uint8_t v, uint64_t now)
{
    struct pit_channel *c = &pit->ch[idx];
    switch (c->access) {
    case ACCESS_LSB:
        load_count(pit, idx, v, now);
        break;
    case ACCESS_MSB:
        load_count(pit, idx, (uint16_t)(v << 8), now);
        break;
    default:
        if (!c->write_msb_next) {
            c->write_lsb = v;
            c->write_msb_next = true;
        } else {
            c->write_msb_next = false;
            load_count(pit, idx, (uint16_t)(c->write_lsb | v << 8), now);
        }
        break;
    }
}

static uint8_t read_counter(struct pit8254 *pit, unsigned idx, uint64_t now)
{
    struct pit_channel *c = &pit->ch[idx];
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    uint16_t value;
    bool msb;
    if (c->latch_bytes) {
        value = c->latch;
        msb = c->access == ACCESS_MSB || (c->access == ACCESS_WORD && c->latch_bytes == 1);
        c->latch_bytes--;
    } else {
        uint32_t cv = counter_value(c, now);
        value = c->bcd ? to_bcd(cv) : (uint16_t)cv;
        msb = c->access == ACCESS_MSB || (c->access == ACCESS_WORD && c->read_msb_next);
        if (c->access == ACCESS_WORD)
            c->read_msb_next = !c->read_msb_next;
    }
    return msb ? (uint8_t)(value >> 8) : (uint8_t)value;
}

static void set_gate2(struct pit8254 *pit, bool gate, uint64_t now)
{
    struct pit_channel *c = &pit->ch[2];
    if (gate == c->gate)
        return;
    if (!gate) {
        c->frozen_ticks = elapsed_ticks(c, now);
        c->gate = false;
        return;
    }
    c->gate = true;
    /* Rising gate: modes 1, 2, 3, 5 restart the count; 0 and 4 resume.
     * XXX: on channels 0 and 1 (gate tied high) modes 1 and 5 start at the count write instead
     * of waiting for a gate edge that can never come. */
    if (c->mode == 0 || c->mode == 4)
        c->start_ns = now - ticks_to_ns(c->frozen_ticks);
    else
        c->start_ns = now;
}

uint8_t pit8254_io_read(struct pit8254 *pit, uint16_t port)
{
    uint8_t v = 0xFF;
    pthread_mutex_lock(&pit->lock);
    uint64_t now = vclock_ns(pit->clock);
    if (port >= PORT_PIT && port < PORT_PIT + 3) {
        v = read_counter(pit, port - PORT_PIT, now);
    } else if (port == PORT_SYSTEM_CONTROL_B) {
        /* Refresh request toggles every 15.085 us on the AT. */
        v = (uint8_t)((pit->port61 & (P61_GATE2 | P61_SPEAKER)) |
                      ((now / 15085) & 1 ? P61_REFRESH : 0) |
                      (output(&pit->ch[2], now) ? P61_OUT2 : 0));
    }
    pthread_mutex_unlock(&pit->lock);
    return v;
}

void pit8254_io_write(struct pit8254 *pit, uint16_t port, uint8_t value)
{
    pthread_mutex_lock(&pit->lock);
    uint64_t now = vclock_ns(pit->clock);
    if (port >= PORT_PIT && port < PORT_PIT + 3) {
        write_counter(pit, port - PORT_PIT, value, now);
    } else if (port == PORT_PIT_CONTROL) {
        write_control(pit, value, now);
    } else if (port == PORT_SYSTEM_CONTROL_B) {
        pit->port61 = value & (P61_GATE2 | P61_SPEAKER);
        set_gate2(pit, value & P61_GATE2, now);
    }
    uint64_t next = next_irq_ns_locked(pit);
    pthread_mutex_unlock(&pit->lock);
    rearm(pit, next);
}

void pit8254_reset(struct pit8254 *pit)
{
    pthread_mutex_lock(&pit->lock);
    memset(pit->ch, 0, sizeof(pit->ch));
    for (unsigned i = 0; i < 3; i++) {
        pit->ch[i].reload = 65536;
        pit->ch[i].access = ACCESS_WORD;
        pit->ch[i].gate = i != 2; /* channels 0 and 1 have their gate tied high */
    }
    pit->port61 = 0;
    pthread_mutex_unlock(&pit->lock);
    rearm(pit, UINT64_MAX);
}

struct pit8254 *pit8254_create(const struct vclock *clock, pit8254_irq_fn irq, void *irq_opaque,
                               pit8254_arm_fn arm, void *arm_opaque)
{
    struct pit8254 *pit = calloc(1, sizeof(*pit));
    if (!pit) {
        log_error("pit: out of memory");
        return NULL;
    }
    int rc = pthread_mutex_init(&pit->lock, NULL);
    if (rc != 0) {
        log_error("pit: pthread_mutex_init: %s", strerror(rc));
        free(pit);
        return NULL;
    }
    pit->clock = clock;
    pit->irq = irq;
    pit->irq_opaque = irq_opaque;
    pit->arm = arm;
    pit->arm_opaque = arm_opaque;
    pit8254_reset(pit);
    return pit;
}

void pit8254_destroy(struct pit8254 *pit)
{
    if (!pit)
        return;
    pthread_mutex_destroy(&pit->lock);
    free(pit);
}

static uint64_t pit_bus_read(void *opaque, uint64_t offset, unsigned size)
{
    return pit8254_io_read(opaque, (uint16_t)(PORT_PIT + offset));
}

static void pit_bus_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    pit8254_io_write(opaque, (uint16_t)(PORT_PIT + offset), (uint8_t)value);
}

static uint64_t p61_bus_read(void *opaque, uint64_t offset, unsigned size)
{
    return pit8254_io_read(opaque, PORT_SYSTEM_CONTROL_B);
}

static void p61_bus_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    pit8254_io_write(opaque, PORT_SYSTEM_CONTROL_B, (uint8_t)value);
}

static const struct iobus_ops pit_ops = {.read = pit_bus_read, .write = pit_bus_write};
static const struct iobus_ops p61_ops = {.read = p61_bus_read, .write = p61_bus_write};

int pit8254_register(struct pit8254 *pit, struct iobus *pio)
{
    int rc = iobus_register(pio, PORT_PIT, 4, &pit_ops, pit, "pit");
    if (rc == 0)
        rc = iobus_register(pio, PORT_SYSTEM_CONTROL_B, 1, &p61_ops, pit, "port61");
    if (rc < 0)
        log_error("pit: cannot claim its I/O ports: %s", strerror(-rc));
    return rc;
}
