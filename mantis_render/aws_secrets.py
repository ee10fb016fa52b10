"""AWS Secrets Manager: read a secret (or one field of a JSON secret), its last change, and
create what is missing. boto3 finds credentials and the region as every AWS tool does (the
standard chain); AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_SECRETS_MANAGER) points it elsewhere.

No message here ever includes a secret value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .secrets import (
    MissingSecret,
    SecretUnavailable,
    StoreNotConfigured,
    StoreReference,
    field_of,
)

AWS_HELP = (
    "set AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or any "
    "source of the standard chain) and AWS_REGION"
)
DENIED = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
    }
)


class AwsSecrets:
    """One client for one run, one request per secret name (cached)."""

    def __init__(self, environ: Mapping[str, str], timeout: float = 5.0) -> None:
        import boto3
        import botocore.config
        import botocore.exceptions

        session = boto3.session.Session(
            aws_access_key_id=environ.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=environ.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=environ.get("AWS_SESSION_TOKEN"),
            region_name=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
            profile_name=environ.get("AWS_PROFILE"),
        )
        try:
            credentials = session.get_credentials()
        except botocore.exceptions.BotoCoreError as error:
            raise StoreNotConfigured(
                f"its AWS references need usable AWS credentials ({_code(error)})"
            ) from None
        if credentials is None:
            raise StoreNotConfigured(f"its AWS references need AWS credentials ({AWS_HELP})")
        if not session.region_name:
            raise StoreNotConfigured("its AWS references need a region (set AWS_REGION)")
        endpoint = environ.get("AWS_ENDPOINT_URL_SECRETS_MANAGER") or environ.get(
            "AWS_ENDPOINT_URL"
        )
        config = botocore.config.Config(
            connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2}
        )
        self._client = session.client("secretsmanager", endpoint_url=endpoint, config=config)
        self.where = endpoint or f"region {session.region_name}"
        self._strings: dict[str, str | SecretUnavailable] = {}

    def read(self, reference: StoreReference) -> str:
        text = self._secret_string(reference.path)
        if reference.key is None:
            return text
        return field_of(_fields(text, reference.path), reference.key)

    def last_changed(self, reference: StoreReference) -> datetime:
        described = self._call(
            lambda: self._client.describe_secret(SecretId=reference.path), reference.path
        )
        changed = described.get("LastChangedDate") or described.get("CreatedDate")
        assert isinstance(changed, datetime)
        return changed

    def exists(self, reference: StoreReference) -> bool:
        """Whether the secret (and its key) is there, read afresh."""
        self._strings.pop(reference.path, None)
        try:
            self.read(reference)
        except SecretUnavailable as error:
            if isinstance(error, MissingSecret):
                return False
            raise
        return True

    def create(self, reference: StoreReference, value: str) -> bool:
        """Write ``value`` where nothing is: a new secret, or a new key of a JSON secret.
        False when it appeared meanwhile (written by someone else: kept)."""
        import botocore.exceptions

        self._strings.pop(reference.path, None)
        try:
            current = self._secret_string(reference.path)
        except MissingSecret:
            current = None
        if current is None:
            text = json.dumps({reference.key: value}) if reference.key else value
            try:
                self._client.create_secret(Name=reference.path, SecretString=text)
            except botocore.exceptions.ClientError as error:
                if _code(error) == "ResourceExistsException":
                    return False  # created meanwhile
                raise self._failure(error, reference.path, "writing") from None
            except botocore.exceptions.BotoCoreError as error:
                raise self._failure(error, reference.path, "writing") from None
            return True
        if reference.key is None:
            return False
        fields = _fields(current, reference.path)
        if reference.key in fields:
            return False
        # Secrets Manager has no compare-and-set: the secret was read just above and gets the
        # new key beside every field it had then.
        text = json.dumps({**fields, reference.key: value})
        self._call(
            lambda: self._client.put_secret_value(SecretId=reference.path, SecretString=text),
            reference.path,
            "writing",
        )
        return True

    def check_access(self) -> None:
        """Raise SecretUnavailable unless the credentials are accepted (no secret is read)."""
        self._call(lambda: self._client.list_secrets(MaxResults=1), "")

    def _secret_string(self, name: str) -> str:
        if name not in self._strings:
            try:
                response = self._call(lambda: self._client.get_secret_value(SecretId=name), name)
                text = response.get("SecretString")
                if text is None:
                    raise SecretUnavailable(f"{name} holds binary data, not text")
                self._strings[name] = text
            except SecretUnavailable as error:
                self._strings[name] = error
        cached = self._strings[name]
        if isinstance(cached, SecretUnavailable):
            raise cached
        return cached

    def _call(self, request: Any, name: str, action: str = "reading") -> Any:
        import botocore.exceptions

        try:
            return request()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise self._failure(error, name, action) from None

    def _failure(self, error: Exception, name: str, action: str = "reading") -> SecretUnavailable:
        import botocore.exceptions

        code = _code(error)
        status = getattr(error, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "ResourceNotFoundException":
            return MissingSecret(f"no secret named {name} in AWS Secrets Manager ({self.where})")
        if code in DENIED or status == 403:
            what = f"{action} {name}" if name else "AWS Secrets Manager"
            return SecretUnavailable(
                f"permission denied {what} ({code}: check the credentials and their policy)"
            )
        if isinstance(error, botocore.exceptions.ClientError):
            what = f"{action} {name}" if name else "the request"
            return SecretUnavailable(f"AWS Secrets Manager refused {what} ({code})")
        if isinstance(error, botocore.exceptions.NoCredentialsError):
            return SecretUnavailable(f"no AWS credentials: {AWS_HELP}")
        return SecretUnavailable(f"AWS Secrets Manager at {self.where} is unreachable ({code})")


def _fields(text: str, name: str) -> dict[str, Any]:
    try:
        fields = json.loads(text)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        raise SecretUnavailable(f"{name} is not a JSON object, so it has no keys; drop 'key'")
    return fields


def _code(error: Exception) -> str:
    """AWS's error code; an answer botocore could not parse has only its HTTP status."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code") or type(error).__name__)
        return f"HTTP {code}" if code.isdigit() else code
    return type(error).__name__
