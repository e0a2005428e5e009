/* I/O APIC (82093AA data sheet sections 3.1-3.2: IOREGSEL, IOWIN, IOAPICID, IOAPICVER,
 * IOAPICARB, IOREDTBL).
 * XXX: input polarity (RTE bit 13) is not modelled: `level` always means "asserted". */
#include "platform/ioapic.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/iobus.h"
#include "core/memmap.h"
#include "util/log.h"

#define IOAPIC_REGSEL    0x00
#define IOAPIC_WIN       0x10
#define IOAPIC_MMIO_SIZE 0x20

#define IOAPIC_REG_ID     0x00
#define IOAPIC_REG_VER    0x01
#define IOAPIC_REG_ARB    0x02
#define IOAPIC_REG_REDTBL 0x10

#define IOAPIC_VERSION 0x11

#define RTE_VECTOR       0xFFULL
#define RTE_DM_SHIFT     8
#define RTE_DEST_LOGICAL (1ULL << 11)
#define RTE_DELIVS       (1ULL << 12)
#define RTE_POLARITY     (1ULL << 13)
#define RTE_REMOTE_IRR   (1ULL << 14)
#define RTE_LEVEL        (1ULL << 15)
#define RTE_MASKED       (1ULL << 16)
#define RTE_DEST_SHIFT   56
/* Bits the guest may write (delivery status and remote IRR are read-only). */
#define RTE_WRITABLE (0xFF00000000000000ULL | 0x1AFFFULL)

struct ioapic {
    pthread_mutex_t lock;
    uint32_t regsel;
    uint32_t id;
    uint64_t rte[IOAPIC_PINS];
    uint32_t lines; /* input levels */
    irq_msg_fn deliver;
    void *deliver_opaque;
};

/* Sends the entry's message. Called with the lock held (lock order: IOAPIC, then LAPIC). */
static void send_locked(struct ioapic *io, unsigned pin)
{
    uint64_t e = io->rte[pin];
    struct irq_msg msg = {
        .vector = (uint8_t)(e & RTE_VECTOR),
        .mode = (enum lapic_delivery)((e >> RTE_DM_SHIFT) & 7),
        .dest = (uint8_t)(e >> RTE_DEST_SHIFT),
        .logical = e & RTE_DEST_LOGICAL,
        .level_trig = e & RTE_LEVEL,
    };
    if (msg.level_trig)
        io->rte[pin] |= RTE_REMOTE_IRR;
    io->deliver(io->deliver_opaque, &msg);
}

/* A level input that is asserted, unmasked and not in service is (re)sent. */
static void service_level_locked(struct ioapic *io, unsigned pin)
{
    uint64_t e = io->rte[pin];
    if ((e & RTE_LEVEL) && !(e & RTE_MASKED) && !(e & RTE_REMOTE_IRR) && (io->lines & (1u << pin)))
        send_locked(io, pin);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level)
{
    if (pin >= IOAPIC_PINS)
        return;
    uint32_t m = 1u << pin;
    pthread_mutex_lock(&io->lock);
    bool was = io->lines & m;
    if (level)
        io->lines |= m;
    else
        io->lines &= ~m;
    uint64_t e = io->rte[pin];
    if (e & RTE_LEVEL)
        service_level_locked(io, pin);
    else if (level && !was && !(e & RTE_MASKED))
        send_locked(io, pin);
    pthread_mutex_unlock(&io->lock);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    pthread_mutex_lock(&io->lock);
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = io->rte[pin];
        if ((e & RTE_LEVEL) && (e & RTE_REMOTE_IRR) && (e & RTE_VECTOR) == vector) {
            io->rte[pin] &= ~RTE_REMOTE_IRR;
            service_level_locked(io, pin);
        }
    }
    pthread_mutex_unlock(&io->lock);
}

void ioapic_reset(struct ioapic *io)
{
    pthread_mutex_lock(&io->lock);
    io->regsel = 0;
    io->id = 0;
    for (unsigned i = 0; i < IOAPIC_PINS; i++)
        io->rte[i] = RTE_MASKED;
    pthread_mutex_unlock(&io->lock);
}

