"""AWS Secrets Manager: read a secret (or one field of a JSON secret), its last change, and
create what is missing. boto3 finds credentials and the region as every AWS tool does (the
standard chain); AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_SECRETS_MANAGER) points it elsewhere.

No message here ever includes a secret value.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..errors import quoted
from .references import (
    MissingSecret,
    SecretUnavailable,
    StoreNotConfigured,
    StoreReference,
    StoreUnusable,
    connection_failure,
    field_of,
    store_timeout,
    timed_out,
)

PRODUCT = "AWS Secrets Manager"

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
    """One client for one run, one request per secret name (cached). Safe to use from several
    threads at once (boto3's clients are): a render fetches its secrets together."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        import boto3
        import botocore.config
        import botocore.exceptions

        timeout = store_timeout(environ)
        region_variable = "AWS_REGION" if environ.get("AWS_REGION") else "AWS_DEFAULT_REGION"
        try:
            session = boto3.session.Session(
                aws_access_key_id=environ.get("AWS_ACCESS_KEY_ID"),
                aws_secret_access_key=environ.get("AWS_SECRET_ACCESS_KEY"),
                aws_session_token=environ.get("AWS_SESSION_TOKEN"),
                region_name=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
                profile_name=environ.get("AWS_PROFILE"),
            )
            credentials = session.get_credentials()
        except botocore.exceptions.ProfileNotFound:
            raise StoreUnusable(
                f"AWS_PROFILE={quoted(environ.get('AWS_PROFILE', ''))} names no profile of the "
                "AWS config files (~/.aws/config and ~/.aws/credentials, or AWS_CONFIG_FILE and "
                "AWS_SHARED_CREDENTIALS_FILE): name one of them, or unset it"
            ) from None
        except botocore.exceptions.BotoCoreError as error:
            raise StoreUnusable(
                f"the AWS credentials cannot be used ({_code(error)}: {_first_line(error)}); "
                f"{AWS_HELP}"
            ) from None
        if credentials is None:
            raise StoreNotConfigured(f"its AWS references need AWS credentials ({AWS_HELP})")
        if not session.region_name:
            raise StoreNotConfigured("its AWS references need a region (set AWS_REGION)")
        endpoint_variable = (
            "AWS_ENDPOINT_URL_SECRETS_MANAGER"
            if environ.get("AWS_ENDPOINT_URL_SECRETS_MANAGER")
            else "AWS_ENDPOINT_URL"
        )
        endpoint = environ.get(endpoint_variable) or None
        # No retry: a store that does not answer is waited on once (MANTIS_STORE_TIMEOUT).
        config = botocore.config.Config(
            connect_timeout=timeout, read_timeout=timeout, retries={"total_max_attempts": 1}
        )
        try:
            self._client = session.client("secretsmanager", endpoint_url=endpoint, config=config)
        except botocore.exceptions.InvalidRegionError:
            where = region_variable if region_variable in environ else "the AWS profile's region"
            raise StoreUnusable(
                f"{where}={quoted(session.region_name)} is not an AWS region name (like eu-west-3)"
            ) from None
        except ValueError:  # botocore's "Invalid endpoint"
            raise StoreUnusable(
                f"{endpoint_variable}={quoted(endpoint)} is not a URL (like "
                "https://secretsmanager.eu-west-3.amazonaws.com); fix it, or unset it"
            ) from None
        self.where = endpoint or f"region {session.region_name}"
        self._timeout = timeout
        self._strings: dict[str, str | SecretUnavailable] = {}
        self._hung: SecretUnavailable | None = None

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
        while True:
            self._strings.pop(reference.path, None)
            try:
                current, version = self._current(reference.path)
            except MissingSecret:
                current, version = None, ""
            if current is None:
                text = json.dumps({reference.key: value}) if reference.key else value
                create = functools.partial(
                    self._client.create_secret, Name=reference.path, SecretString=text
                )
                if self._write(create, reference.path):
                    return True
                continue  # created meanwhile: with this key, or another one to add it beside
            if reference.key is None:
                return False
            fields = _fields(current, reference.path)
            if reference.key in fields:
                return False
            # Secrets Manager has no compare-and-set, but a version's request token is unique:
            # a token made from the version read makes two writes over that version collide,
            # and the one that loses reads again (the key may be there now, or another one).
            text = json.dumps({**fields, reference.key: value})
            token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"mantis-render:{reference.path}:{version}"))
            put = functools.partial(
                self._client.put_secret_value,
                SecretId=reference.path,
                SecretString=text,
                ClientRequestToken=token,
            )
            if self._write(put, reference.path):
                return True

    def _current(self, name: str) -> tuple[str, str]:
        """The secret's text and the id of its version, read afresh."""
        response = self._call(lambda: self._client.get_secret_value(SecretId=name), name)
        text = response.get("SecretString")
        if text is None:
            raise SecretUnavailable(f"{name} holds binary data, not text")
        return text, str(response.get("VersionId", ""))

    def _write(self, request: Any, name: str) -> bool:
        """Whether ``request`` wrote; False when a write of the same place won the race."""
        try:
            self._call(request, name, "writing")
        except SecretUnavailable as error:
            if _code(error.__cause__) == "ResourceExistsException":
                return False
            raise
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

        if self._hung:
            raise self._hung
        try:
            return request()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise self._failure(error, name, action) from error

    def _failure(self, error: Exception, name: str, action: str = "reading") -> SecretUnavailable:
        import botocore.exceptions

        code = _code(error)
        response = getattr(error, "response", None) or {}  # a failure on the way has none
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
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
        if isinstance(
            error, botocore.exceptions.ConnectTimeoutError | botocore.exceptions.ReadTimeoutError
        ):
            self._hung = timed_out(PRODUCT, self.where, self._timeout)
            return self._hung
        reason = connection_failure(error)
        return SecretUnavailable(f"{PRODUCT} at {self.where} is unreachable ({reason})")


def _fields(text: str, name: str) -> dict[str, Any]:
    try:
        fields = json.loads(text)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        raise SecretUnavailable(f"{name} is not a JSON object, so it has no keys; drop 'key'")
    return fields


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _code(error: BaseException | None) -> str:
    """AWS's error code; an answer botocore could not parse has only its HTTP status."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code") or type(error).__name__)
        return f"HTTP {code}" if code.isdigit() else code
    return type(error).__name__
