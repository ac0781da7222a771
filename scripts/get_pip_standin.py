"""Write the pip bootstrap that ansible-test expects at ~/.ansible/test/cache/get_pip_<ver>.py.

ansible-test fetches a get-pip script for every sanity virtualenv from a host this machine
cannot reach. The stand-in bootstraps pip with the interpreter's own ensurepip, then installs
what ansible-test asked for. ansible-test sets PIP_CONFIG_FILE=/dev/null, which hides the
machine's pip settings, so the CA bundle is passed explicitly.
"""
import pathlib
import re

from ansible_test._internal import python_requirements

STANDIN = '''\
import ssl, subprocess, sys
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True,
               stdout=subprocess.DEVNULL)
cafile = ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt"
cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--cert", cafile]
sys.exit(subprocess.run(cmd + args).returncode)
'''


def main():
    source = pathlib.Path(python_requirements.__file__).read_text()
    versions = set(re.findall(r"\bpip='([0-9.]+)'", source))
    if not versions:
        raise SystemExit("cannot find the pip version ansible-test bootstraps; "
                         "update scripts/get_pip_standin.py for this ansible-test")
    cache = pathlib.Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for version in versions:
        (cache / f"get_pip_{version.replace('.', '_')}.py").write_text(STANDIN)


if __name__ == "__main__":
    main()
