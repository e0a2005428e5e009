/* Functions shared between the PCI host, device and MSI-X files (not for device models). */
#ifndef EMBER_PCI_PCI_INTERNAL_H
#define EMBER_PCI_PCI_INTERNAL_H

#include "pci/pci.h"

/* All with the host lock held. */
uint32_t pci_device_config_read(struct pci_device *dev, unsigned off, unsigned size);
void pci_device_config_write(struct pci_device *dev, unsigned off, unsigned size, uint32_t value);
void pci_device_update_bars(struct pci_device *dev);
void pci_device_unmap_bars(struct pci_device *dev);
void pci_device_reset_config(struct pci_device *dev);
void pci_msix_control_written(struct pci_device *dev);
void pci_msix_reset(struct pci_device *dev);

#endif
