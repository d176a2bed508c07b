# SPDX-License-Identifier: GPL-2.0-or-later
# qemu-mdev's trimmed x86_64 device set: the three machines our device is
# tested on, their default devices (the NIC: e1000 on pc, e1000e on q35; the
# display: std VGA on both), so a command line without -nodefaults creates
# them as any QEMU does, the reference NICs (virtio-mmio and virtio-pci) and
# our devices.
CONFIG_I440FX=y
CONFIG_Q35=y
CONFIG_MICROVM=y
CONFIG_ISA_BUS=y
CONFIG_E1000_PCI=y
CONFIG_E1000E_PCI_EXPRESS=y
CONFIG_VGA_PCI=y
CONFIG_VIRTIO_MMIO=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_NET=y
CONFIG_VIRTIO_MDEV_ISA=y
