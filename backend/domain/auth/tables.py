from piccolo.columns import BigInt, BigSerial, Boolean, Integer, Text, Timestamptz
from piccolo.table import Table


class ApiToken(Table, tablename="api_tokens"):
    id = BigSerial(primary_key=True)
    name = Text()
    scope = Text()
    token_hash = Text(unique=True)
    prefix = Text()
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class User(Table, tablename="users"):
    id = BigSerial(primary_key=True)
    code = Text(unique=True)
    name = Text()
    role = Text()
    pin_hash = Text()
    active = Boolean(default=True)
    failed_attempts = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class Session(Table, tablename="sessions"):
    id = BigSerial(primary_key=True)
    token_hash = Text(unique=True)
    user_id = BigInt()
    device_id = Text(default="")
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)


class AuditEntry(Table, tablename="audit_log"):
    id = BigSerial(primary_key=True)
    at = Timestamptz()
    actor = Text()
    device = Text(default="")
    action = Text()
    entity = Text(default="")
    entity_id = Text(default="")
    before = Text(default="")
    after = Text(default="")
