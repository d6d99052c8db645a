"""CDK constructs, one per concern, composed by ``JevsStack``. Each reads ``jevs.resources``."""
