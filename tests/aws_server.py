"""A real local AWS endpoint for the tests: moto in server mode (PyPI moto[server]), reached over
HTTP by boto3 exactly as the real Secrets Manager is. Never in-process patching."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import requests

from .vault_server import free_loopback_port, stop_process, wait_until_ready

REGION = "eu-west-3"


@dataclass
class LocalAws:
    endpoint: str
    process: subprocess.Popen[bytes]

    def env(self, **extra: str) -> dict[str, str]:
        """Process environment pointing at this endpoint, with test credentials only."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            **extra,
        }

    @property
    def client(self) -> Any:
        return boto3.client(
            "secretsmanager",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def reset(self) -> None:
        """Forget every secret (moto's reset endpoint)."""
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=5).raise_for_status()

    def stop(self) -> None:
        stop_process(self.process)


def start_local_aws(log: Path) -> LocalAws:
    port = free_loopback_port()
    server = Path(sys.executable).parent / "moto_server"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    aws = LocalAws(f"http://127.0.0.1:{port}", process)
    wait_until_ready("moto_server", process, f"{aws.endpoint}/moto-api/", log, aws.stop)
    return aws
