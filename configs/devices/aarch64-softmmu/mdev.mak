# SPDX-License-Identifier: GPL-2.0-or-later
# qemu-mdev's trimmed aarch64 device set: the virt board, the reference NICs
# (virtio-mmio and virtio-pci; virtio-net-pci is also virt's default NIC)
# and our devices.
CONFIG_ARM_VIRT=y
CONFIG_VIRTIO_MMIO=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_NET=y
CONFIG_VIRTIO_MDEV_SYSBUS=y
