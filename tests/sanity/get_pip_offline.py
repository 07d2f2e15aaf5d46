"""Offline stand-in for the get-pip script that ``ansible-test sanity --venv`` downloads.

ansible-test runs ``python get_pip.py <pip args>`` inside each new virtual environment. This
installs pip from the interpreter's bundled wheel (ensurepip) and then runs ``pip install``
with the same arguments, minus the two flags only get-pip understands.
"""
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True)
arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY]
if arguments:
    subprocess.run([sys.executable, "-m", "pip", "install", *arguments], check=True)
