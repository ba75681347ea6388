"""In-app notifications and the outbox that delivers them to a province's gateway."""
