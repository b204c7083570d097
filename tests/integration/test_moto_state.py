"""The moto server's saved state (local/moto_state.py): what it answered before a SIGKILL or a stop is there
after a restart, under the same ids (object versions, multipart upload ids, user subs)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from local.aws import AwsEndpoint
from local.processes import ManagedProcess, free_port, http_ok, wait_until
from local.stack import ROOT
from tests.totp import code_for, first_login

BIG = os.urandom(300_000)  # above the journal's inline limit: its body goes to a blob file


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Callable[..., tuple[AwsEndpoint, ManagedProcess]]]:
    """`server()` starts a moto server on one port, its state in tmp_path (or `state`); all stopped after."""
    port = free_port()
    running: list[ManagedProcess] = []

    def start(state: Path = tmp_path) -> tuple[AwsEndpoint, ManagedProcess]:
        arguments = [sys.executable, "-m", "local.moto_server", "--port", str(port), "--state-dir", str(state)]
        # TOTP codes checked against moto's secret, as the local stack has it.
        environment = {"PATH": "/usr/bin", "MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP": "true"}
        process = ManagedProcess("moto", arguments, environment, tmp_path / "moto.log", ROOT)
        running.append(process)
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/moto-api/"), "moto server", 60, process.alive)
        return AwsEndpoint(f"http://127.0.0.1:{port}"), process

    yield start
    for process in running:
        process.stop()


def kill(process: ManagedProcess) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.stop()


def write_some_of_everything(aws: AwsEndpoint) -> dict[str, str]:
    """One write to each service the archive uses; the ids moto answered with."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="clips", CreateBucketConfiguration={"LocationConstraint": aws.region})
    s3.put_bucket_versioning(Bucket="clips", VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket="clips", Key="clips/big.mp4", Body=BIG)["VersionId"]
    upload = s3.create_multipart_upload(Bucket="clips", Key="clips/parts.mp4")["UploadId"]
    s3.upload_part(Bucket="clips", Key="clips/parts.mp4", UploadId=upload, PartNumber=1, Body=BIG)
    aws.client("dynamodb").create_table(
        TableName="t",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
    )
    aws.client("dynamodb").put_item(TableName="t", Item={"k": {"S": "clip-1"}, "status": {"S": "indexed"}})
    cognito = aws.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="officials")["UserPool"]["Id"]
    user = cognito.admin_create_user(UserPoolId=pool, Username="dpo", MessageAction="SUPPRESS")["User"]
    secret = aws.client("secretsmanager").create_secret(Name="keys", SecretString='{"a": 1}')["VersionId"]
    return {"version": version, "upload": upload, "pool": pool, "sub": _sub(user), "secret": secret}


def _sub(user: dict) -> str:
    return next(a["Value"] for a in user.get("Attributes", user.get("UserAttributes", [])) if a["Name"] == "sub")


def assert_all_there(aws: AwsEndpoint, ids: dict[str, str]) -> None:
    s3 = aws.client("s3")
    assert s3.get_object(Bucket="clips", Key="clips/big.mp4", VersionId=ids["version"])["Body"].read() == BIG
    parts = s3.list_parts(Bucket="clips", Key="clips/parts.mp4", UploadId=ids["upload"])["Parts"]
    assert [part["PartNumber"] for part in parts] == [1]
    item = aws.client("dynamodb").get_item(TableName="t", Key={"k": {"S": "clip-1"}})["Item"]
    assert item["status"] == {"S": "indexed"}
    user = aws.client("cognito-idp").admin_get_user(UserPoolId=ids["pool"], Username="dpo")
    assert _sub(user) == ids["sub"]
    secret = aws.client("secretsmanager").get_secret_value(SecretId="keys", VersionId=ids["secret"])
    assert secret["SecretString"] == '{"a": 1}'


def test_what_was_answered_before_a_sigkill_is_there_after_a_restart_under_the_same_ids(server):
    aws, process = server()
    ids = write_some_of_everything(aws)

    kill(process)  # no snapshot: the journal alone
    aws, _ = server()

    assert_all_there(aws, ids)


def test_a_stop_writes_a_snapshot_and_the_next_start_replays_nothing(server, tmp_path):
    aws, process = server()
    ids = write_some_of_everything(aws)

    process.stop()  # SIGTERM
    journals = list(tmp_path.glob("journal-*.jsonl"))
    aws, _ = server()

    assert [journal.stat().st_size for journal in journals] == [0]  # all in the snapshot
    assert_all_there(aws, ids)
    restored = [line for line in (tmp_path / "moto.log").read_text().splitlines() if "state from" in line]
    assert "snapshot, then 0 requests replayed" in restored[-1]


