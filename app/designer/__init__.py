"""Process designers: drafts, validation, four-eyes deployment, versions, trials and migration."""
