/* Cascaded 8259A PICs (Intel 8259A data sheet: ICW1-4 initialisation, OCW1-3, priority
 * rotation, special mask mode, poll command) with the PIIX-style ELCR selecting edge or level
 * sensing per input. */
#include "platform/pic8259.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/iobus.h"
#include "core/memmap.h"
#include "util/log.h"

#define ICW1_IC4    0x01 /* ICW4 follows */
#define ICW1_SNGL   0x02 /* single chip, no ICW3 */
#define ICW1_INIT   0x10
#define OCW3_SELECT 0x08
#define OCW3_RIS    0x01
#define OCW3_RR     0x02
#define OCW3_POLL   0x04
#define OCW3_SMM    0x20
#define OCW3_ESMM   0x40
#define ICW4_AEOI   0x02
#define ICW4_SFNM   0x10

#define CASCADE_IRQ 2

/* ELCR bits that must stay 0: IRQ 0, 1, 2 (timer, keyboard, cascade) and IRQ 8 and 13. */
#define ELCR_MASTER_MASK 0xF8
#define ELCR_SLAVE_MASK  0xDE

struct pic_chip {
    uint8_t irr, isr, imr;
    uint8_t line; /* current input levels (edge detection) */
    uint8_t elcr; /* 1 = level sensitive */
    uint8_t elcr_mask;
    uint8_t vector_base;
    uint8_t priority_add; /* the input with the highest priority */
    uint8_t init_step;    /* 0: operating; 1..3: waiting for ICW2..ICW4 */
    bool icw4_needed, single, auto_eoi, rotate_on_aeoi, special_mask, read_isr, poll, sfnm;
};

struct pic8259 {
    pthread_mutex_t lock;
    struct pic_chip chip[2]; /* 0 master, 1 slave */
    atomic_bool intr;
    pic8259_intr_fn intr_cb;
    void *intr_opaque;
};

/* Priority level (0 = highest) of the best request in mask, or 8 if none. */
static unsigned priority_of(const struct pic_chip *c, uint8_t mask)
{
    if (!mask)
        return 8;
    unsigned p = 0;
    while (!(mask & (1u << ((p + c->priority_add) & 7))))
        p++;
    return p;
}

/* The input this chip would signal now, or -1. */
static int chip_pending(const struct pic_chip *c, bool master)
{
    unsigned p = priority_of(c, c->irr & ~c->imr);
    if (p == 8)
        return -1;
    uint8_t in_service = c->isr;
    if (c->special_mask)
        in_service &= ~c->imr;
    if (master && c->sfnm)
        in_service &= ~(1u << CASCADE_IRQ);
    if (p < priority_of(c, in_service))
        return (int)((p + c->priority_add) & 7);
    return -1;
}

static void chip_input(struct pic_chip *c, unsigned irq, bool level)
{
    uint8_t m = (uint8_t)(1u << irq);
    if (c->elcr & m) {
        if (level)
            c->irr |= m;
        else
            c->irr &= ~m;
    } else if (level && !(c->line & m)) {
        c->irr |= m; /* rising edge */
    }
    if (level)
        c->line |= m;
    else
        c->line &= ~m;
}

/* The slave's INTR drives master input 2 as a level. Then recomputes the output. */
static bool update_locked(struct pic8259 *pic)
{
    struct pic_chip *m = &pic->chip[0];
    if (chip_pending(&pic->chip[1], false) >= 0)
        m->irr |= 1u << CASCADE_IRQ;
    else
        m->irr &= ~(1u << CASCADE_IRQ);
    bool intr = chip_pending(m, true) >= 0;
    atomic_store(&pic->intr, intr);
    return intr;
}

static void notify(struct pic8259 *pic, bool was, bool now)
{
    if ((now || was != now) && pic->intr_cb)
        pic->intr_cb(pic->intr_opaque);
}

static void chip_ack(struct pic_chip *c, unsigned irq)
{
    uint8_t m = (uint8_t)(1u << irq);
    if (c->auto_eoi) {
        if (c->rotate_on_aeoi)
            c->priority_add = (uint8_t)((irq + 1) & 7);
    } else {
        c->isr |= m;
    }
    if (!(c->elcr & m))
        c->irr &= ~m;
}

static void chip_reset(struct pic_chip *c)
{
    uint8_t elcr = c->elcr, elcr_mask = c->elcr_mask;
    memset(c, 0, sizeof(*c));
    c->elcr = elcr;
    c->elcr_mask = elcr_mask;
}

