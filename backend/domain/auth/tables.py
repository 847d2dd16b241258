from piccolo.columns import BigSerial, Text, Timestamptz
from piccolo.table import Table


class ApiToken(Table, tablename="api_tokens"):
    id = BigSerial(primary_key=True)
    name = Text()
    scope = Text()
    token_hash = Text(unique=True)
    prefix = Text()
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
