/* PCI configuration-space register offsets and bits (PCI Local Bus 3.0 ch. 6, PCIe 4.0 ch. 7.5,
 * MSI-X per PCI 3.0 sec. 6.8.2), named after the spec. */
#ifndef EMBER_PCI_PCI_REGS_H
#define EMBER_PCI_PCI_REGS_H

#define PCI_CFG_SIZE     256  /* conventional configuration space (mechanism #1 reach) */
#define PCI_CFG_EXP_SIZE 4096 /* PCIe extended configuration space (ECAM reach) */

/* Type 0 header */
#define PCI_VENDOR_ID           0x00 /* 16 */
#define PCI_DEVICE_ID           0x02 /* 16 */
#define PCI_COMMAND             0x04 /* 16 */
#define PCI_STATUS              0x06 /* 16 */
#define PCI_REVISION_ID         0x08 /* 8 */
#define PCI_CLASS_PROG          0x09 /* 8 */
#define PCI_CLASS_DEVICE        0x0A /* 16: sub-class, base class */
#define PCI_CACHE_LINE_SIZE     0x0C
#define PCI_LATENCY_TIMER       0x0D
#define PCI_HEADER_TYPE         0x0E
#define PCI_BIST                0x0F
#define PCI_BASE_ADDRESS_0      0x10 /* six 32-bit BARs */
#define PCI_SUBSYSTEM_VENDOR_ID 0x2C
#define PCI_SUBSYSTEM_ID        0x2E
#define PCI_ROM_ADDRESS         0x30
#define PCI_CAPABILITY_LIST     0x34
#define PCI_INTERRUPT_LINE      0x3C
#define PCI_INTERRUPT_PIN       0x3D
#define PCI_STD_HEADER_END      0x40 /* capabilities start here */

#define PCI_COMMAND_IO           0x0001
#define PCI_COMMAND_MEMORY       0x0002
#define PCI_COMMAND_MASTER       0x0004
#define PCI_COMMAND_PARITY       0x0040
#define PCI_COMMAND_SERR         0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400

#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST  0x0010

#define PCI_HEADER_TYPE_NORMAL 0x00

#define PCI_BASE_ADDRESS_SPACE_IO     0x01
#define PCI_BASE_ADDRESS_MEM_TYPE_32  0x00
#define PCI_BASE_ADDRESS_MEM_PREFETCH 0x08
#define PCI_BASE_ADDRESS_IO_MASK      (~0x3U)
#define PCI_BASE_ADDRESS_MEM_MASK     (~0xFU)

#define PCI_CAP_LIST_ID   0 /* capability ID */
#define PCI_CAP_LIST_NEXT 1 /* next capability pointer */

#define PCI_CAP_ID_VNDR 0x09 /* vendor specific (virtio uses it) */
#define PCI_CAP_ID_MSIX 0x11

/* MSI-X capability (12 bytes) */
#define PCI_MSIX_FLAGS         2 /* 16: message control */
#define PCI_MSIX_TABLE         4 /* 32: table offset | BIR */
#define PCI_MSIX_PBA           8 /* 32: PBA offset | BIR */
#define PCI_MSIX_CAP_SIZE      12
#define PCI_MSIX_FLAGS_QSIZE   0x07FF
#define PCI_MSIX_FLAGS_MASKALL 0x4000
#define PCI_MSIX_FLAGS_ENABLE  0x8000
#define PCI_MSIX_BIR_MASK      0x7

/* MSI-X table entry (16 bytes) */
#define PCI_MSIX_ENTRY_SIZE         16
#define PCI_MSIX_ENTRY_LOWER_ADDR   0
#define PCI_MSIX_ENTRY_UPPER_ADDR   4
#define PCI_MSIX_ENTRY_DATA         8
#define PCI_MSIX_ENTRY_VECTOR_CTRL  12
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 0x1

/* Configuration mechanism #1 address register (port 0xCF8) */
#define PCI_CONF1_ENABLE 0x80000000U
#define PCI_CONF1_BUS(a) (((a) >> 16) & 0xFF)
#define PCI_CONF1_DEV(a) (((a) >> 11) & 0x1F)
#define PCI_CONF1_FN(a)  (((a) >> 8) & 0x7)
#define PCI_CONF1_REG(a) ((a)&0xFC)

/* ECAM: bus << 20 | device << 15 | function << 12 | register */
#define PCI_ECAM_BUS(o) (((o) >> 20) & 0xFF)
#define PCI_ECAM_DEV(o) (((o) >> 15) & 0x1F)
#define PCI_ECAM_FN(o)  (((o) >> 12) & 0x7)
#define PCI_ECAM_REG(o) ((o)&0xFFF)

#endif
