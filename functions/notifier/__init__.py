"""The notifier: the notifications queue's consumer, taking results and files to NZ partners."""