void pic8259_reset(struct pic8259 *pic)
{
    pthread_mutex_lock(&pic->lock);
    for (unsigned i = 0; i < 2; i++) {
        chip_reset(&pic->chip[i]);
        pic->chip[i].elcr = 0;
    }
    pic->chip[0].elcr_mask = ELCR_MASTER_MASK;
    pic->chip[1].elcr_mask = ELCR_SLAVE_MASK;
    atomic_store(&pic->intr, false);
    pthread_mutex_unlock(&pic->lock);
}

struct pic8259 *pic8259_create(pic8259_intr_fn intr, void *opaque)
{
    struct pic8259 *pic = calloc(1, sizeof(*pic));
    if (!pic) {
        log_error("pic: out of memory");
        return NULL;
    }
    int rc = pthread_mutex_init(&pic->lock, NULL);
    if (rc != 0) {
        log_error("pic: pthread_mutex_init: %s", strerror(rc));
        free(pic);
        return NULL;
    }
    pic->intr_cb = intr;
    pic->intr_opaque = opaque;
    pic8259_reset(pic);
    return pic;
}

void pic8259_destroy(struct pic8259 *pic)
{
    if (!pic)
        return;
    pthread_mutex_destroy(&pic->lock);
    free(pic);
}

void pic8259_set_irq(struct pic8259 *pic, unsigned irq, bool level)
{
    if (irq >= 16 || irq == CASCADE_IRQ)
        return;
    pthread_mutex_lock(&pic->lock);
    bool was = atomic_load(&pic->intr);
    chip_input(&pic->chip[irq / 8], irq % 8, level);
    bool now = update_locked(pic);
    pthread_mutex_unlock(&pic->lock);
    notify(pic, was, now);
}

bool pic8259_has_intr(struct pic8259 *pic)
{
    return atomic_load(&pic->intr);
}

static int vector_locked(struct pic8259 *pic, bool ack)
{
    struct pic_chip *m = &pic->chip[0], *s = &pic->chip[1];
    int irq = chip_pending(m, true);
    if (irq < 0) /* the request went away: spurious IRQ 7 */
        return m->vector_base + 7;
    if (irq != CASCADE_IRQ) {
        if (ack)
            chip_ack(m, (unsigned)irq);
        return m->vector_base + irq;
    }
    int sirq = chip_pending(s, false);
    if (ack) {
        chip_ack(m, CASCADE_IRQ);
        if (sirq >= 0)
            chip_ack(s, (unsigned)sirq);
    }
    return s->vector_base + (sirq >= 0 ? sirq : 7);
}

int pic8259_peek_vector(struct pic8259 *pic)
{
    pthread_mutex_lock(&pic->lock);
    int v = chip_pending(&pic->chip[0], true) >= 0 ? vector_locked(pic, false) : -1;
    pthread_mutex_unlock(&pic->lock);
    return v;
}

int pic8259_intack(struct pic8259 *pic)
{
    pthread_mutex_lock(&pic->lock);
    bool was = atomic_load(&pic->intr);
    int v = vector_locked(pic, true);
    bool now = update_locked(pic);
    pthread_mutex_unlock(&pic->lock);
    notify(pic, was, now);
    return v;
}

static void write_command(struct pic_chip *c, uint8_t v)
{
    if (v & ICW1_INIT) {
        chip_reset(c);
        c->init_step = 1;
        c->icw4_needed = v & ICW1_IC4;
        c->single = v & ICW1_SNGL;
        return;
    }
    if (v & OCW3_SELECT) {
        if (v & OCW3_POLL)
            c->poll = true;
        if (v & OCW3_RR)
            c->read_isr = v & OCW3_RIS;
        if (v & OCW3_ESMM)
            c->special_mask = v & OCW3_SMM;
        return;
    }
    /* OCW2: R, SL, EOI in bits 7..5, level in 2..0. */
    unsigned level = v & 7;
    switch (v >> 5) {
    case 0:
        c->rotate_on_aeoi = false;
        break;
    case 4:
        c->rotate_on_aeoi = true;
        break;
    case 1: /* non-specific EOI */
    case 5: /* rotate on non-specific EOI */ {
        unsigned p = priority_of(c, c->isr);
        if (p == 8)
            break;
        unsigned irq = (p + c->priority_add) & 7;
        c->isr &= ~(1u << irq);
        if ((v >> 5) == 5)
            c->priority_add = (uint8_t)((irq + 1) & 7);
        break;
    }
    case 3:
        c->isr &= ~(1u << level);
        break;
    case 7:
        c->isr &= ~(1u << level);
        c->priority_add = (uint8_t)((level + 1) & 7);
        break;
    case 6:
        c->priority_add = (uint8_t)((level + 1) & 7);
        break;
    default:
        break; /* 2: no operation */
    }
}