def test_a_journal_line_cut_short_by_a_kill_is_ignored_and_the_next_start_still_replays(server, tmp_path):
    aws, process = server()
    ids = write_some_of_everything(aws)
    kill(process)
    (journal,) = tmp_path.glob("journal-*.jsonl")
    with journal.open("ab") as cut:
        cut.write(b'{"seed": 1, "method": "PUT", "pa')

    aws, process = server()
    aws.client("dynamodb").put_item(TableName="t", Item={"k": {"S": "clip-2"}, "status": {"S": "registered"}})
    kill(process)
    aws, _ = server()

    assert_all_there(aws, ids)
    assert "Item" in aws.client("dynamodb").get_item(TableName="t", Key={"k": {"S": "clip-2"}})


def test_the_saved_state_is_readable_by_its_owner_alone(server, tmp_path):
    aws, process = server()
    write_some_of_everything(aws)
    process.stop()

    for path in [tmp_path, *tmp_path.rglob("*")]:
        others = path.stat().st_mode & 0o077
        assert not others, f"{path} is open to others"


def test_a_signing_key_made_before_a_sigkill_still_verifies_what_it_signed(server):
    aws, process = server()
    kms = aws.client("kms")
    key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    signed = kms.sign(KeyId=key, Message=b"digest", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    public_key = kms.get_public_key(KeyId=key)["PublicKey"]

    kill(process)
    aws, _ = server()

    kms = aws.client("kms")
    assert kms.get_public_key(KeyId=key)["PublicKey"] == public_key
    check = kms.verify(KeyId=key, Message=b"digest", Signature=signed, SigningAlgorithm="RSASSA_PSS_SHA_256")
    assert check["SignatureValid"]


def test_a_saved_state_moved_to_another_directory_starts_from_there(server, tmp_path):
    aws, process = server(tmp_path / "first")
    ids = write_some_of_everything(aws)
    process.stop()

    (tmp_path / "first").rename(tmp_path / "moved")
    aws, _ = server(tmp_path / "moved")

    assert_all_there(aws, ids)


TEMPORARY, CHOSEN = "Temporary-Pass-2026", "Chosen-Password-2026"


def pool_requiring_totp(aws: AwsEndpoint) -> tuple[str, str]:
    """A user pool as the archive's (TOTP required, password logins) and its app client."""
    cognito = aws.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="officials")["UserPool"]["Id"]
    cognito.set_user_pool_mfa_config(
        UserPoolId=pool, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="ON"
    )
    client = cognito.create_user_pool_client(
        UserPoolId=pool,
        ClientName="console",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return pool, client


def test_an_officials_first_login_survives_a_sigkill_right_after_it(server):
    aws, process = server()
    pool, client = pool_requiring_totp(aws)
    aws.client("cognito-idp").admin_create_user(
        UserPoolId=pool, Username="new-operator", TemporaryPassword=TEMPORARY, MessageAction="SUPPRESS"
    )
    secret, tokens = first_login(aws.client("cognito-idp"), client, "new-operator", TEMPORARY, CHOSEN)
    refresh_token = tokens["RefreshToken"]

    kill(process)  # no stop, so no snapshot at stop
    aws, _ = server()

    cognito = aws.client("cognito-idp")
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.initiate_auth(
            ClientId=client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "new-operator", "PASSWORD": TEMPORARY},
        )
    login = {"USERNAME": "new-operator", "PASSWORD": CHOSEN}
    asked = cognito.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=login)
    assert asked["ChallengeName"] == "SOFTWARE_TOKEN_MFA"  # the authenticator app is still set up
    with pytest.raises(cognito.exceptions.CodeMismatchException):
        cognito.respond_to_auth_challenge(
            ClientId=client,
            ChallengeName="SOFTWARE_TOKEN_MFA",
            Session=asked["Session"],
            ChallengeResponses={"USERNAME": "new-operator", "SOFTWARE_TOKEN_MFA_CODE": "000000"},
        )
    tokens = cognito.respond_to_auth_challenge(
        ClientId=client,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=asked["Session"],
        ChallengeResponses={"USERNAME": "new-operator", "SOFTWARE_TOKEN_MFA_CODE": code_for(secret)},
    )["AuthenticationResult"]
    assert tokens["IdToken"]
    # The first login's own refresh token was in the snapshot written before its answer.
    renewed = cognito.initiate_auth(
        ClientId=client, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": refresh_token}
    )
    assert renewed["AuthenticationResult"]["IdToken"]
