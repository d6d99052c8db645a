"""The dispatcher: the delivery queue's consumer, delivering each certificate version to China Customs."""
