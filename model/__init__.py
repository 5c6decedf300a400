"""The cascaded dimension-lifting network (Zhang, Zhan, Chang, AAAI 2021): config, network, targets, losses, training."""
