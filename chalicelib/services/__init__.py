"""What the API does, as plain methods over adapters: routes only parse and answer."""
