"""The CDK app (AWS) and the local stack (one machine), both built from ``jevs.resources``."""
