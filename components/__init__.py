"""One ComponentResource per pipeline subsystem."""
