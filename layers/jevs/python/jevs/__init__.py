"""JEVS: the Joint Electronic Verification System for China–New Zealand FTA Certificates of Origin.

This package is the shared code every Lambda function imports, deployed as a Lambda layer from
``layers/jevs`` as it is. ``jevs.domain`` holds the rules and knows nothing of AWS; ``jevs.adapters``
translates between the domain and AWS services; ``jevs.reference`` carries the code lists the rules
check against.
"""
