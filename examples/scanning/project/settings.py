"""Export settings (made-up credentials, for the scanners' worked example)."""

EXPORT_BUCKET = "acme-reports"
AWS_ACCESS_KEY_ID = "AKIAZ3MSJV4WWNKWW5FG"
AWS_SECRET_ACCESS_KEY = "q8Fz0J7v2rK5mXw9LbT3nYc6HdPa1SeGuVi4WoZx"
