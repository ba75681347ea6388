"""The process designer's backend: drafts, validation, the code/BPMN contract, four-eyes deployment."""
