"""Reading untrusted files and JSON: regular files only, size, depth and number limits."""
