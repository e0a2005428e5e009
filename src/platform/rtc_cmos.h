/* The MC146818-compatible CMOS RTC at ports 0x70/0x71 (Motorola MC146818A data sheet):
 * 128 bytes of CMOS RAM, time/date registers in BCD or binary and 12/24-hour format, the SET
 * and UIP bits, and periodic, alarm and update-ended interrupts on IRQ 8. Guest time starts at
 * the host's wall-clock time and advances with the VM's vclock. */
#ifndef EMBER_PLATFORM_RTC_CMOS_H
#define EMBER_PLATFORM_RTC_CMOS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct rtc_cmos;
struct iobus;
struct vclock;

#define RTC_REG_SECONDS 0x00
#define RTC_REG_MINUTES 0x02
#define RTC_REG_HOURS   0x04
#define RTC_REG_WEEKDAY 0x06
#define RTC_REG_DAY     0x07
#define RTC_REG_MONTH   0x08
#define RTC_REG_YEAR    0x09
#define RTC_REG_A       0x0A
#define RTC_REG_B       0x0B
#define RTC_REG_C       0x0C
#define RTC_REG_D       0x0D
#define RTC_REG_CENTURY 0x32

typedef void (*rtc_irq_fn)(void *opaque, bool level);
typedef void (*rtc_arm_fn)(void *opaque, uint64_t deadline_ns);

/* start_time: guest wall-clock time (Unix seconds, UTC) at vclock 0; use time(NULL) normally. */
struct rtc_cmos *rtc_cmos_create(const struct vclock *clock, time_t start_time, rtc_irq_fn irq,
                                 void *irq_opaque, rtc_arm_fn arm, void *arm_opaque);
void rtc_cmos_destroy(struct rtc_cmos *rtc);
void rtc_cmos_reset(struct rtc_cmos *rtc);
int rtc_cmos_register(struct rtc_cmos *rtc, struct iobus *pio);
/* Sets the interrupt flags that became due and raises IRQ 8; re-arms. Host timer callback. */
void rtc_cmos_poll(struct rtc_cmos *rtc);

/* Port access: 0x70 (index; bit 7 is the NMI mask) and 0x71 (data). */
uint8_t rtc_cmos_io_read(struct rtc_cmos *rtc, uint16_t port);
void rtc_cmos_io_write(struct rtc_cmos *rtc, uint16_t port, uint8_t value);
/* Writes CMOS RAM directly (firmware-style setup, e.g. memory size bytes). index < 128. */
void rtc_cmos_set_ram(struct rtc_cmos *rtc, unsigned index, uint8_t value);

#endif
