"""Pure rules on text (no I/O, no database): usable by config as much as by every subject."""
