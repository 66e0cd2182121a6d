"""Network device polling: the device list file, the credential store, concurrency and timeouts."""
