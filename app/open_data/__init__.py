"""Open lists (开放清单, Art. 20–21): drafting, review by the data authority, publication."""
