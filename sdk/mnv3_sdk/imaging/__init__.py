"""Images in: reading files, and the preprocessing contract (crop, resize, RGB)."""
