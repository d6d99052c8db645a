"""The outbox relay: DynamoDB stream records in, one SQS message per new outbox record out."""
