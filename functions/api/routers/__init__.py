"""The API's routes, one router per resource family; ``functions.api.handler`` includes them all."""