struct ioapic *ioapic_create(irq_msg_fn deliver, void *opaque)
{
    struct ioapic *io = calloc(1, sizeof(*io));
    if (!io) {
        log_error("ioapic: out of memory");
        return NULL;
    }
    int rc = pthread_mutex_init(&io->lock, NULL);
    if (rc != 0) {
        log_error("ioapic: pthread_mutex_init: %s", strerror(rc));
        free(io);
        return NULL;
    }
    io->deliver = deliver;
    io->deliver_opaque = opaque;
    ioapic_reset(io);
    return io;
}

void ioapic_destroy(struct ioapic *io)
{
    if (!io)
        return;
    pthread_mutex_destroy(&io->lock);
    free(io);
}

static uint32_t read_reg_locked(struct ioapic *io)
{
    uint32_t r = io->regsel;
    switch (r) {
    case IOAPIC_REG_ID:
        return io->id;
    case IOAPIC_REG_VER:
        return (uint32_t)(IOAPIC_PINS - 1) << 16 | IOAPIC_VERSION;
    case IOAPIC_REG_ARB:
        return io->id;
    default:
        break;
    }
    /* regsel is guest-controlled: index checked against the table size. */
    if (r >= IOAPIC_REG_REDTBL && r < IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS) {
        uint64_t e = io->rte[(r - IOAPIC_REG_REDTBL) / 2];
        return (r & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
    }
    return 0xFFFFFFFFu;
}

static void write_reg_locked(struct ioapic *io, uint32_t v)
{
    uint32_t r = io->regsel;
    if (r == IOAPIC_REG_ID) {
        io->id = v & 0x0F000000u;
        return;
    }
    if (r < IOAPIC_REG_REDTBL || r >= IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS)
        return;
    unsigned pin = (r - IOAPIC_REG_REDTBL) / 2;
    uint64_t e = io->rte[pin];
    uint64_t ro = e & ~RTE_WRITABLE;
    if (r & 1)
        e = (e & 0xFFFFFFFFULL) | (uint64_t)v << 32;
    else
        e = (e & 0xFFFFFFFF00000000ULL) | v;
    e = (e & RTE_WRITABLE) | ro;
    if (!(e & RTE_LEVEL))
        e &= ~RTE_REMOTE_IRR;
    io->rte[pin] = e;
    service_level_locked(io, pin);
}

uint64_t ioapic_mmio_read(struct ioapic *io, uint64_t offset, unsigned size)
{
    uint64_t v = 0;
    pthread_mutex_lock(&io->lock);
    if (offset == IOAPIC_REGSEL)
        v = io->regsel;
    else if (offset == IOAPIC_WIN)
        v = read_reg_locked(io);
    pthread_mutex_unlock(&io->lock);
    if (size < 4)
        v &= (1ULL << (size * 8)) - 1;
    return v;
}

void ioapic_mmio_write(struct ioapic *io, uint64_t offset, uint64_t value, unsigned size)
{
    if (size != 4) {
        log_debug("ioapic: ignored %u-byte write at %#llx", size, (unsigned long long)offset);
        return;
    }
    pthread_mutex_lock(&io->lock);
    if (offset == IOAPIC_REGSEL)
        io->regsel = (uint32_t)value & 0xFF;
    else if (offset == IOAPIC_WIN)
        write_reg_locked(io, (uint32_t)value);
    pthread_mutex_unlock(&io->lock);
}

static uint64_t bus_read(void *opaque, uint64_t offset, unsigned size)
{
    return ioapic_mmio_read(opaque, offset, size);
}

static void bus_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    ioapic_mmio_write(opaque, offset, value, size);
}

static const struct iobus_ops ioapic_ops = {.read = bus_read, .write = bus_write};

int ioapic_register(struct ioapic *io, struct iobus *mmio)
{
    int rc = iobus_register(mmio, MEMMAP_IOAPIC_BASE, 0x1000, &ioapic_ops, io, "ioapic");
    if (rc < 0)
        log_error("ioapic: cannot claim %#llx: %s", (unsigned long long)MEMMAP_IOAPIC_BASE,
                  strerror(-rc));
    return rc;
}
