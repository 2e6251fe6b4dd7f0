"""Raw library errors go to the server log only with every secret value removed."""

from webapp.connect.errors import redact, secret_texts

KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQyNTUxOQAAACD\n"
    "-----END OPENSSH PRIVATE KEY-----"
)


def test_whole_values_and_lines_of_pasted_keys_are_replaced():
    values = {"password": "hunter2-secret", "sshPrivateKey": KEY, "host": "db.example.com"}
    secrets = secret_texts(values, ["password", "sshPrivateKey", "sshPassword"])
    text = (
        "login failed for dsn host=db.example.com password=hunter2-secret; "
        "could not parse b3BlbnNzaC1rZXktdjEAAAAA"
    )
    assert redact(text, secrets) == (
        "login failed for dsn host=db.example.com password=***; could not parse ***"
    )


def test_long_messages_are_cut():
    assert redact("x" * 1000, []) == "x" * 300
