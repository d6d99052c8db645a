"""The local stack: the whole of JEVS on one machine, against a moto server."""
