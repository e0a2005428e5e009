/* MC146818A RTC (data sheet: registers A-D, time/calendar/alarm registers, update cycle and
 * UIP timing, interrupt flags) as found at ports 0x70/0x71 on the PC/AT. */
#include "platform/rtc_cmos.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/iobus.h"
#include "core/memmap.h"
#include "core/vclock.h"
#include "util/log.h"

#define RTC_ALARM_SECONDS 0x01
#define RTC_ALARM_MINUTES 0x03
#define RTC_ALARM_HOURS   0x05

#define REG_A_UIP       0x80
#define REG_B_SET       0x80
#define REG_B_PIE       0x40
#define REG_B_AIE       0x20
#define REG_B_UIE       0x10
#define REG_B_DM        0x04 /* binary mode */
#define REG_B_24H       0x02
#define REG_C_IRQF      0x80
#define REG_C_PF        0x40
#define REG_C_AF        0x20
#define REG_C_UF        0x10
#define REG_D_VRT       0x80
#define HOUR_PM         0x80
#define ALARM_DONT_CARE 0xC0

#define NS_PER_SEC 1000000000ULL
/* UIP is set 244 us before the update (data sheet, "update cycle"). */
#define UIP_WINDOW_NS 244000ULL
#define CMOS_SIZE     128

struct rtc_cmos {
    pthread_mutex_t lock;
    const struct vclock *clock;
    int64_t offset_ns;      /* guest Unix time in ns = vclock_ns + offset_ns */
    uint8_t ram[CMOS_SIZE]; /* includes registers; time registers refreshed on access */
    uint8_t index;
    uint64_t last_second; /* guest second of the last update-ended flag check */
    uint64_t last_period; /* periodic ticks already flagged */
    bool irq_level;
    rtc_irq_fn irq;
    void *irq_opaque;
    rtc_arm_fn arm;
    void *arm_opaque;
};

static int64_t guest_ns(const struct rtc_cmos *rtc)
{
    return (int64_t)vclock_ns(rtc->clock) + rtc->offset_ns;
}

static uint8_t to_reg(const struct rtc_cmos *rtc, unsigned v)
{
    if (rtc->ram[RTC_REG_B] & REG_B_DM)
        return (uint8_t)v;
    return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Register contents are guest-written: bad BCD digits are clamped rather than trusted. */
static unsigned from_reg(const struct rtc_cmos *rtc, uint8_t v)
{
    if (rtc->ram[RTC_REG_B] & REG_B_DM)
        return v;
    unsigned hi = (v >> 4) & 0xF, lo = v & 0xF;
    return (hi > 9 ? 9 : hi) * 10 + (lo > 9 ? 9 : lo);
}

static uint8_t hour_to_reg(const struct rtc_cmos *rtc, unsigned hour)
{
    if (rtc->ram[RTC_REG_B] & REG_B_24H)
        return to_reg(rtc, hour);
    unsigned h12 = hour % 12 == 0 ? 12 : hour % 12;
    return (uint8_t)(to_reg(rtc, h12) | (hour >= 12 ? HOUR_PM : 0));
}

static unsigned hour_from_reg(const struct rtc_cmos *rtc, uint8_t v)
{
    if (rtc->ram[RTC_REG_B] & REG_B_24H)
        return from_reg(rtc, v) % 24;
    unsigned h = from_reg(rtc, v & 0x7F) % 12;
    return (v & HOUR_PM) ? h + 12 : h;
}

/* Copies the current guest time into the time/date registers (unless SET freezes them). */
static void refresh_time_locked(struct rtc_cmos *rtc)
{
    if (rtc->ram[RTC_REG_B] & REG_B_SET)
        return;
    time_t secs = (time_t)(guest_ns(rtc) / (int64_t)NS_PER_SEC);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return;
    rtc->ram[RTC_REG_SECONDS] = to_reg(rtc, (unsigned)tm.tm_sec);
    rtc->ram[RTC_REG_MINUTES] = to_reg(rtc, (unsigned)tm.tm_min);
    rtc->ram[RTC_REG_HOURS] = hour_to_reg(rtc, (unsigned)tm.tm_hour);
    rtc->ram[RTC_REG_WEEKDAY] = to_reg(rtc, (unsigned)tm.tm_wday + 1);
    rtc->ram[RTC_REG_DAY] = to_reg(rtc, (unsigned)tm.tm_mday);
    rtc->ram[RTC_REG_MONTH] = to_reg(rtc, (unsigned)tm.tm_mon + 1);
    rtc->ram[RTC_REG_YEAR] = to_reg(rtc, (unsigned)(tm.tm_year + 1900) % 100);
    rtc->ram[RTC_REG_CENTURY] = to_reg(rtc, (unsigned)(tm.tm_year + 1900) / 100);
}

/* The guest wrote the time registers: the clock continues from their value. */
static void adopt_time_locked(struct rtc_cmos *rtc)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_sec = (int)(from_reg(rtc, rtc->ram[RTC_REG_SECONDS]) % 60);
    tm.tm_min = (int)(from_reg(rtc, rtc->ram[RTC_REG_MINUTES]) % 60);
    tm.tm_hour = (int)hour_from_reg(rtc, rtc->ram[RTC_REG_HOURS]);
    tm.tm_mday = (int)from_reg(rtc, rtc->ram[RTC_REG_DAY]);
    tm.tm_mon = (int)from_reg(rtc, rtc->ram[RTC_REG_MONTH]) - 1;
    unsigned century = from_reg(rtc, rtc->ram[RTC_REG_CENTURY]);
    if (century < 19 || century > 99)
        century = 20;
    tm.tm_year = (int)(century * 100 + from_reg(rtc, rtc->ram[RTC_REG_YEAR]) % 100) - 1900;
    if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_mon < 0 || tm.tm_mon > 11) {
        log_debug("rtc: guest set an invalid date; ignored");
        return;
    }
    time_t secs = timegm(&tm);
    if (secs == (time_t)-1)
        return;
    int64_t sub = guest_ns(rtc) % (int64_t)NS_PER_SEC;
    rtc->offset_ns = (int64_t)secs * (int64_t)NS_PER_SEC + sub - (int64_t)vclock_ns(rtc->clock);
    rtc->last_second = (uint64_t)secs;
}

