"""Documents JEVS produces for people: the certificate of origin as a PDF in the FTA form's layout.

Pure functions from domain records to bytes, with no AWS: the caller decides where the bytes are stored.
"""
