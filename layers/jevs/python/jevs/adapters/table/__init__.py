"""The records table (``jevs.resources.RECORDS_TABLE``) behind the unit of work.

``model`` is what the repositories say to a table; ``dynamodb`` and ``memory`` are the two tables that answer
with the same semantics (a contract suite runs against both); ``items`` maps every record to its item and
back; ``repositories`` holds one repository per aggregate; ``listing`` plans certificate listings and their
cursors; ``unit_of_work`` ties them into one commit.
"""
