"""Art. 12: logs of data provided and obtained under share grants, reported by exchange systems."""