static uint64_t periodic_ns(const struct rtc_cmos *rtc)
{
    unsigned rs = rtc->ram[RTC_REG_A] & 0xF;
    if (rs == 0)
        return 0;
    if (rs < 3)
        rs += 7; /* rates 1 and 2 repeat 8 and 9 (256 and 128 Hz) */
    return NS_PER_SEC / (32768u >> (rs - 1));
}

/* Sets PF/UF/AF for the time that passed; returns the flags newly raised.
 * XXX: with their interrupts disabled the flags are only brought up to date when register C is
 * read or the host timer polls, and PF follows vclock time rather than the divider chain. */
static uint8_t update_flags_locked(struct rtc_cmos *rtc)
{
    uint8_t before = rtc->ram[RTC_REG_C];
    uint64_t now = vclock_ns(rtc->clock);
    uint64_t p = periodic_ns(rtc);
    if (p) {
        uint64_t tick = now / p;
        if (tick > rtc->last_period) {
            rtc->last_period = tick;
            rtc->ram[RTC_REG_C] |= REG_C_PF;
        }
    }
    int64_t g = guest_ns(rtc);
    uint64_t sec = g > 0 ? (uint64_t)g / NS_PER_SEC : 0;
    if (sec > rtc->last_second && !(rtc->ram[RTC_REG_B] & REG_B_SET)) {
        rtc->last_second = sec;
        rtc->ram[RTC_REG_C] |= REG_C_UF;
        refresh_time_locked(rtc);
        const uint8_t *r = rtc->ram;
        bool match = ((r[RTC_ALARM_SECONDS] & ALARM_DONT_CARE) == ALARM_DONT_CARE ||
                      r[RTC_ALARM_SECONDS] == r[RTC_REG_SECONDS]) &&
                     ((r[RTC_ALARM_MINUTES] & ALARM_DONT_CARE) == ALARM_DONT_CARE ||
                      r[RTC_ALARM_MINUTES] == r[RTC_REG_MINUTES]) &&
                     ((r[RTC_ALARM_HOURS] & ALARM_DONT_CARE) == ALARM_DONT_CARE ||
                      r[RTC_ALARM_HOURS] == r[RTC_REG_HOURS]);
        if (match)
            rtc->ram[RTC_REG_C] |= REG_C_AF;
    }
    uint8_t enabled = rtc->ram[RTC_REG_B] & (REG_B_PIE | REG_B_AIE | REG_B_UIE);
    /* PIE/AIE/UIE sit at the same bit positions in B as PF/AF/UF in C. */
    if (rtc->ram[RTC_REG_C] & enabled & (REG_C_PF | REG_C_AF | REG_C_UF))
        rtc->ram[RTC_REG_C] |= REG_C_IRQF;
    return rtc->ram[RTC_REG_C] & ~before;
}

