"""Settings with credentials committed by mistake (scanner test input; the values are made up)."""

AWS_ACCESS_KEY_ID = "AKIAZ3MSJV4WWNKWW5FG"
AWS_SECRET_ACCESS_KEY = "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"
GITHUB_TOKEN = "ghp_R8x2Kq9ZmT4vLw7NcY3pBf6HjD1sGa5Ue0Xi"
