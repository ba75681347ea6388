"""The yearly evaluation of how departments provide and use shared data (Art. 18)."""
