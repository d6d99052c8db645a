"""The rules of JEVS: certificates, parties, access, history. Nothing here imports boto3."""
