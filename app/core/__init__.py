"""The auth core: models, security, tokens and the service layer shared by every dialect."""
