"""Share disputes (Art. 16 para 3, Art. 17): negotiation, then coordination and adjudication by the data authority."""
