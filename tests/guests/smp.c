/* Test guest "smp": the BSP wakes every AP with INIT-SIPI-SIPI through the LAPIC ICR
 * (broadcast to all excluding self); each AP enters 64-bit mode through smp_tramp.S, records
 * its LAPIC ID and halts. Passes when every CPU that CPUID reports has checked in, each with
 * a distinct APIC ID. */
#include "guest.h"

#define TRAMP_ADDR       0x6000UL
#define SIPI_VECTOR      (TRAMP_ADDR >> 12)
#define LAPIC            0xFEE00000UL
#define LAPIC_ID         0x020
#define LAPIC_SVR        0x0F0
#define LAPIC_ICR_LO     0x300
#define LAPIC_ICR_HI     0x310
#define ICR_INIT         0x500
#define ICR_STARTUP      0x600
#define ICR_LEVEL_ASSERT 0x4000
#define ICR_ALL_BUT_SELF 0xC0000
#define ICR_BUSY         0x1000
#define WAIT_LOOPS       2000000

extern const uint8_t smp_tramp_start[], smp_tramp_end[];

static volatile uint64_t apic_id_seen; /* bit per APIC ID */
static volatile uint32_t aps_up;

void smp_ap_main(void);
void smp_ap_main(void)
{
    uint32_t id = mmio_read32(LAPIC + LAPIC_ID) >> 24;
    __atomic_fetch_or(&apic_id_seen, 1ULL << (id & 63), __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&aps_up, 1, __ATOMIC_SEQ_CST);
}

static unsigned cpu_count(void)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(d & (1U << 28))) /* HTT clear: one logical processor */
        return 1;
    return (b >> 16) & 0xFF;
}

static void send_ipi(uint32_t low)
{
    mmio_write32(LAPIC + LAPIC_ICR_HI, 0);
    mmio_write32(LAPIC + LAPIC_ICR_LO, low);
    for (unsigned i = 0; i < 1000 && (mmio_read32(LAPIC + LAPIC_ICR_LO) & ICR_BUSY); i++)
        __asm__ volatile("pause");
}

int guest_main(void)
{
    unsigned n = cpu_count();
    uint32_t bsp_id = mmio_read32(LAPIC + LAPIC_ID) >> 24;
    check_eq(bsp_id, 0, "BSP APIC ID");
    if (n > 1) {
        memcpy((void *)TRAMP_ADDR, smp_tramp_start,
               (unsigned long)(smp_tramp_end - smp_tramp_start));
        mmio_write32(LAPIC + LAPIC_SVR, 0x1FF);
        send_ipi(ICR_ALL_BUT_SELF | ICR_LEVEL_ASSERT | ICR_INIT);
        send_ipi(ICR_ALL_BUT_SELF | ICR_LEVEL_ASSERT | ICR_STARTUP | SIPI_VECTOR);
        send_ipi(ICR_ALL_BUT_SELF | ICR_LEVEL_ASSERT | ICR_STARTUP | SIPI_VECTOR);
        for (unsigned i = 0; i < WAIT_LOOPS && aps_up < n - 1; i++)
            __asm__ volatile("pause");
    }
    check_eq(aps_up, n - 1, "APs that started");
    uint64_t want = n >= 64 ? ~0ULL : ((1ULL << n) - 1);
    check_eq(apic_id_seen | (1ULL << bsp_id), want, "APIC IDs seen");
    puts_serial("smp: ");
    putc_serial((char)('0' + n / 10));
    putc_serial((char)('0' + n % 10));
    puts_serial(" CPUs up\n");
    return report("smp");
}