static uint64_t next_event_locked(const struct rtc_cmos *rtc)
{
    uint8_t b = rtc->ram[RTC_REG_B];
    uint64_t next = UINT64_MAX;
    uint64_t now = vclock_ns(rtc->clock);
    uint64_t p = periodic_ns(rtc);
    if ((b & REG_B_PIE) && p)
        next = (now / p + 1) * p;
    if ((b & (REG_B_UIE | REG_B_AIE)) && !(b & REG_B_SET)) {
        int64_t g = guest_ns(rtc);
        uint64_t to_next = NS_PER_SEC - (uint64_t)(g % (int64_t)NS_PER_SEC);
        if (now + to_next < next)
            next = now + to_next;
    }
    return next;
}

/* Applies flag changes to the IRQ 8 line and re-arms; call after unlocking with the values
 * computed under the lock. */
static void finish(struct rtc_cmos *rtc, bool raise, bool lower, uint64_t next)
{
    if (raise && rtc->irq)
        rtc->irq(rtc->irq_opaque, true);
    if (lower && rtc->irq)
        rtc->irq(rtc->irq_opaque, false);
    if (rtc->arm)
        rtc->arm(rtc->arm_opaque, next);
}

void rtc_cmos_poll(struct rtc_cmos *rtc)
{
    pthread_mutex_lock(&rtc->lock);
    uint8_t newly = update_flags_locked(rtc);
    bool raise = (newly & REG_C_IRQF) && !rtc->irq_level;
    if (raise)
        rtc->irq_level = true;
    uint64_t next = next_event_locked(rtc);
    pthread_mutex_unlock(&rtc->lock);
    finish(rtc, raise, false, next);
}

uint8_t rtc_cmos_io_read(struct rtc_cmos *rtc, uint16_t port)
{
    if (port != PORT_RTC + 1)
        return 0xFF; /* the index port is write-only */
    bool lower = false;
    uint64_t next;
    pthread_mutex_lock(&rtc->lock);
    unsigned idx = rtc->index;
    uint8_t v;
    if (idx == RTC_REG_A) {
        int64_t g = guest_ns(rtc);
        bool uip = !(rtc->ram[RTC_REG_B] & REG_B_SET) &&
                   (uint64_t)(g % (int64_t)NS_PER_SEC) >= NS_PER_SEC - UIP_WINDOW_NS;
        v = (uint8_t)((rtc->ram[RTC_REG_A] & 0x7F) | (uip ? REG_A_UIP : 0));
    } else if (idx == RTC_REG_C) {
        update_flags_locked(rtc);
        v = rtc->ram[RTC_REG_C];
        rtc->ram[RTC_REG_C] = 0; /* reading C clears the flags and the interrupt */
        lower = rtc->irq_level;
        rtc->irq_level = false;
    } else {
        if (idx <= RTC_REG_YEAR || idx == RTC_REG_CENTURY)
            refresh_time_locked(rtc);
        v = rtc->ram[idx];
    }
    next = next_event_locked(rtc);
    pthread_mutex_unlock(&rtc->lock);
    if (lower)
        finish(rtc, false, true, next);
    return v;
}

