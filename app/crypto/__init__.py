"""Cryptography as settings (Art. 26): algorithms by name (app.crypto.algorithms) and the keys that
protect other keys (app.crypto.keys)."""