static void write_data(struct pic_chip *c, uint8_t v)
{
    switch (c->init_step) {
    case 1: /* ICW2 */
        c->vector_base = v & 0xF8;
        c->init_step = c->single ? (c->icw4_needed ? 3 : 0) : 2;
        break;
    case 2: /* ICW3: the cascade wiring is fixed */
        c->init_step = c->icw4_needed ? 3 : 0;
        break;
    case 3: /* ICW4 */
        c->auto_eoi = v & ICW4_AEOI;
        c->sfnm = v & ICW4_SFNM;
        c->init_step = 0;
        break;
    default: /* OCW1 */
        c->imr = v;
        break;
    }
}

static uint8_t read_poll(struct pic8259 *pic, unsigned idx)
{
    struct pic_chip *c = &pic->chip[idx];
    c->poll = false;
    int irq = chip_pending(c, idx == 0);
    if (irq < 0)
        return 0;
    chip_ack(c, (unsigned)irq);
    return (uint8_t)(0x80 | irq);
}

uint8_t pic8259_io_read(struct pic8259 *pic, uint16_t port)
{
    uint8_t v = 0xFF;
    pthread_mutex_lock(&pic->lock);
    bool was = atomic_load(&pic->intr);
    if (port == PIC_PORT_ELCR || port == PIC_PORT_ELCR + 1) {
        v = pic->chip[port - PIC_PORT_ELCR].elcr;
    } else {
        unsigned idx = (port & ~1u) == PORT_PIC_SLAVE;
        struct pic_chip *c = &pic->chip[idx];
        if (c->poll)
            v = read_poll(pic, idx);
        else if (port & 1)
            v = c->imr;
        else
            v = c->read_isr ? c->isr : c->irr;
    }
    bool now = update_locked(pic);
    pthread_mutex_unlock(&pic->lock);
    notify(pic, was, now);
    return v;
}

void pic8259_io_write(struct pic8259 *pic, uint16_t port, uint8_t value)
{
    pthread_mutex_lock(&pic->lock);
    bool was = atomic_load(&pic->intr);
    if (port == PIC_PORT_ELCR || port == PIC_PORT_ELCR + 1) {
        struct pic_chip *c = &pic->chip[port - PIC_PORT_ELCR];
        c->elcr = value & c->elcr_mask;
    } else {
        struct pic_chip *c = &pic->chip[(port & ~1u) == PORT_PIC_SLAVE];
        if (port & 1)
            write_data(c, value);
        else
            write_command(c, value);
    }
    bool now = update_locked(pic);
    pthread_mutex_unlock(&pic->lock);
    notify(pic, was, now);
}

static uint64_t bus_read(void *opaque, uint64_t offset, unsigned size, uint16_t base)
{
    struct pic8259 *pic = opaque;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && offset + i < 2; i++)
        v |= (uint64_t)pic8259_io_read(pic, (uint16_t)(base + offset + i)) << (8 * i);
    return v;
}

static void bus_write(void *opaque, uint64_t offset, uint64_t value, unsigned size, uint16_t base)
{
    struct pic8259 *pic = opaque;
    for (unsigned i = 0; i < size && offset + i < 2; i++)
        pic8259_io_write(pic, (uint16_t)(base + offset + i), (uint8_t)(value >> (8 * i)));
}

#define PIC_BUS_OPS(name, base)                                                                    \
    static uint64_t name##_read(void *o, uint64_t off, unsigned size)                              \
    {                                                                                              \
        return bus_read(o, off, size, base);                                                       \
    }                                                                                              \
    static void name##_write(void *o, uint64_t off, uint64_t v, unsigned size)                     \
    {                                                                                              \
        bus_write(o, off, v, size, base);                                                          \
    }                                                                                              \
    static const struct iobus_ops name##_ops = {.read = name##_read, .write = name##_write};

PIC_BUS_OPS(master, PORT_PIC_MASTER)
PIC_BUS_OPS(slave, PORT_PIC_SLAVE)
PIC_BUS_OPS(elcr, PIC_PORT_ELCR)

int pic8259_register(struct pic8259 *pic, struct iobus *pio)
{
    int rc = iobus_register(pio, PORT_PIC_MASTER, 2, &master_ops, pic, "pic-master");
    if (rc == 0)
        rc = iobus_register(pio, PORT_PIC_SLAVE, 2, &slave_ops, pic, "pic-slave");
    if (rc == 0)
        rc = iobus_register(pio, PIC_PORT_ELCR, 2, &elcr_ops, pic, "pic-elcr");
    if (rc < 0)
        log_error("pic: cannot claim its I/O ports: %s", strerror(-rc));
    return rc;
}
