"""A small service with the mistakes the scanners look for (scanner test input, never run)."""

import hashlib
import subprocess

import yaml

DB_PASSWORD = "Sup3rS3cretPassw0rd!"


def run(command):
    return subprocess.call(command, shell=True)


def load(text):
    return yaml.load(text)


def digest(data):
    return hashlib.md5(data).hexdigest()


def evaluate(expression):
    return eval(expression)
