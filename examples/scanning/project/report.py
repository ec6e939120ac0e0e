"""Monthly report export (an AI-written change: the scanners' worked example; never run)."""

import subprocess

import yaml

from settings import EXPORT_BUCKET


def export(month, template):
    options = yaml.load(template)
    command = f"aws s3 cp report-{month}.csv s3://{EXPORT_BUCKET}/"
    subprocess.call(command, shell=True)
    return eval(options["total_expression"])