void rtc_cmos_io_write(struct rtc_cmos *rtc, uint16_t port, uint8_t value)
{
    pthread_mutex_lock(&rtc->lock);
    if (port == PORT_RTC) {
        rtc->index = value & 0x7F; /* bit 7 masks NMI; there is no NMI source to mask */
        pthread_mutex_unlock(&rtc->lock);
        return;
    }
    unsigned idx = rtc->index;
    switch (idx) {
    case RTC_REG_A:
        rtc->ram[idx] = value & 0x7F;
        rtc->last_period = periodic_ns(rtc) ? vclock_ns(rtc->clock) / periodic_ns(rtc) : 0;
        break;
    case RTC_REG_B: {
        bool was_set = rtc->ram[RTC_REG_B] & REG_B_SET;
        if (!was_set && (value & REG_B_SET))
            refresh_time_locked(rtc); /* freeze the current time */
        rtc->ram[idx] = value;
        if (value & REG_B_SET)
            rtc->ram[idx] &= ~REG_B_UIE; /* SET clears UIE (data sheet) */
        if (was_set && !(value & REG_B_SET))
            adopt_time_locked(rtc);
        break;
    }
    case RTC_REG_C:
    case RTC_REG_D:
        break; /* read-only */
    default:
        rtc->ram[idx] = value;
        if (idx <= RTC_REG_YEAR || idx == RTC_REG_CENTURY) {
            if (idx != RTC_ALARM_SECONDS && idx != RTC_ALARM_MINUTES && idx != RTC_ALARM_HOURS &&
                !(rtc->ram[RTC_REG_B] & REG_B_SET))
                adopt_time_locked(rtc);
        }
        break;
    }
    uint64_t next = next_event_locked(rtc);
    pthread_mutex_unlock(&rtc->lock);
    finish(rtc, false, false, next);
}

void rtc_cmos_set_ram(struct rtc_cmos *rtc, unsigned index, uint8_t value)
{
    if (index >= CMOS_SIZE)
        return;
    pthread_mutex_lock(&rtc->lock);
    rtc->ram[index] = value;
    pthread_mutex_unlock(&rtc->lock);
}

void rtc_cmos_reset(struct rtc_cmos *rtc)
{
    pthread_mutex_lock(&rtc->lock);
    bool lower = rtc->irq_level;
    rtc->irq_level = false;
    rtc->ram[RTC_REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz periodic rate */
    rtc->ram[RTC_REG_B] = REG_B_24H;
    rtc->ram[RTC_REG_C] = 0;
    rtc->ram[RTC_REG_D] = REG_D_VRT;
    rtc->index = 0;
    int64_t g = guest_ns(rtc);
    rtc->last_second = g > 0 ? (uint64_t)g / NS_PER_SEC : 0;
    rtc->last_period = 0;
    refresh_time_locked(rtc);
    pthread_mutex_unlock(&rtc->lock);
    finish(rtc, false, lower, UINT64_MAX);
}

struct rtc_cmos *rtc_cmos_create(const struct vclock *clock, time_t start_time, rtc_irq_fn irq,
                                 void *irq_opaque, rtc_arm_fn arm, void *arm_opaque)
{
    struct rtc_cmos *rtc = calloc(1, sizeof(*rtc));
    if (!rtc) {
        log_error("rtc: out of memory");
        return NULL;
    }
    int rc = pthread_mutex_init(&rtc->lock, NULL);
    if (rc != 0) {
        log_error("rtc: pthread_mutex_init: %s", strerror(rc));
        free(rtc);
        return NULL;
    }
    rtc->clock = clock;
    rtc->offset_ns = (int64_t)start_time * (int64_t)NS_PER_SEC - (int64_t)vclock_ns(clock);
    rtc->irq = irq;
    rtc->irq_opaque = irq_opaque;
    rtc->arm = arm;
    rtc->arm_opaque = arm_opaque;
    rtc_cmos_reset(rtc);
    return rtc;
}

void rtc_cmos_destroy(struct rtc_cmos *rtc)
{
    if (!rtc)
        return;
    pthread_mutex_destroy(&rtc->lock);
    free(rtc);
}

static uint64_t bus_read(void *opaque, uint64_t offset, unsigned size)
{
    return rtc_cmos_io_read(opaque, (uint16_t)(PORT_RTC + offset));
}

static void bus_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    rtc_cmos_io_write(opaque, (uint16_t)(PORT_RTC + offset), (uint8_t)value);
}

static const struct iobus_ops rtc_ops = {.read = bus_read, .write = bus_write};

int rtc_cmos_register(struct rtc_cmos *rtc, struct iobus *pio)
{
    int rc = iobus_register(pio, PORT_RTC, 2, &rtc_ops, rtc, "rtc-cmos");
    if (rc < 0)
        log_error("rtc: cannot claim ports 0x70-0x71: %s", strerror(-rc));
    return rc;
}
