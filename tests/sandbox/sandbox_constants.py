"""Values shared by the sandbox tests and their fixtures."""

BOT_TOKEN = "123456:TEST-token"
BOT_USERNAME = "cop_assistant_bot"
